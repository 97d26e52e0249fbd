import { copyHandler } from './copy.js';
import { mkdirHandler } from './mkdir.js';
import { runHandler } from './run.js';
import type { OpHandlers } from './types.js';

export type { ExecContext, OpHandler, OpHandlers, SecretSource, StepInput } from './types.js';
export { ensureSnapshots, viewLayers } from './layers.js';
export { pruneCopyRecords } from './copy-reuse.js';

/** The handler for every Op kind; adding an Op kind without a handler fails type-checking here. */
export const handlers: OpHandlers = { run: runHandler, copy: copyHandler, mkdir: mkdirHandler };
