/** Thrown for lexer failures; expand.ts wraps it into a TsbuildError. */
export class LexError extends Error {}

/**
 * A shell glob (`*`, `?`, `\` escapes; no bracket expressions, as BuildKit) as a RegExp source. `\}` and `\/`
 * lose their backslash; any other escape must be of `*`, `?` or `\`.
 */
function globToRegex(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') out += greedy ? '.*' : '.*?';
    else if (ch === '?') out += '.';
    else if (ch === '\\') {
      const next = chars[i + 1];
      if (next === '}' || next === '/') continue;
      if (next !== '*' && next !== '?' && next !== '\\') {
        throw new LexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${next ?? ''}'`);
      }
      out += '\\' + next;
      i++;
    } else if ('[]{}.+()|^$'.includes(ch)) out += '\\' + ch;
    else out += ch;
  }
  return new RegExp(out, 'u');
}

/** Reverse a pattern by code point, keeping each `\x` escape pair in order. */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const tokens: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '\\' && i + 1 < chars.length) tokens.push(chars[i]! + chars[++i]!);
    else tokens.push(chars[i]!);
  }
  return tokens.reverse().join('');
}

const reverse = (s: string) => Array.from(s).reverse().join('');

/** `${v#p}` (shortest) / `${v##p}` (longest): drop the matching prefix. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = globToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

/** `${v%p}` (shortest) / `${v%%p}` (longest): drop the matching suffix (by matching on reversed strings). */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

/** `${v/p/r}` (first match) / `${v//p/r}` (every match), longest matches, replacement taken literally. */
export function replacePattern(value: string, pattern: string, replacement: string, all: boolean): string {
  const re = globToRegex(pattern, true, false);
  if (all) return value.replace(new RegExp(re.source, 'gu'), () => replacement);
  const m = re.exec(value);
  return m ? value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length) : value;
}
