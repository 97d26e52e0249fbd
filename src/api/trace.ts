/** Phase timing for TSBUILD_TRACE=1 (re-exported so the CLI need not reach into runtime). */
export { trace } from '../runtime/trace.js';
