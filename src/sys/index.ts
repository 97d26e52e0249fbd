export * from './mount.js';
export * from './mknod.js';
export * from './xattr.js';
