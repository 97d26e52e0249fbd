export { mapLimit } from '../util/index.js';
