export * from './session.js';
export * from './snapshotter.js';
export * from './prune.js';
