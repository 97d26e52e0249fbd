/** The Dockerfile code frame, for renderers that must not load the whole api. */
export { formatCodeFrame } from '../dockerfile/index.js';
