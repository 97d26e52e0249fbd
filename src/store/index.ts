export { type Store, openStore } from './store.js';
export type { StagedBlob } from './blobs.js';
export { type LockOptions, type LockOwner, lockOwnerAlive } from './lock.js';
export { cleanTemp } from './temp.js';
