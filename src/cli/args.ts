import { TsbuildError } from '../util/index.js';

export interface OptionSpec {
  long: string;
  short?: string;
  /** Takes a value (`--tag x`, `--tag=x`, `-t x`); otherwise a boolean switch. */
  value?: boolean;
  multiple?: boolean;
}

export interface ParsedArgs {
  options: Map<string, string[]>;
  positionals: string[];
}

/**
 * Docker-style argument parsing: long and short options, `--k=v`, bundled short switches (`-it`),
 * repeated options. With `stopAtPositional`, everything from the first positional on is positional
 * (for `run IMAGE CMD...`). Unknown options are usage errors.
 */
export function parseArgs(argv: string[], specs: OptionSpec[], opts: { stopAtPositional?: boolean } = {}): ParsedArgs {
  const options = new Map<string, string[]>();
  const positionals: string[] = [];
  const byLong = new Map(specs.map((s) => [s.long, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const set = (spec: OptionSpec, v: string) => {
    const prev = options.get(spec.long) ?? [];
    options.set(spec.long, spec.multiple ? [...prev, v] : [v]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const spec = byLong.get(name);
      if (!spec) throw new TsbuildError('TSB_USAGE', `unknown flag: --${name}`);
      if (spec.value) {
        const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new TsbuildError('TSB_USAGE', `flag needs an argument: --${name}`);
        set(spec, v);
      } else set(spec, eq >= 0 ? a.slice(eq + 1) : 'true');
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const spec = byShort.get(a[j]!);
        if (!spec) throw new TsbuildError('TSB_USAGE', `unknown shorthand flag: '${a[j]}' in ${a}`);
        if (spec.value) {
          const rest = a.slice(j + 1);
          const v = rest !== '' ? rest.replace(/^=/, '') : argv[++i];
          if (v === undefined) throw new TsbuildError('TSB_USAGE', `flag needs an argument: '${a[j]}' in ${a}`);
          set(spec, v);
          break;
        }
        set(spec, 'true');
      }
    } else {
      positionals.push(a);
      if (opts.stopAtPositional) {
        positionals.push(...argv.slice(i + 1));
        break;
      }
    }
  }
  return { options, positionals };
}

/** The last value of an option, or undefined. */
export function opt(p: ParsedArgs, name: string): string | undefined {
  const v = p.options.get(name);
  return v?.[v.length - 1];
}

/** True when a boolean switch was given (and not `=false`). */
export function flag(p: ParsedArgs, name: string): boolean {
  const v = opt(p, name);
  return v !== undefined && v !== 'false';
}

/** All values of a repeatable option. */
export function all(p: ParsedArgs, name: string): string[] {
  return p.options.get(name) ?? [];
}
