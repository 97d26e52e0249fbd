import { TsbuildError } from '../util/index.js';

/** Exit code for an error: 2 usage, 125 a container could not start, 130 cancelled, else 1. */
export function exitCodeFor(e: unknown): number {
  if (!(e instanceof TsbuildError)) return 1;
  if (e.code === 'TSB_USAGE') return 2;
  if (e.code === 'TSB_CONTAINER_START' || e.code === 'TSB_RUNTIME_UNAVAILABLE') return 125;
  if (e.code === 'TSB_CANCELLED') return 130;
  return 1;
}
