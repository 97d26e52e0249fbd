import { expandWord, suggest, type Dockerfile, type Instruction } from '../dockerfile/index.js';
import { columnOf, keywordOf, viewOf, wordsOf, type LintView } from './stages.js';
import type { LintWarning, RuleInfo } from './types.js';
import { PREDEFINED_ARGS, expandedWords, variablesIn } from './vars.js';

type Report = (i: Instruction, message: string, at?: { needle?: string; line?: number }) => void;
interface Rule extends RuleInfo { check(v: LintView, report: Report, o: LintOptions): void }

export interface LintOptions {
  /** Environment names the base images define (default: PATH only, as the images themselves are not read). */
  baseEnv?: string[];
}

const q = (s: string) => JSON.stringify(s);
const SECRET = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const SECRET_ALLOWED = /(?:_|^)(?:public)(?:_|$)/i;
const RESERVED_STAGE_NAMES = ['context', 'scratch'];
const REFERENCE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[a-z0-9]+:[a-f0-9]{32,})?$/;

export const RULES: Rule[] = [
  {
    name: 'StageNameCasing',
    description: 'Stage names should be lowercase',
    check: (v, report) => {
      for (const s of v.stages) if (s.rawName && s.rawName !== s.rawName.toLowerCase()) report(s.from, `Stage name '${s.rawName}' should be lowercase`, { needle: s.rawName });
    },
  },
  {
    name: 'FromAsCasing',
    description: "The 'as' keyword should match the case of the 'from' keyword",
    check: (v, report) => {
      for (const s of v.stages) {
        if (!s.rawName) continue;
        const words = wordsOf(s.from);
        const from = words[0]!;
        const as = words[words.length - 2]!;
        const bad = from === from.toUpperCase() ? as !== as.toUpperCase() : from === from.toLowerCase() && as !== as.toLowerCase();
        if (bad) report(s.from, `'${as}' and '${from}' keywords' casing do not match`, { needle: ` ${as} ` });
      }
    },
  },
  {
    name: 'NoEmptyContinuation',
    description: 'Empty continuation lines will become errors in a future release',
    check: (v, report) => {
      for (const i of v.df.instructions) {
        if ((i.kind === 'RUN' || i.kind === 'COPY' || i.kind === 'ADD') && i.heredocs.length > 0) continue;
        for (let n = i.loc.startLine + 1; n <= i.loc.endLine; n++) {
          if ((v.df.lines[n - 1] ?? '').trim() === '') {
            report(i, 'Empty continuation line', { line: n });
            break;
          }
        }
      }
    },
  },
  {
    name: 'ConsistentInstructionCasing',
    description: 'All commands within the Dockerfile should use the same casing (either upper or lower)',
    check: (v, report) => {
      const words = v.df.instructions.map(keywordOf);
      const lower = words.filter((w) => w === w.toLowerCase()).length;
      const upper = words.filter((w) => w === w.toUpperCase()).length;
      const majorityLower = lower > upper;
      for (const [n, i] of v.df.instructions.entries()) {
        const w = words[n]!;
        if (majorityLower ? w !== w.toLowerCase() : w !== w.toUpperCase()) {
          report(i, `Command '${w}' should match the case of the command majority (${majorityLower ? 'lowercase' : 'uppercase'})`);
        }
      }
    },
  },
  {
    name: 'DuplicateStageName',
    description: 'Stage names should be unique',
    check: (v, report) => {
      const seen = new Set<string>();
      for (const s of v.stages) {
        const name = s.from.stageName;
        if (name === undefined) continue;
        if (seen.has(name)) report(s.from, `Duplicate stage name ${q(name)}, stage names should be unique`, { needle: s.rawName });
        seen.add(name);
      }
    },
  },
  {
    name: 'ReservedStageName',
    description: 'Reserved words should not be used as stage names',
    check: (v, report) => {
      for (const s of v.stages) {
        if (s.from.stageName && RESERVED_STAGE_NAMES.includes(s.from.stageName)) {
          report(s.from, `Stage name should not use the same name as reserved stage ${q(s.from.stageName)}`, { needle: s.rawName });
        }
      }
    },
  },
  {
    name: 'JSONArgsRecommended',
    description: 'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
    check: (v, report) => {
      for (const s of v.stages) {
        let shell = false;
        for (const i of s.instructions) {
          if (i.kind === 'SHELL') shell = true;
          if ((i.kind === 'CMD' || i.kind === 'ENTRYPOINT') && i.form === 'shell' && !shell) {
            report(i, `JSON arguments recommended for ${i.kind} to prevent unintended behavior related to OS signals`);
          }
        }
      }
    },
  },
  {
    name: 'MaintainerDeprecated',
    description: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
    check: (v, report) => {
      for (const i of v.df.instructions) if (i.kind === 'MAINTAINER') report(i, 'Maintainer instruction is deprecated in favor of using label');
    },
  },
  {
    name: 'UndefinedArgInFrom',
    description: 'FROM command must use declared ARGs',
    check: (v, report) => {
      const declared = [...v.globals.flatMap((g) => g.args.map((a) => a.name)), ...PREDEFINED_ARGS];
      for (const s of v.stages) {
        for (const name of expandedWords(s.from).flatMap((w) => variablesIn(w, v.df.directives.escape))) {
          if (declared.includes(name)) continue;
          const close = suggest(name, declared, { caseSensitive: true });
          report(s.from, `FROM argument '${name}' is not declared${close ? ` (did you mean ${close}?)` : ''}`, { needle: name });
        }
      }
    },
  },
  {
    name: 'WorkdirRelativePath',
    description: 'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
    check: (v, report) => {
      const absolute = new Map<string, boolean>();
      for (const s of v.stages) {
        let abs = absolute.get(s.from.image.toLowerCase()) ?? false;
        for (const i of s.instructions) {
          if (i.kind !== 'WORKDIR') continue;
          if (i.path.startsWith('/') || i.path.startsWith('$')) abs = true;
          else if (!abs) report(i, `Relative workdir ${q(i.path)} can have unexpected results if the base image changes`, { needle: i.path });
        }
        if (s.from.stageName) absolute.set(s.from.stageName, abs);
      }
    },
  },
  {
    name: 'UndefinedVar',
    description: 'Variables should be defined before their use',
    check: (v, report, o) => {
      const globals = new Set(v.globals.flatMap((g) => g.args.map((a) => a.name)));
      const stageEnv = new Map<string, Set<string>>();
      for (const s of v.stages) {
        const inherited = stageEnv.get(s.from.image.toLowerCase());
        const known = new Set([...(inherited ?? o.baseEnv ?? ['PATH']), ...PREDEFINED_ARGS]);
        for (const i of s.instructions) {
          for (const name of expandedWords(i).flatMap((w) => variablesIn(w, v.df.directives.escape))) {
            if (known.has(name)) continue;
            const close = suggest(name, [...known, ...globals], { caseSensitive: true });
            const hint = globals.has(name) ? ' (declare it with ARG in this stage)' : close ? ` (did you mean $${close}?)` : '';
            report(i, `Usage of undefined variable '$${name}'${hint}`, { needle: name });
            known.add(name); // once per stage is enough
          }
          if (i.kind === 'ARG') for (const a of i.args) known.add(a.name);
          if (i.kind === 'ENV') for (const p of i.pairs) known.add(p.key);
        }
        if (s.from.stageName) stageEnv.set(s.from.stageName, known);
      }
    },
  },
  {
    name: 'MultipleInstructionsDisallowed',
    description: 'Multiple instructions of the same type should not be used in the same stage',
    check: (v, report) => {
      for (const s of v.stages) {
        for (const kind of ['CMD', 'ENTRYPOINT', 'HEALTHCHECK'] as const) {
          const all = s.instructions.filter((i) => i.kind === kind);
          for (const i of all.slice(0, -1)) report(i, `Multiple ${kind} instructions should not be used in the same stage because only the last one will be used`);
        }
      }
    },
  },
  {
    name: 'LegacyKeyValueFormat',
    description: 'Legacy key/value format with whitespace separator should not be used',
    check: (v, report) => {
      for (const i of v.df.instructions) {
        if (i.kind !== 'ENV' && i.kind !== 'LABEL') continue;
        const words = wordsOf(i);
        if (words[1] !== undefined && !words[1].includes('=')) report(i, `"${i.kind} key=value" should be used instead of legacy "${i.kind} key value" format`);
      }
    },
  },
  {
    name: 'SecretsUsedInArgOrEnv',
    description: 'Sensitive data should not be used in the ARG or ENV commands',
    check: (v, report) => {
      for (const i of v.df.instructions) {
        const names = i.kind === 'ARG' ? i.args.map((a) => a.name) : i.kind === 'ENV' ? i.pairs.map((p) => p.key) : [];
        for (const n of names) {
          if (SECRET.test(n) && !SECRET_ALLOWED.test(n)) report(i, `Do not use ARG or ENV instructions for sensitive data (${i.kind} ${q(n)})`, { needle: n });
        }
      }
    },
  },
  {
    name: 'InvalidDefaultArgInFrom',
    description: 'Default value for global ARG results in an empty or invalid base image name',
    check: (v, report) => {
      const defaults = new Map<string, string>();
      for (const g of v.globals) for (const a of g.args) defaults.set(a.name, a.defaultValue === undefined ? '' : expandWord(a.defaultValue, defaults));
      const stages = new Set<string>();
      for (const s of v.stages) {
        if (s.from.image.includes('$')) {
          let image: string;
          try {
            image = expandWord(s.from.image, defaults, v.df.directives.escape);
          } catch {
            image = '';
          }
          if (!stages.has(image.toLowerCase()) && image !== 'scratch' && !REFERENCE.test(image)) {
            report(s.from, `Default value for ARG ${s.from.image} results in empty or invalid base image name`, { needle: s.from.image });
          }
        }
        if (s.from.stageName) stages.add(s.from.stageName);
      }
    },
  },
  {
    name: 'RedundantTargetPlatform',
    description: 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
    check: (v, report) => {
      for (const s of v.stages) {
        const p = s.from.flags.platform?.[0];
        if (p === '$TARGETPLATFORM' || p === '${TARGETPLATFORM}') report(s.from, `Setting platform to predefined ${p} in FROM is redundant as this is the default behavior`, { needle: p });
      }
    },
  },
  {
    name: 'FromPlatformFlagConstDisallowed',
    description: 'FROM --platform flag should not use a constant value',
    check: (v, report) => {
      for (const s of v.stages) {
        const p = s.from.flags.platform?.[0];
        if (p === undefined || p.includes('$')) continue;
        const parts = p.split('/');
        if (s.from.stageName && parts.slice(1).some((part) => part !== '' && s.from.stageName!.includes(part.toLowerCase()))) continue;
        report(s.from, `FROM --platform flag should not use constant value ${q(p)}`, { needle: p });
      }
    },
  },
  {
    name: 'ExposeProtoCasing',
    description: 'Protocol in EXPOSE instruction should be lowercase',
    check: (v, report) => {
      for (const i of v.df.instructions) {
        if (i.kind !== 'EXPOSE') continue;
        for (const p of i.ports) {
          const proto = p.split('/')[1];
          if (proto !== undefined && proto !== proto.toLowerCase()) report(i, `Defined protocol '${p}' in EXPOSE instruction should be lowercase`, { needle: p });
        }
      }
    },
  },
  {
    name: 'ExposeInvalidFormat',
    description: 'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release',
    check: (v, report) => {
      for (const i of v.df.instructions) {
        if (i.kind !== 'EXPOSE') continue;
        for (const p of i.ports) if (p.includes(':')) report(i, `EXPOSE instruction should not define an IP address or host-port mapping, found '${p}'`, { needle: p });
      }
    },
  },
];

/** Runs every rule not in `skip` over a parsed Dockerfile; findings in file order. */
export function runRules(df: Dockerfile, skip: Set<string> | 'all', o: LintOptions = {}): LintWarning[] {
  if (skip === 'all') return [];
  const view = viewOf(df);
  const out: LintWarning[] = [];
  for (const rule of RULES) {
    if (skip.has(rule.name) || rule.experimental) continue;
    rule.check(view, (i, message, at = {}) => {
      const line = at.line ?? i.loc.startLine;
      const column = columnOf(df, i, at.line === undefined ? at.needle : undefined, line);
      const location = at.line === undefined ? { ...i.loc, column } : { file: i.loc.file, startLine: line, endLine: line, column };
      out.push({ rule: rule.name, description: rule.description, message, location });
    }, o);
  }
  return out.sort((a, b) => a.location.startLine - b.location.startLine || a.location.column - b.location.column);
}
