export * from './dockerignore.js';
export * from './select.js';
export * from './digest.js';
export { globToRegExp, goMatch, hasGlob, unescapeGlob, validatePattern } from './match.js';
export { ignoreFileFor } from './ignorefile.js';
export { RACY_MS, openStatCache, statCacheFile, type StatCache } from './statcache.js';
export * from './prewalk.js';
export * from './walkmemo.js';
