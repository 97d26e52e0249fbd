import { isSpace } from './words.js';

/** A heredoc marker found on an instruction line, before its body is read. */
export interface HeredocMarker {
  name: string;
  expand: boolean;
  chomp: boolean;
  /** The file descriptor written before `<<` (`3<<EOF`), 0 when absent. */
  fd: number;
}

const MARKER = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;

/**
 * Unquote a heredoc delimiter word (single quotes literal, double quotes and backslash escapes). Undefined when it
 * is not exactly one word or a quote is unterminated (BuildKit drops that error too); `quoted` is true when any
 * quote was used (the body is then not expanded).
 */
function unquoteDelimiter(rest: string): { name: string; quoted: boolean } | undefined {
  const chars = Array.from(rest);
  let name = '';
  let quoted = false;
  let ended = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (isSpace(ch)) {
      ended = name !== '';
      continue;
    }
    if (ended) return undefined;
    if (ch === "'" || ch === '"') {
      let j = i + 1;
      for (; j < chars.length && chars[j] !== ch; j++) {
        if (ch === '"' && chars[j] === '\\' && ['"', '$', '\\'].includes(chars[j + 1] ?? '')) j++;
        name += chars[j];
      }
      if (j >= chars.length) return undefined;
      quoted = true;
      i = j;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 < chars.length) name += chars[++i];
      continue;
    }
    name += ch;
  }
  return name === '' ? undefined : { name, quoted };
}

/** Parse one word as a heredoc marker (`<<EOF`, `<<-'EOF'`, `3<<"EOF"`); undefined when it is not one. */
export function parseHeredocMarker(word: string): HeredocMarker | undefined {
  const m = MARKER.exec(word);
  if (!m || m[3] === '') return undefined;
  const d = unquoteDelimiter(m[3]!);
  if (!d) return undefined;
  return { name: d.name, expand: !d.quoted, chomp: m[2] === '-', fd: m[1] ? Number(m[1]) : 0 };
}

/**
 * Raw words of a whole instruction line for heredoc detection: quotes and escapes kept, `<<` glued to the blanks
 * after it. An unterminated quote yields no words (so no heredocs), as in BuildKit.
 */
function lineWords(line: string): string[] {
  const chars = Array.from(line);
  const words: string[] = [];
  let buf = '';
  const flush = () => {
    if (buf !== '') words.push(buf);
    buf = '';
  };
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === "'" || ch === '"') {
      let j = i + 1;
      for (; j < chars.length && chars[j] !== ch; j++) if (ch === '"' && chars[j] === '\\') j++;
      if (j >= chars.length) return [];
      buf += chars.slice(i, j + 1).join('');
      i = j;
    } else if (ch === '\\') {
      buf += ch + (chars[++i] ?? '');
    } else if (ch === '<' && chars[i + 1] === '<') {
      buf += '<<';
      i++;
      while (chars[i + 1] === ' ' || chars[i + 1] === '\t' || chars[i + 1] === '\r') buf += chars[++i];
    } else if (isSpace(ch)) flush();
    else buf += ch;
  }
  flush();
  return words;
}

/** Every heredoc marker on an instruction line, in order. */
export function heredocMarkers(line: string): HeredocMarker[] {
  if (!line.includes('<<')) return [];
  return lineWords(line).flatMap((w) => parseHeredocMarker(w) ?? []);
}

/** `<<-` semantics: strip leading tabs from every line. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}
