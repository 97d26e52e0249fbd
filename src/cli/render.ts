import type { Paint } from './color.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatCodeFrame } from '../api/frame.js';
import type { LintWarning } from '../api/lint.js';
import { TsbuildError } from '../util/index.js';
import { colorFor } from './color.js';

export { formatSize } from './progress/format.js';

export interface RenderOptions {
  /** Add the cause chain and stack traces. */
  debug?: boolean;
  color?: Paint;
}

export { exitCodeFor } from './exit.js';

/** A path relative to the working directory when it is inside it (as users typed it, usually). */
export function displayPath(file: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

function frame(c: Paint, lines: string[], loc: { startLine: number; endLine: number }): string[] {
  const text = formatCodeFrame(lines, loc);
  if (!text) return [];
  const rule = c.dim('--------------------');
  return [rule, ...text.split('\n').map((l) => (l.includes(' | >>> ') ? c.bold(l) : c.dim(l))), rule];
}

function causes(e: unknown): string[] {
  const out: string[] = [];
  let cur = (e as { cause?: unknown })?.cause;
  for (let depth = 0; cur !== undefined && depth < 10; depth++) {
    const err = cur as Error;
    out.push(`caused by: ${err?.stack ?? String(cur)}`);
    cur = err?.cause;
  }
  return out;
}

/**
 * Renders an error for the terminal: `error: MESSAGE [CODE]`, the failing step, ` --> file:line:col` and a code
 * frame (`>>>` on the failing lines), the failed RUN's last output lines, the hint; with `debug` the stack and the
 * cause chain. Exactly one line starts with `error:`.
 */
export function renderError(e: unknown, o: RenderOptions = {}): string {
  const c = o.color ?? colorFor(false);
  if (!(e instanceof TsbuildError)) {
    const err = e as Error;
    return `${c.red.bold('error:')} internal error: ${err?.stack ?? String(e)}\n${causes(e).join('\n')}${causes(e).length ? '\n' : ''}`;
  }
  const out = [`${c.red.bold('error:')} ${c.bold(e.message)} ${c.dim(`[${e.code}]`)}`];
  if (e.step) out.push(` ${c.dim('step:')} ${e.step}`);
  if (e.location) {
    const lines = e.sourceLines ?? readLines(e.location.file);
    // Without a column from the parser, point at the instruction's first character.
    const column = e.location.column ?? (lines?.[e.location.startLine - 1]?.search(/\S/) ?? 0) + 1;
    out.push(` ${c.cyan('-->')} ${displayPath(e.location.file)}:${e.location.startLine}:${Math.max(column, 1)}`);
    if (lines) out.push(...frame(c, lines, e.location));
  }
  if (e.details.length) {
    out.push(c.dim(`output (last ${e.details.length} line${e.details.length === 1 ? '' : 's'}):`), ...e.details.map((l) => `  | ${l}`));
  }
  if (e.hint) out.push(`${c.green('hint:')} ${e.hint}`);
  if (o.debug) out.push(c.dim(e.stack ?? ''), ...causes(e).map((l) => c.dim(l)));
  return `${out.join('\n')}\n`;
}

/** One build-check warning in full: rule, message, location and code frame, and the rule's description. */
export function renderLintWarning(w: LintWarning, lines: string[], c: Paint): string {
  const out = [
    `${c.yellow.bold('WARN:')} ${c.yellow(w.rule)}: ${w.message}`,
    ` ${c.cyan('-->')} ${displayPath(w.location.file)}:${w.location.startLine}:${w.location.column}`,
    ...frame(c, lines, w.location),
    c.dim(` = ${w.description}`),
  ];
  return `${out.join('\n')}\n`;
}

function readLines(file: string): string[] | undefined {
  try {
    return fs.readFileSync(file, 'utf8').split(/\r?\n/);
  } catch {
    return undefined; // the file may be gone; the location line still names it
  }
}
