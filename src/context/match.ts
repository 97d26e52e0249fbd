import { TsbuildError } from '../util/index.js';

/** Thrown for a malformed pattern, like Go's `filepath.ErrBadPattern`. */
function badPattern(pattern: string): TsbuildError {
  return new TsbuildError('TSB_DOCKERFILE_SYNTAX', `syntax error in pattern: ${pattern}`);
}

/**
 * Go's `filepath.Match(pattern, name)` on posix paths: `*` (no "/"), `?`, `[...]` classes with ranges and
 * only `^` as negation (`[!a]` is the set {!, a}), `\` escapes. A malformed pattern throws.
 */
export function goMatch(pattern: string, name: string): boolean {
  const pat = Array.from(pattern);
  let p = pat;
  let s = Array.from(name);
  const fail = () => {
    while (p.length > 0) {
      const [, chunk, rest] = scanChunk(p);
      p = rest;
      matchChunk(chunk, [], pattern);
    }
    return false;
  };
  outer: while (p.length > 0) {
    const [star, chunk, rest] = scanChunk(p);
    p = rest;
    if (star && chunk.length === 0) return !s.includes('/');
    const t = matchChunk(chunk, s, pattern);
    if (t !== undefined && (t.length === 0 || p.length > 0)) {
      s = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < s.length && s[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, s.slice(i + 1), pattern);
        if (t2 !== undefined) {
          if (p.length === 0 && t2.length > 0) continue;
          s = t2;
          continue outer;
        }
      }
    }
    return fail();
  }
  return s.length === 0;
}

function scanChunk(p: string[]): [boolean, string[], string[]] {
  let star = false;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inrange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inrange = true;
        break;
      case ']':
        inrange = false;
        break;
      case '*':
        if (!inrange) break scan;
    }
  }
  return [star, p.slice(0, i), p.slice(i)];
}

/** The rest of `s` after matching `chunk`, or undefined; throws on a malformed chunk. */
function matchChunk(chunk: string[], s: string[], pattern: string): string[] | undefined {
  let failed = false;
  let c = chunk;
  while (c.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const head = c[0]!;
    if (head === '[') {
      let r = '';
      if (!failed) {
        r = s[0]!;
        s = s.slice(1);
      }
      c = c.slice(1);
      let negated = false;
      if (c[0] === '^') {
        negated = true;
        c = c.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (c.length > 0 && c[0] === ']' && nrange > 0) {
          c = c.slice(1);
          break;
        }
        const [lo, afterLo] = getEsc(c, pattern);
        let hi = lo;
        c = afterLo;
        if (c[0] === '-') [hi, c] = getEsc(c.slice(1), pattern);
        if (!failed && lo.codePointAt(0)! <= r.codePointAt(0)! && r.codePointAt(0)! <= hi.codePointAt(0)!) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (head === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      c = c.slice(1);
    } else {
      if (head === '\\') {
        c = c.slice(1);
        if (c.length === 0) throw badPattern(pattern);
      }
      if (!failed) {
        if (c[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      c = c.slice(1);
    }
  }
  return failed ? undefined : s;
}

function getEsc(c: string[], pattern: string): [string, string[]] {
  if (c.length === 0 || c[0] === '-' || c[0] === ']') throw badPattern(pattern);
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) throw badPattern(pattern);
  }
  const r = c[0]!;
  const rest = c.slice(1);
  if (rest.length === 0) throw badPattern(pattern);
  return [r, rest];
}

/** Throws when `pattern` is malformed for Go's filepath.Match. */
export function validatePattern(pattern: string): void {
  goMatch(pattern, '.');
}

/**
 * A .dockerignore-style pattern as a RegExp (moby/patternmatcher): `*` and `?` stop at "/", `**` spans
 * directories (`**` + `/` also matches zero of them), `\` escapes, `[...]` is a class (`^` negates).
 */
export function globToRegExp(pattern: string, options: { doubleStar?: boolean } = {}): RegExp {
  let re = '^';
  const p = Array.from(pattern);
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (options.doubleStar && p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') i++;
        re += i + 1 >= p.length ? '.*' : '(?:.*/)?';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\') re += i + 1 < p.length ? escapeRe(p[++i]!) : '\\\\';
    else if (c === '[') {
      const end = classEnd(p, i);
      if (end < 0) throw badPattern(pattern);
      let cls = '';
      let j = i + 1;
      if (p[j] === '^') {
        cls += '^';
        j++;
      }
      for (; j < end; j++) {
        const d = p[j]!;
        if (d === '\\' && j + 1 < end) cls += escapeRe(p[++j]!, true);
        else cls += d === '-' ? '-' : escapeRe(d, true);
      }
      re += `[${cls}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`${re}$`, 'u');
}

function classEnd(p: string[], start: number): number {
  let j = start + 1;
  if (p[j] === '^') j++;
  for (let first = true; j < p.length; j++, first = false) {
    if (p[j] === '\\') j++;
    else if (p[j] === ']' && !first) return j;
  }
  return -1;
}

function escapeRe(c: string, inClass = false): string {
  if (c === '-') return inClass ? '\\-' : '-';
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

/** True when `pattern` contains unescaped glob metacharacters (`*`, `?`, `[`). */
export function hasGlob(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

/** Removes glob escapes from a literal (non-glob) pattern component: `a\[1\]` -> `a[1]`. */
export function unescapeGlob(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}
