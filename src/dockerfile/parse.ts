import { TsbuildError, type SourceLocation } from '../util/index.js';
import type { Dockerfile, Heredoc, Instruction, OnbuildInstruction } from './types.js';
import { syntaxError, withLocation } from './errors.js';
import { chompHeredoc, heredocMarkers } from './heredoc.js';
import { parseCmd, parseCopy, parseEntrypoint, parseHealthcheck, parseRun, parseShell } from './commands.js';
import * as simple from './instructions.js';
import { parseFlags } from './flags.js';
import type { Request } from './request.js';
import { nextLogicalLine, parseDirectives, readHeredocBody, splitLines, type Cursor } from './source.js';
import { suggest } from './suggest.js';
import { extractFlags, parseJsonArray, splitFirstWord } from './words.js';

type Builder = (req: Request) => Instruction;

const BUILDERS: Readonly<Record<string, Builder>> = {
  from: simple.parseFrom,
  run: parseRun,
  cmd: parseCmd,
  entrypoint: parseEntrypoint,
  copy: (r) => parseCopy(r, 'COPY'),
  add: (r) => parseCopy(r, 'ADD'),
  env: simple.parseEnv,
  arg: simple.parseArg,
  label: simple.parseLabel,
  workdir: simple.parseWorkdir,
  user: simple.parseUser,
  expose: simple.parseExpose,
  volume: simple.parseVolume,
  shell: parseShell,
  stopsignal: simple.parseStopsignal,
  maintainer: simple.parseMaintainer,
  healthcheck: parseHealthcheck,
  onbuild: parseOnbuild,
};

const INSTRUCTION_NAMES = Object.keys(BUILDERS).map((k) => k.toUpperCase());

/** Split an instruction line into keyword, flag words and argument text. */
function splitCommand(line: string, escape: '\\' | '`'): { keyword: string; flagWords: string[]; args: string } {
  const [keyword, rest] = splitFirstWord(line);
  const { flags, args } = extractFlags(rest, escape);
  return { keyword, flagWords: flags, args };
}

/** RUN/COPY/ADD in shell form (directly or as an ONBUILD trigger) may carry heredocs, as in BuildKit. */
function canContainHeredoc(line: string, escape: '\\' | '`'): boolean {
  const { keyword, args } = splitCommand(line, escape);
  const kw = keyword.toLowerCase();
  if (kw === 'onbuild') return canContainHeredoc(args, escape);
  if (kw !== 'run' && kw !== 'copy' && kw !== 'add') return false;
  try {
    return parseJsonArray(args) === undefined;
  } catch {
    return false;
  }
}

/** Build the typed instruction for one (already joined) line. */
function buildInstruction(line: string, loc: SourceLocation, escape: '\\' | '`', heredocs: Heredoc[]): Instruction {
  const { keyword, flagWords, args } = splitCommand(line, escape);
  const builder = Object.hasOwn(BUILDERS, keyword.toLowerCase()) ? BUILDERS[keyword.toLowerCase()] : undefined;
  if (!builder) {
    const close = suggest(keyword, INSTRUCTION_NAMES);
    throw new TsbuildError('TSB_DOCKERFILE_UNKNOWN_INSTRUCTION', `unknown instruction "${keyword}"`, {
      hint: close === undefined ? undefined : `did you mean ${close.toUpperCase()}?`,
      location: loc,
    });
  }
  return builder({ keyword, flagWords, args, original: line, loc, escape, heredocs });
}

/** ONBUILD trigger: the trigger is parsed now; ONBUILD ONBUILD / FROM / MAINTAINER are rejected. */
function parseOnbuild(req: Request): OnbuildInstruction {
  const flags = parseFlags(req.flagWords, {});
  if (req.args === '') throw syntaxError('ONBUILD requires at least one argument');
  const triggerName = splitFirstWord(req.args)[0].toUpperCase();
  if (triggerName === 'ONBUILD') throw syntaxError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (triggerName === 'FROM' || triggerName === 'MAINTAINER') {
    throw syntaxError(`${triggerName} isn't allowed as an ONBUILD trigger`);
  }
  const text = req.original.replace(/^\s*ONBUILD\s*/i, '');
  const trigger = buildInstruction(text, req.loc, req.escape, req.heredocs);
  const bodies = req.heredocs.map((h) => `\n${h.content}${h.name}`).join('');
  return { kind: 'ONBUILD', loc: req.loc, original: req.original, flags, expression: text + bodies, trigger };
}

/** Read the bodies of the heredocs an instruction line announces; contents of `<<-` heredocs are chomped. */
function readHeredocs(c: Cursor, text: string, loc: SourceLocation): Heredoc[] {
  if (!text.includes('<<') || !canContainHeredoc(text, c.escape)) return [];
  const out: Heredoc[] = [];
  for (const m of heredocMarkers(text)) {
    const body = readHeredocBody(c, m.name, m.chomp);
    if (body === undefined) throw syntaxError('unterminated heredoc', undefined, { ...loc, endLine: c.pos });
    out.push({ name: m.name, content: m.chomp ? chompHeredoc(body) : body, expand: m.expand, chomp: m.chomp });
  }
  return out;
}

/**
 * Parse Dockerfile text into the typed model (BuildKit-compatible: directives, continuations, comments, heredocs,
 * exec/shell forms, flags). Throws TsbuildError TSB_DOCKERFILE_SYNTAX / TSB_DOCKERFILE_UNKNOWN_INSTRUCTION with
 * the 1-based lines of the offending instruction.
 */
export function parseDockerfile(text: string, file: string): Dockerfile {
  const lines = splitLines(text);
  const directives = parseDirectives(lines, file);
  const cursor: Cursor = { lines, pos: 0, escape: directives.escape };
  const instructions: Instruction[] = [];
  for (let l = nextLogicalLine(cursor); l !== undefined; l = nextLogicalLine(cursor)) {
    const loc: SourceLocation = { file, startLine: l.startLine, endLine: l.endLine };
    try {
      const heredocs = readHeredocs(cursor, l.text, loc);
      loc.endLine = cursor.pos;
      instructions.push(buildInstruction(l.text, loc, directives.escape, heredocs));
    } catch (e) {
      throw withLocation(e, { ...loc });
    }
  }
  if (instructions.length === 0) {
    const at = Math.max(1, lines.length);
    throw syntaxError('file with no instructions', 'a Dockerfile needs at least a FROM instruction', {
      file,
      startLine: at,
      endLine: at,
    });
  }
  return { file, directives, instructions, lines };
}
