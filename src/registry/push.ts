import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Descriptor, type Digest, sha256 } from '../oci/index.js';
import { TsbuildError, isTsbuildError } from '../util/index.js';
import { registryError } from './auth.js';
import type { RegistryClient } from './client.js';
import { isConnectionError } from './transport.js';
import type { BlobProgress } from './types.js';

/** True when the repository already has the blob (HEAD 200). */
export async function blobExists(c: RegistryClient, repository: string, digest: Digest): Promise<boolean> {
  const res = await c.fetch('HEAD', `/v2/${repository}/blobs/${digest}`);
  await res.body.dump();
  if (res.statusCode === 200) return true;
  if (res.statusCode === 404) return false;
  throw await registryError(res, `HEAD blob ${digest}`);
}

/** Asks the registry to mount a blob from another repository; true when mounted (201), false when it started an upload instead. */
export async function mountBlob(c: RegistryClient, repository: string, digest: Digest, from: string): Promise<boolean> {
  c.addScope(from, ['pull']);
  const res = await c.fetch('POST', `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, { headers: { 'content-length': '0' } });
  await res.body.dump();
  if (res.statusCode === 201) return true;
  if (res.statusCode === 202) {
    const loc = res.headers.location;
    if (typeof loc === 'string') await cancelUpload(c, loc);
    return false;
  }
  if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) return false;
  throw await registryError(res, `mount ${digest} from ${from}`);
}

async function cancelUpload(c: RegistryClient, location: string): Promise<void> {
  const res = await c.fetch('DELETE', location);
  await res.body.dump();
}

async function startUpload(c: RegistryClient, repository: string): Promise<string> {
  const res = await c.fetch('POST', `/v2/${repository}/blobs/uploads/`, { headers: { 'content-length': '0' } });
  await res.body.dump();
  const loc = res.headers.location;
  if (res.statusCode !== 202 || typeof loc !== 'string') throw await registryError(res, `start upload to ${repository}`);
  return loc;
}

/** The offset the registry holds for an upload (GET status: `Range: 0-LAST`), and its next Location. */
async function uploadStatus(c: RegistryClient, location: string): Promise<{ offset: number; location: string }> {
  const res = await c.fetch('GET', location);
  if (res.statusCode !== 204 && res.statusCode !== 202) throw await registryError(res, 'upload status');
  await res.body.dump();
  return { offset: rangeEnd(res.headers.range), location: typeof res.headers.location === 'string' ? res.headers.location : location };
}

function rangeEnd(h: string | string[] | undefined): number {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(String(h ?? ''));
  return m ? Number(m[1]) + 1 : 0;
}

function withDigest(location: string, digest: Digest): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/** Options of uploadBlob. */
export interface UploadOptions {
  /** Bytes per PATCH (default 16 MiB): a dropped connection costs at most one chunk. */
  chunkSize?: number;
  /** Consecutive failures without progress before giving up (default 5). */
  resumes?: number;
  backoffMs?: number;
  onProgress?: (p: BlobProgress) => void;
  /** Called with the bytes of each PATCH sent (for tests and benchmarks). */
  onSent?: (bytes: number) => void;
}

/**
 * Uploads a blob in chunks (PATCH with Content-Range); after a dropped connection or a 5xx it asks the
 * registry how much it holds and continues from there; then PUT ?digest= completes it.
 */
export async function uploadBlob(c: RegistryClient, repository: string, desc: Descriptor, open: (start: number, end: number) => Readable, o: UploadOptions = {}): Promise<void> {
  const chunk = o.chunkSize ?? 16 << 20;
  let location = await startUpload(c, repository);
  let offset = 0;
  let failures = 0;
  const report = (status: BlobProgress['status']) => o.onProgress?.({ type: 'push.progress', digest: desc.digest, current: offset, total: desc.size, status });
  report('uploading');
  while (offset < desc.size) {
    const end = Math.min(offset + chunk, desc.size);
    try {
      const start = offset;
      const res = await c.fetch('PATCH', location, {
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}`, 'content-length': String(end - start) },
        body: () => {
          o.onSent?.(end - start);
          return open(start, end);
        },
        retry: false,
      });
      await res.body.dump();
      if (res.statusCode !== 202 && res.statusCode !== 204) {
        if (res.statusCode >= 500 || res.statusCode === 429 || res.statusCode === 416) throw Object.assign(new Error(`HTTP ${res.statusCode}`), { code: 'ECONNRESET' });
        throw await registryError(res, `upload ${desc.digest}`);
      }
      if (typeof res.headers.location === 'string') location = res.headers.location;
      offset = res.headers.range ? rangeEnd(res.headers.range) : end;
      failures = 0;
      report('uploading');
    } catch (e) {
      if (!isConnectionError(e) || ++failures > (o.resumes ?? 5)) throw e instanceof TsbuildError ? e : new TsbuildError('TSB_NETWORK', `upload ${desc.digest}: ${(e as Error).message}`, { cause: e });
      await sleep((o.backoffMs ?? 200) * 2 ** (failures - 1));
      const s = await uploadStatus(c, location).catch((err: unknown) => {
        // distribution cancels an upload whose stored size no longer matches its signed state (a PATCH it
        // half-wrote, or a reply we lost): then only a fresh upload works.
        if (isTsbuildError(err, 'TSB_IMAGE_NOT_FOUND')) return undefined;
        throw err;
      });
      if (s) {
        location = s.location;
        offset = s.offset;
        report('resumed');
      } else {
        location = await startUpload(c, repository);
        offset = 0;
        report('restarted');
      }
    }
  }
  const res = await c.fetch('PUT', withDigest(location, desc.digest), { headers: { 'content-length': '0' } });
  await res.body.dump();
  if (res.statusCode === 400) throw new TsbuildError('TSB_DIGEST_MISMATCH', `registry rejected blob ${desc.digest}: the uploaded content has another digest`);
  if (res.statusCode !== 201 && res.statusCode !== 204) throw await registryError(res, `complete upload of ${desc.digest}`);
  report('done');
}

/** PUTs a manifest under a tag or digest; returns the digest of the bytes sent (checked against Docker-Content-Digest). */
export async function putManifest(c: RegistryClient, repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
  const res = await c.fetch('PUT', `/v2/${repository}/manifests/${reference}`, { headers: { 'content-type': mediaType }, body: () => bytes });
  await res.body.dump();
  if (res.statusCode !== 201 && res.statusCode !== 200) throw await registryError(res, `push manifest ${repository}:${reference}`);
  const digest = sha256(bytes);
  const echoed = res.headers['docker-content-digest'];
  if (typeof echoed === 'string' && echoed !== digest) throw new TsbuildError('TSB_DIGEST_MISMATCH', `registry stored manifest as ${echoed}, sent ${digest}`);
  return digest;
}
