export * from './events.js';
export * from './solve.js';
