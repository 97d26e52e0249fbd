export type { BlobProgress, Credentials, RegistryOptions } from './types.js';
export { RegistryClient, type FetchOptions } from './client.js';
export { Transport, isLoopback, registryHost, retryAfter, isConnectionError } from './transport.js';
export { parseChallenge, mergeScopes } from './auth.js';
export { credentialKey, configFile, getCredentials, storeCredentials, eraseCredentials } from './keychain.js';
export { type FetchedManifest, fetchManifest, resolveManifest, selectPlatform, isIndex, blobStream, type BlobStreamOptions } from './pull.js';
export { blobExists, mountBlob, uploadBlob, putManifest, type UploadOptions } from './push.js';
export { mapLimit } from './limit.js';
