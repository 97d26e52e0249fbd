import { syntaxError } from './errors.js';

/** Go's unicode.IsSpace, close enough: JS whitespace minus BOM, plus NEL. */
export const isSpace = (ch: string): boolean => ch !== '\uFEFF' && (/^\s$/u.test(ch) || ch === '\u0085');

const WHITESPACE_RUN = /[\t\v\f\r ]+/;

/** Split on runs of blanks (BuildKit's whitespace-delimited arguments: no quote handling). */
export function splitWhitespace(rest: string): string[] {
  const t = rest.trim();
  return t === '' ? [] : t.split(WHITESPACE_RUN);
}

/** Split "KEYWORD rest" at the first run of blanks. */
export function splitFirstWord(line: string): [string, string] {
  const t = line.trim();
  const m = WHITESPACE_RUN.exec(t);
  if (!m) return [t, ''];
  return [t.slice(0, m.index), t.slice(m.index + m[0].length)];
}

/**
 * Leading `--flag[=value]` words of an instruction's arguments (quotes removed, escapes applied), stopping at the
 * first word not starting with `--` or after a bare `--`; returns the flags and the remaining argument text.
 */
export function extractFlags(rest: string, escape: string): { flags: string[]; args: string } {
  const chars = Array.from(rest);
  const flags: string[] = [];
  let i = 0;
  for (;;) {
    while (i < chars.length && isSpace(chars[i]!)) i++;
    if (i >= chars.length) return { flags, args: '' };
    if (chars[i] !== '-' || chars[i + 1] !== '-') return { flags, args: chars.slice(i).join('').trim() };
    let word = '';
    let quoted = false;
    while (i < chars.length && !isSpace(chars[i]!)) {
      const ch = chars[i]!;
      if (ch === "'" || ch === '"') {
        quoted = true;
        i++;
        while (i < chars.length && chars[i] !== ch) {
          if (chars[i] === escape && ++i >= chars.length) break;
          word += chars[i++];
        }
        i++;
        continue;
      }
      if (ch === escape) {
        i++;
        if (i < chars.length) word += chars[i++];
        continue;
      }
      word += ch;
      i++;
    }
    if (word === '--') return { flags, args: chars.slice(i).join('').trim() };
    if (word !== '' || quoted) flags.push(word);
  }
}

/**
 * Quote-aware split into raw words (quotes and escapes kept, for expansion later), as BuildKit does for
 * ENV/LABEL/ARG. An escape char at the very end is dropped.
 */
export function splitRawWords(rest: string, escape: string): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (quote === undefined && isSpace(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    word ??= '';
    if (ch === escape && quote !== "'") {
      if (i + 1 < chars.length) word += ch + chars[++i];
      continue;
    }
    if (quote === undefined && (ch === "'" || ch === '"')) quote = ch;
    else if (ch === quote) quote = undefined;
    word += ch;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * COPY/ADD words: quote-aware raw words, or BuildKit's plain blank split when a quote is left open (so such a line
 * still parses, and fails at expansion as it does in BuildKit).
 */
export function splitArgs(rest: string, escape: string): string[] {
  const words = splitRawWords(rest, escape);
  const last = words[words.length - 1];
  return last !== undefined && hasOpenQuote(last, escape) ? splitWhitespace(rest) : words;
}

function hasOpenQuote(word: string, escape: string): boolean {
  let quote: string | undefined;
  const chars = Array.from(word);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === escape && quote !== "'") i++;
    else if (quote === undefined && (ch === "'" || ch === '"')) quote = ch;
    else if (ch === quote) quote = undefined;
  }
  return quote !== undefined;
}

/**
 * The exec form: `rest` as a JSON array of strings, or undefined when it is not valid JSON (shell form applies).
 * A valid JSON array holding non-strings is an error, as in BuildKit.
 */
export function parseJsonArray(rest: string): string[] | undefined {
  const t = rest.trimStart();
  if (!t.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v): v is string => typeof v === 'string')) {
    throw syntaxError('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return value;
}
