export * from './errors.js';
export * from './fs.js';
export * from './process.js';
export * from './rootpath.js';
export * from './limit.js';
export * from './crypto.js';
export * from './tls.js';
