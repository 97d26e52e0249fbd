export { type StoredImage, imageFromDescriptor, platformMatches, readImage } from './read.js';
export { UNTAGGED, listImages, resolveImage } from './resolve.js';
export { configPlatform, writeImage, writeImageBytes } from './write.js';
export { canonicalJson, checkDescriptor, isIndexMediaType, isManifestMediaType, parseConfig, parseIndex, parseManifest } from './validate.js';
