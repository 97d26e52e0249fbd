export * from './dockerignore.js';
export * from './select.js';
export * from './digest.js';
export { globToRegExp, hasGlob } from './match.js';
