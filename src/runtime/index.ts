export * from './spec.js';
export * from './runc.js';
export * from './user.js';
