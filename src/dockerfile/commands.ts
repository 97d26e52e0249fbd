import type {
  CmdInstruction,
  CopyInstruction,
  EntrypointInstruction,
  Flags,
  HealthcheckInstruction,
  Heredoc,
  RunInstruction,
  ShellInstruction,
} from './types.js';
import { syntaxError } from './errors.js';
import { FLAG_SPECS, parseFlags } from './flags.js';
import { parseGoDuration } from './duration.js';
import { parseHeredocMarker } from './heredoc.js';
import { base, type Request } from './request.js';
import { parseJsonArray, splitArgs } from './words.js';

/** Exec form when the arguments are a JSON string array, else shell form with the whole text in cmd[0]. */
function commandLine(args: string): { form: 'shell' | 'exec'; cmd: string[] } {
  const exec = parseJsonArray(args);
  if (exec) return { form: 'exec', cmd: exec };
  return { form: 'shell', cmd: args === '' ? [] : [args] };
}

/** RUN [--mount=...] [--network=...] [--security=...] cmd; shell form keeps heredoc bodies in `heredocs`. */
export function parseRun(req: Request): RunInstruction {
  const flags = parseFlags(req.flagWords, FLAG_SPECS.run!);
  const { form, cmd } = commandLine(req.args);
  return { kind: 'RUN', ...base(req, flags), form, cmd, heredocs: form === 'shell' ? req.heredocs : [] };
}

/** CMD ["exec", "form"] | CMD shell form (a bare CMD gives shell form with no command, as BuildKit). */
export function parseCmd(req: Request): CmdInstruction {
  const flags = parseFlags(req.flagWords, {});
  return { kind: 'CMD', ...base(req, flags), ...commandLine(req.args) };
}

/** ENTRYPOINT ["exec", "form"] | ENTRYPOINT shell form. */
export function parseEntrypoint(req: Request): EntrypointInstruction {
  const flags = parseFlags(req.flagWords, {});
  return { kind: 'ENTRYPOINT', ...base(req, flags), ...commandLine(req.args) };
}

/** SHELL ["executable", "params"] (JSON form only). */
export function parseShell(req: Request): ShellInstruction {
  const flags = parseFlags(req.flagWords, {});
  const { form, cmd } = commandLine(req.args);
  if (cmd.length === 0) throw syntaxError('SHELL requires at least one argument');
  if (form !== 'exec') throw syntaxError('SHELL requires the arguments to be in JSON form');
  return { kind: 'SHELL', ...base(req, flags), shell: cmd };
}

/** COPY/ADD [flags] src... dest | ["src", ..., "dest"]; heredoc sources (`<<EOF`) move to `heredocs`. */
export function parseCopy(req: Request, kind: 'COPY' | 'ADD'): CopyInstruction {
  const flags = parseFlags(req.flagWords, kind === 'COPY' ? FLAG_SPECS.copy! : FLAG_SPECS.add!);
  const json = parseJsonArray(req.args);
  const words = json ?? splitArgs(req.args, req.escape);
  if (words.length < 2) {
    throw syntaxError(
      `${kind} requires at least two arguments, but only one was provided. Destination could not be determined`,
    );
  }
  const dest = words[words.length - 1]!;
  if (!json && parseHeredocMarker(dest)) throw syntaxError(`${kind} cannot accept a heredoc as a destination`);
  const sources: string[] = [];
  const heredocs: Heredoc[] = [];
  for (const word of words.slice(0, -1)) {
    const marker = json ? undefined : parseHeredocMarker(word);
    if (!marker) {
      sources.push(word);
      continue;
    }
    const body = req.heredocs.find((h) => h.name === marker.name);
    heredocs.push({ name: marker.name, content: body?.content ?? '', expand: marker.expand, chomp: marker.chomp });
  }
  return { kind, ...base(req, flags), sources, dest, heredocs };
}

/** A HEALTHCHECK duration flag in ns: undefined when absent; non-zero values under 1ms are rejected. */
function durationFlag(flags: Flags, name: string): number | undefined {
  const raw = flags[name]?.[0];
  if (raw === undefined || raw === '') return undefined;
  const ns = parseGoDuration(raw);
  if (ns === undefined) throw syntaxError(`time: invalid duration "${raw}"`, `for --${name}, use a duration like 30s, 1m30s or 500ms`);
  if (ns !== 0 && ns < 1e6) throw syntaxError(`Interval "${name}" cannot be less than 1ms`);
  return ns;
}

/** HEALTHCHECK NONE | HEALTHCHECK [--interval --timeout --start-period --start-interval --retries] CMD command. */
export function parseHealthcheck(req: Request): HealthcheckInstruction {
  const flags = parseFlags(req.flagWords, FLAG_SPECS.healthcheck!);
  const m = /^(\S+)\s*([\s\S]*)$/.exec(req.args);
  if (!m) throw syntaxError('HEALTHCHECK requires at least one argument');
  const type = m[1]!.toUpperCase();
  const rest = m[2]!;
  if (type === 'NONE') {
    if (rest !== '') throw syntaxError('HEALTHCHECK NONE takes no arguments');
    return { kind: 'HEALTHCHECK', ...base(req, flags), test: ['NONE'] };
  }
  const { form, cmd } = commandLine(rest);
  if (type !== 'CMD') throw syntaxError(`Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  if (cmd.length === 0) throw syntaxError('Missing command after HEALTHCHECK CMD');
  const hc: HealthcheckInstruction = {
    kind: 'HEALTHCHECK',
    ...base(req, flags),
    test: [form === 'exec' ? 'CMD' : 'CMD-SHELL', ...cmd],
  };
  const durations = [
    ['interval', 'interval'],
    ['timeout', 'timeout'],
    ['start-period', 'startPeriod'],
    ['start-interval', 'startInterval'],
  ] as const;
  for (const [flag, field] of durations) {
    const ns = durationFlag(flags, flag);
    if (ns !== undefined) hc[field] = ns;
  }
  const retries = flags.retries?.[0];
  if (retries !== undefined && retries !== '') {
    if (!/^[+-]?\d+$/.test(retries) || Math.abs(Number(retries)) > 2 ** 31 - 1) {
      throw syntaxError(`invalid value "${retries}" for --retries: must be an integer`);
    }
    const n = Number(retries);
    if (n < 1) throw syntaxError(`--retries must be at least 1 (not ${n})`);
    hc.retries = n;
  }
  return hc;
}
