import * as fs from 'node:fs';
import { formatCodeFrame, type BuildEvent } from '../api/index.js';
import { TsbuildError } from '../util/index.js';

/** Renders build events as plain, line-oriented progress on stderr (good for terminals and CI logs alike). */
export function plainProgress(write: (s: string) => void): (e: BuildEvent) => void {
  const partial = new Map<string, string>();
  let lastStep: string | undefined;
  return (e) => {
    switch (e.type) {
      case 'stage.base':
        return;
      case 'warning':
        return write(`[warning] ${e.message}\n`);
      case 'step.cached':
        return write(` => CACHED [${e.label}] ${e.step.title}\n`);
      case 'step.start':
        lastStep = e.step.id;
        return write(` => [${e.label}] ${e.step.title}\n`);
      case 'step.log': {
        const key = `${e.step.id}/${e.stream}`;
        const lines = ((partial.get(key) ?? '') + e.chunk.toString('utf8')).split('\n');
        partial.set(key, lines.pop() ?? '');
        if (lastStep !== e.step.id && lines.length) {
          lastStep = e.step.id;
          write(` => [${e.step.title}]\n`);
        }
        for (const l of lines) write(`    ${l}\n`);
        return;
      }
      case 'step.done': {
        for (const stream of ['stdout', 'stderr']) {
          const rest = partial.get(`${e.step.id}/${stream}`);
          if (rest) write(`    ${rest}\n`);
          partial.delete(`${e.step.id}/${stream}`);
        }
        const size = e.layerSize === undefined ? '' : `, layer ${formatSize(e.layerSize)}`;
        return write(` => [${e.label}] done in ${(e.ms / 1000).toFixed(1)}s${size}\n`);
      }
    }
  };
}

/** Human sizes like docker's: 1.2MB, 340kB. */
export function formatSize(n: number): string {
  if (n < 1000) return `${n}B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}MB`;
  return `${(n / 1e9).toFixed(2)}GB`;
}

/** Renders an error for the terminal: message, failing step, Dockerfile code frame, output tail and hint. */
export function renderError(e: unknown): string {
  if (!(e instanceof TsbuildError)) {
    const err = e as Error;
    return `error: internal error: ${err?.stack ?? String(e)}\n`;
  }
  const out = [`error: ${e.message}`];
  if (e.location) {
    const lines = e.sourceLines ?? readLines(e.location.file);
    // Without a column from the parser, point at the instruction's first character.
    const column = e.location.column ?? (lines?.[e.location.startLine - 1]?.search(/\S/) ?? 0) + 1;
    out.push(` --> ${e.location.file}:${e.location.startLine}:${Math.max(column, 1)}`);
    if (lines) out.push(formatCodeFrame(lines, e.location));
  }
  if (e.details.length) {
    out.push('output (last lines):', ...e.details.map((l) => `  | ${l}`));
  }
  if (e.hint) out.push(`hint: ${e.hint}`);
  return `${out.join('\n')}\n`;
}

function readLines(file: string): string[] | undefined {
  try {
    return fs.readFileSync(file, 'utf8').split(/\r?\n/);
  } catch {
    return undefined; // the file may be gone; the location line still names it
  }
}
