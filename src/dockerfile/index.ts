export type * from './types.js';
export { parseDockerfile } from './parse.js';
export { expandWord, expandWords, type ExpansionEnv } from './expand.js';
export { formatCodeFrame } from './frame.js';
export { suggest } from './suggest.js';
export { parseHeredocMarker, type HeredocMarker } from './heredoc.js';
