import { JsonProgress } from './json.js';
import { PlainProgress } from './plain.js';
import { TtyProgress } from './tty.js';
import type { Progress, ProgressIo, ProgressMode } from './types.js';

export { resolveMode } from './mode.js';
export { formatSize } from './format.js';
export { explainLines } from './summary.js';
export type { BuildSummary, Progress, ProgressIo, ProgressMode } from './types.js';
export { JsonProgress, PlainProgress, TtyProgress };

const QUIET: Progress = { onEvent: () => {}, done: () => {}, failed: () => {}, rendersError: false };

/** The progress display for a mode. */
export function createProgress(mode: ProgressMode, io: ProgressIo): Progress {
  if (mode === 'tty') return new TtyProgress(io);
  if (mode === 'plain') return new PlainProgress(io);
  if (mode === 'json') return new JsonProgress(io);
  return QUIET;
}
