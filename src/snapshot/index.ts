export * from './session.js';
export * from './snapshotter.js';
