export { saveDockerArchive, writeDockerTar, writeOciLayout } from './save.js';
export { loadArchive } from './load.js';
export { writeRootfs } from './rootfs.js';
