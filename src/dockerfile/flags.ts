import type { Flags } from './types.js';
import { syntaxError } from './errors.js';
import { suggest } from './suggest.js';

/** bool: `--x` / `--x=true|false`; string: one `--x=v`; strings: repeatable `--x=v`. */
export type FlagKind = 'bool' | 'string' | 'strings';
/** Flag name (without --) to its kind. */
export type FlagSpec = Readonly<Record<string, FlagKind>>;

/** The flags each instruction accepts (lowercase keyword); instructions not listed accept none. */
export const FLAG_SPECS: Readonly<Record<string, FlagSpec>> = {
  from: { platform: 'string' },
  run: { mount: 'strings', network: 'string', security: 'string' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  add: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    exclude: 'strings',
    unpack: 'bool',
  },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** Validate raw `--name[=value]` words against `spec` with BuildKit's messages; bare booleans become ['true']. */
export function parseFlags(raw: string[], spec: FlagSpec): Flags {
  const flags: Flags = {};
  for (const word of raw) {
    if (!word.startsWith('--')) throw syntaxError(`arg should start with -- : ${word}`);
    const eq = word.indexOf('=');
    const flagName = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    const name = flagName.slice(2);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) {
      const close = suggest(name, Object.keys(spec), { caseSensitive: true });
      throw syntaxError(`unknown flag: ${flagName}`, close === undefined ? undefined : `did you mean ${close}?`);
    }
    const seen = flags[name];
    if (seen !== undefined && kind !== 'strings') throw syntaxError(`duplicate flag specified: ${flagName}`);
    if (kind === 'bool') {
      if (value === '') throw syntaxError(`missing a value on flag: ${flagName}`);
      const v = (value ?? 'true').toLowerCase();
      if (v !== 'true' && v !== 'false') throw syntaxError(`expecting boolean value for flag ${flagName}, not: ${value}`);
      flags[name] = [v];
    } else {
      if (value === undefined) throw syntaxError(`missing a value on flag: ${flagName}`);
      flags[name] = [...(seen ?? []), value];
    }
  }
  return flags;
}
