export { build, type BuildOptions, type BuildResult } from './build.js';
export { run, containerArgs, mergeEnv, type RunOptions } from './run.js';
export { images, tag, rmi, inspect, history, importRootfs, save, load, type ImageSummary } from './images.js';
export { parseOutput, type OutputSpec } from './output.js';
export { parseSecret, parseSsh } from './secrets.js';
export { defaultRoot } from './root.js';
export type { BuildEvent } from '../solver/index.js';
export { formatCodeFrame } from '../dockerfile/index.js';
export { du, prune, type DiskUsage, type PruneOptions } from './prune.js';
