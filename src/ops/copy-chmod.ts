import { TsbuildError } from '../util/index.js';

/** A parsed `--chmod`: octal replaces the mode; symbolic (chmod(1), e.g. `u+x,g-w`, `a=rX`) edits it. */
export type ChmodSpec = { kind: 'octal'; mode: number } | { kind: 'symbolic'; clauses: Clause[] };

interface Clause { who: number; actions: Array<{ op: '+' | '-' | '='; perm: string; copy?: 'u' | 'g' | 'o' }> }

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 };

/** Parses `--chmod` as BuildKit does: octal up to 07777, else symbolic (dchapes/mode with umask 0). */
export function parseChmod(spec: string): ChmodSpec {
  if (/^[0-9]+$/.test(spec)) {
    const mode = parseInt(spec, 8);
    if (!/^[0-7]+$/.test(spec) || mode > 0o7777) {
      throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `invalid chmod parameter: '${spec}'. it should be octal string and between 0 and 07777`);
    }
    return { kind: 'octal', mode };
  }
  const clauses: Clause[] = [];
  for (const part of spec.split(',')) {
    const m = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/.exec(part);
    if (!m) throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `invalid chmod parameter: '${spec}': not an octal or symbolic mode`);
    let who = 0;
    for (const c of m[1]!) who |= WHO[c]!;
    const actions: Clause['actions'] = [];
    for (const a of m[2]!.matchAll(/([-+=])([ugo]|[rwxXst]*)/g)) {
      const op = a[1] as '+' | '-' | '=';
      const perm = a[2]!;
      actions.push(/^[ugo]$/.test(perm) ? { op, perm: '', copy: perm as 'u' | 'g' | 'o' } : { op, perm });
    }
    clauses.push({ who, actions });
  }
  return { kind: 'symbolic', clauses };
}

/** The new permission bits (07777) for an entry with `mode` (st_mode) under `spec`. */
export function applyChmod(spec: ChmodSpec, mode: number, isDir: boolean): number {
  if (spec.kind === 'octal') return spec.mode;
  let m = mode & 0o7777;
  for (const c of spec.clauses) {
    const who = c.who === 0 ? 0o7777 : c.who;
    for (const a of c.actions) {
      let bits = 0;
      if (a.copy) {
        const shift = a.copy === 'u' ? 6 : a.copy === 'g' ? 3 : 0;
        const v = (m >> shift) & 7;
        bits = (v << 6) | (v << 3) | v;
      } else {
        for (const p of a.perm) {
          if (p === 'r') bits |= 0o444;
          else if (p === 'w') bits |= 0o222;
          else if (p === 'x') bits |= 0o111;
          else if (p === 'X') bits |= isDir || (m & 0o111) !== 0 ? 0o111 : 0;
          else if (p === 's') bits |= 0o6000;
          else if (p === 't') bits |= 0o1000;
        }
      }
      bits &= who;
      if (a.op === '+') m |= bits;
      else if (a.op === '-') m &= ~bits;
      else m = (m & ~(who & 0o777 | (who & 0o6000))) | bits;
    }
  }
  return m & 0o7777;
}
