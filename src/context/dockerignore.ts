import * as path from 'node:path';
import { globToRegExp } from './match.js';

interface Rule { re: RegExp; negate: boolean }

/** A compiled .dockerignore: `ignored("a/b")` tells whether a context path is excluded. */
export interface IgnoreMatcher {
  ignored(rel: string): boolean;
  /** True when some negation rule could re-include something below `dir` (so the walk must descend). */
  mayIncludeBelow(dir: string): boolean;
  readonly patterns: readonly string[];
}

/** Parses .dockerignore text with docker's rules: comments, `!` exceptions, `**`, paths cleaned, leading `/` dropped. */
export function parseDockerignore(text: string): IgnoreMatcher {
  const patterns: string[] = [];
  const rules: Rule[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (line === '') continue;
    let negate = false;
    if (line.startsWith('!')) {
      negate = true;
      line = line.slice(1).trim();
    }
    let p = path.posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
    if (p === '.' || p === '') p = '**';
    patterns.push(negate ? `!${p}` : p);
    rules.push({ re: globToRegExp(p, { doubleStar: true }), negate });
  }
  const matchesSelfOrParent = (re: RegExp, rel: string) => {
    if (re.test(rel)) return true;
    let dir = path.posix.dirname(rel);
    while (dir !== '.' && dir !== '/') {
      if (re.test(dir)) return true;
      dir = path.posix.dirname(dir);
    }
    return false;
  };
  return {
    patterns,
    ignored(rel) {
      let out = false;
      for (const r of rules) if (matchesSelfOrParent(r.re, rel)) out = !r.negate;
      return out;
    },
    mayIncludeBelow(_dir) {
      return rules.some((r) => r.negate);
    },
  };
}

/** A matcher that ignores nothing. */
export const NO_IGNORE: IgnoreMatcher = parseDockerignore('');
