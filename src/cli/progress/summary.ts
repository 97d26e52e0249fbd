import type { Paint } from '../color.js';
import * as path from 'node:path';
import { clip, formatSize, printable, seconds } from './format.js';
import type { BuildState } from './state.js';
import type { BuildSummary, ExplainEvent, WarningEvent } from './types.js';

/** The lines after a successful build: image, names, step counts, time, size. */
export function summaryLines(s: BuildSummary, state: BuildState, c: Paint): string[] {
  const { total, run, cached } = state.counts();
  const out = [` => built ${s.id} in ${seconds(s.ms)}`];
  for (const t of s.tags) out.push(` => naming to ${t}`);
  out.push(
    c.bold(`Build summary: ${total} step${total === 1 ? '' : 's'} (${run} run, ${cached} cached) in ${seconds(s.ms)}`),
    `  image id  ${s.id}`,
    `  digest    ${s.digest}`,
    `  size      ${formatSize(s.size)}`,
  );
  return out;
}

/** Where a warning points, as file:line (relative to the working directory when inside it). */
export function where(w: WarningEvent): string {
  if (!w.location) return '';
  const rel = path.relative(process.cwd(), w.location.file);
  const file = rel.startsWith('..') || path.isAbsolute(rel) ? w.location.file : rel;
  return `${file}:${w.location.startLine}`;
}

/** The warnings list shown after a build (BuildKit's " N warnings found"); lint warnings name their rule. */
export function warningLines(ws: WarningEvent[], c: Paint): string[] {
  if (ws.length === 0) return [];
  const head = c.yellow(`${ws.length} warning${ws.length === 1 ? '' : 's'} found (use tsbuild build --check for details):`);
  return [head, ...ws.map((w) => ` - ${w.rule ? `${c.yellow(w.rule)}: ` : ''}${w.message}${w.location ? ` (${where(w)})` : ''}`)];
}

/** `--explain-cache`: a line per step, CACHED or MISS, and under a miss its reasons (what changed since the last build). */
export function explainLines(xs: ExplainEvent[], c: Paint): string[] {
  if (xs.length === 0) return [];
  const missed = xs.filter((x) => !x.cached).length;
  const out = [c.bold(`Cache explanation: ${xs.length - missed} cached, ${missed} missed (compared with the last build of this Dockerfile and target)`)];
  for (const x of xs) {
    const title = clip(printable(x.step.title.split('\n')[0] ?? ''), 100);
    out.push(x.cached ? c.blue(` => CACHED [${x.label}] ${title}`) : c.yellow(` => MISS   [${x.label}] ${title}`));
    for (const r of x.reasons) out.push(`      - ${r.text}`);
  }
  return out;
}
