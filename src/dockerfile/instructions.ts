import type {
  ArgInstruction,
  EnvInstruction,
  ExposeInstruction,
  FromInstruction,
  LabelInstruction,
  MaintainerInstruction,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from './types.js';
import { syntaxError } from './errors.js';
import { FLAG_SPECS, parseFlags } from './flags.js';
import { base, type Request } from './request.js';
import { parseJsonArray, splitFirstWord, splitRawWords, splitWhitespace } from './words.js';

const atLeastOne = (name: string) => syntaxError(`${name} requires at least one argument`);
const exactlyOne = (name: string) => syntaxError(`${name} requires exactly one argument`);
const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** FROM [--platform=p] image [AS name]; the stage name is lowercased and validated like BuildKit. */
export function parseFrom(req: Request): FromInstruction {
  const flags = parseFlags(req.flagWords, FLAG_SPECS.from!);
  const args = splitWhitespace(req.args);
  if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
    const stageName = args[2]!.toLowerCase();
    if (!VALID_STAGE_NAME.test(stageName)) {
      throw syntaxError(`invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`);
    }
    return { kind: 'FROM', ...base(req, flags), image: args[0]!, stageName };
  }
  if (args.length !== 1) throw syntaxError('FROM requires either one or three arguments');
  return { kind: 'FROM', ...base(req, flags), image: args[0]! };
}

/** `key=value ...` pairs or the legacy `key value with spaces`; values stay raw (quotes kept). */
function parsePairs(req: Request, name: 'ENV' | 'LABEL'): Array<{ key: string; value: string }> {
  const words = splitRawWords(req.args, req.escape);
  if (words.length === 0) throw atLeastOne(name);
  if (!words[0]!.includes('=')) {
    const [key, value] = splitFirstWord(req.args);
    if (value === '') throw syntaxError(`${name} must have two arguments`);
    return [{ key, value }];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) throw syntaxError(`Syntax error - can't find = in "${word}". Must be of the form: name=value`);
    if (eq === 0) throw syntaxError(`${name} names can not be blank`);
    return { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
}

/** ENV key=value ... | ENV key value. */
export function parseEnv(req: Request): EnvInstruction {
  const flags = parseFlags(req.flagWords, {});
  return { kind: 'ENV', ...base(req, flags), pairs: parsePairs(req, 'ENV') };
}

/** LABEL key=value ... | LABEL key value. */
export function parseLabel(req: Request): LabelInstruction {
  const flags = parseFlags(req.flagWords, {});
  return { kind: 'LABEL', ...base(req, flags), pairs: parsePairs(req, 'LABEL') };
}

/** ARG name[=default] ...; defaults stay raw. */
export function parseArg(req: Request): ArgInstruction {
  const flags = parseFlags(req.flagWords, {});
  const words = splitRawWords(req.args, req.escape);
  if (words.length === 0) throw atLeastOne('ARG');
  const args = words.map((word) => {
    const eq = word.indexOf('=');
    if (eq === 0) throw syntaxError('ARG names can not be blank');
    return eq < 0 ? { name: word } : { name: word.slice(0, eq), defaultValue: word.slice(eq + 1) };
  });
  return { kind: 'ARG', ...base(req, flags), args };
}

/** The whole argument text as one raw value (WORKDIR, USER, STOPSIGNAL, MAINTAINER). */
function single(req: Request, name: string): string {
  if (req.args === '') throw exactlyOne(name);
  return req.args;
}

/** WORKDIR path. */
export function parseWorkdir(req: Request): WorkdirInstruction {
  const flags = parseFlags(req.flagWords, {});
  return { kind: 'WORKDIR', ...base(req, flags), path: single(req, 'WORKDIR') };
}

/** USER user[:group]. */
export function parseUser(req: Request): UserInstruction {
  const flags = parseFlags(req.flagWords, {});
  return { kind: 'USER', ...base(req, flags), user: single(req, 'USER') };
}

/** STOPSIGNAL signal. */
export function parseStopsignal(req: Request): StopsignalInstruction {
  const flags = parseFlags(req.flagWords, {});
  return { kind: 'STOPSIGNAL', ...base(req, flags), signal: single(req, 'STOPSIGNAL') };
}

/** MAINTAINER name (deprecated, still accepted). */
export function parseMaintainer(req: Request): MaintainerInstruction {
  const flags = parseFlags(req.flagWords, {});
  return { kind: 'MAINTAINER', ...base(req, flags), name: single(req, 'MAINTAINER') };
}

/** EXPOSE port[/proto] ... (whitespace-separated raw words). */
export function parseExpose(req: Request): ExposeInstruction {
  const flags = parseFlags(req.flagWords, {});
  const ports = splitWhitespace(req.args);
  if (ports.length === 0) throw atLeastOne('EXPOSE');
  return { kind: 'EXPOSE', ...base(req, flags), ports };
}

/** VOLUME ["/a", "/b"] | VOLUME /a /b. */
export function parseVolume(req: Request): VolumeInstruction {
  const flags = parseFlags(req.flagWords, {});
  const raw = parseJsonArray(req.args) ?? splitWhitespace(req.args);
  if (raw.length === 0) throw atLeastOne('VOLUME');
  const paths = raw.map((p) => {
    const t = p.trim();
    if (t === '') throw syntaxError('VOLUME specified can not be an empty string');
    return t;
  });
  return { kind: 'VOLUME', ...base(req, flags), paths };
}
