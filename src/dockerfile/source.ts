import type { Directives } from './types.js';
import { syntaxError } from './errors.js';

/** The file's lines: BOM dropped, split on LF with a CR before it removed, no phantom line after a final newline. */
export function splitLines(text: string): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body === '') return [];
  const lines = body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (body.endsWith('\n')) lines.pop();
  return lines;
}

const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

/**
 * Parser directives (`# syntax=`, `# escape=`, `# check=`): only in the leading run of `#` lines, which ends at
 * the first line that is not a recognised directive (a blank line, another comment, an instruction).
 */
export function parseDirectives(lines: string[], file: string): Directives {
  const found: Directives = { escape: '\\' };
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trimStart();
    if (!line.startsWith('#')) break;
    const m = DIRECTIVE.exec(line.slice(1).trimStart());
    if (!m) break;
    const key = m[1]!.toLowerCase();
    const value = m[2]!;
    if (!KNOWN_DIRECTIVES.has(key)) break;
    const location = { file, startLine: i + 1, endLine: i + 1 };
    if (seen.has(key)) throw syntaxError(`only one ${key} parser directive can be used`, undefined, location);
    seen.add(key);
    if (key === 'escape') {
      if (value !== '\\' && value !== '`') {
        throw syntaxError(`invalid escape token '${value}' does not match \` or \\`, undefined, location);
      }
      found.escape = value;
    } else if (key === 'syntax') found.syntax = value;
    else found.check = value;
  }
  return found;
}

/** One instruction's text with its continuations joined, and the 1-based lines it was read from. */
export interface LogicalLine {
  text: string;
  startLine: number;
  endLine: number;
}

/** A read position over a file's lines. */
export interface Cursor {
  lines: string[];
  /** 0-based index of the next unread line. */
  pos: number;
  escape: '\\' | '`';
}

const isComment = (line: string) => line.trimStart().startsWith('#');

/** BuildKit's continuation rule: the escape char last (trailing blanks allowed) and not itself escaped. */
function trimContinuation(line: string, escape: string): { text: string; more: boolean } {
  const body = line.replace(/[ \t]*$/, '');
  if (body.endsWith(escape) && (body.length === 1 || body[body.length - 2] !== escape)) {
    return { text: body.slice(0, -1), more: true };
  }
  return { text: line, more: false };
}

/**
 * The next instruction: skips comments and blank lines; joins continuation lines, dropping comment and blank lines
 * inside them (continuation lines keep their leading whitespace, as BuildKit does). Undefined at end of file.
 */
export function nextLogicalLine(c: Cursor): LogicalLine | undefined {
  while (c.pos < c.lines.length) {
    const startLine = c.pos + 1;
    const first = c.lines[c.pos++]!.trimStart();
    if (isComment(first)) continue;
    let { text, more } = trimContinuation(first, c.escape);
    if (!more && text === '') continue;
    let buf = text;
    while (more && c.pos < c.lines.length) {
      const line = c.lines[c.pos++]!;
      if (isComment(line) || line.trim() === '') continue;
      ({ text, more } = trimContinuation(line, c.escape));
      buf += text;
    }
    if (buf.trim() === '') continue;
    return { text: buf, startLine, endLine: c.pos };
  }
  return undefined;
}

/**
 * Consume a heredoc body up to its terminator line (leading tabs ignored on it when `chomp`); returns the body,
 * every line ending in '\n'. Undefined when the file ends first.
 */
export function readHeredocBody(c: Cursor, name: string, chomp: boolean): string | undefined {
  let content = '';
  while (c.pos < c.lines.length) {
    const line = c.lines[c.pos++]!;
    if ((chomp ? line.replace(/^\t+/, '') : line) === name) return content;
    content += line + '\n';
  }
  return undefined;
}
