import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Descriptor, type Digest, type ImageIndex, type Manifest, MediaType, type Platform, isDigest, sha256 } from '../oci/index.js';
import { createHash, TsbuildError } from '../util/index.js';
import { registryError } from './auth.js';
import type { RegistryClient } from './client.js';
import { isConnectionError } from './transport.js';
import type { BlobProgress } from './types.js';

const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');
const MAX_MANIFEST = 4 << 20;

/** Raw manifest bytes as fetched, with their digest and media type. */
export interface FetchedManifest {
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
}

/** GETs a manifest or index by tag or digest; checks its size and, for a digest reference, its digest. */
export async function fetchManifest(c: RegistryClient, repository: string, reference: string): Promise<FetchedManifest> {
  const res = await c.fetch('GET', `/v2/${repository}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
  if (res.statusCode !== 200) throw await registryError(res, `manifest ${c.registry}/${repository}:${reference}`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    n += (chunk as Buffer).length;
    if (n > MAX_MANIFEST) throw new TsbuildError('TSB_IMAGE_INVALID', `manifest ${repository}:${reference} exceeds ${MAX_MANIFEST} bytes`);
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  const digest = sha256(bytes);
  if (isDigest(reference) && digest !== reference) {
    throw new TsbuildError('TSB_DIGEST_MISMATCH', `manifest ${repository}@${reference} hashes to ${digest}`, { hint: 'the registry served different bytes than the digest names' });
  }
  let mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
  try {
    const declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
    if (typeof declared === 'string') mediaType = declared;
    else if (!mediaType || mediaType === 'application/json') mediaType = (JSON.parse(bytes.toString('utf8')) as { manifests?: unknown }).manifests ? MediaType.ociIndex : MediaType.ociManifest;
  } catch {
    throw new TsbuildError('TSB_IMAGE_INVALID', `manifest ${repository}:${reference} is not valid JSON`);
  }
  return { bytes, digest, mediaType };
}

/** True for index / manifest-list media types. */
export function isIndex(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

/** The index entry for `want` (os/arch, variant when both name one); TSB_IMAGE_NOT_FOUND lists what exists. */
export function selectPlatform(index: ImageIndex, want: Platform, what: string): Descriptor {
  const ok = (p: Platform | undefined) => !!p && p.os === want.os && p.architecture === want.architecture && (!want.variant || !p.variant || p.variant === want.variant);
  const exact = index.manifests.find((m) => ok(m.platform) && (!want.variant || m.platform?.variant === want.variant));
  const pick = exact ?? index.manifests.find((m) => ok(m.platform));
  if (pick) return pick;
  const have = index.manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}` : '?')).join(', ');
  throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `${what} has no image for ${want.os}/${want.architecture}${want.variant ? `/${want.variant}` : ''} (it has: ${have})`, {
    hint: 'choose one of those with --platform',
  });
}

/** The image manifest for a reference: an index is resolved to `platform`'s manifest, fetched by digest. */
export async function resolveManifest(c: RegistryClient, repository: string, reference: string, platform: Platform): Promise<{ index?: FetchedManifest; manifest: FetchedManifest; parsed: Manifest }> {
  const top = await fetchManifest(c, repository, reference);
  let manifest = top;
  let index: FetchedManifest | undefined;
  if (isIndex(top.mediaType)) {
    index = top;
    const pick = selectPlatform(JSON.parse(top.bytes.toString('utf8')) as ImageIndex, platform, `${c.registry}/${repository}:${reference}`);
    manifest = await fetchManifest(c, repository, pick.digest);
    if (manifest.bytes.length !== pick.size) throw new TsbuildError('TSB_DIGEST_MISMATCH', `manifest ${pick.digest} has ${manifest.bytes.length} bytes, the index says ${pick.size}`);
  }
  const parsed = JSON.parse(manifest.bytes.toString('utf8')) as Manifest;
  if (parsed.schemaVersion !== 2 || !parsed.config || !Array.isArray(parsed.layers)) {
    throw new TsbuildError('TSB_IMAGE_INVALID', `${c.registry}/${repository}:${reference} is not a schema 2 image manifest`, { hint: 'schema 1 manifests are not supported' });
  }
  return { index, manifest, parsed };
}

/** Options of blobStream. */
export interface BlobStreamOptions {
  onProgress?: (p: BlobProgress) => void;
  /** How many times a dropped download is resumed without progress in between (default 5). */
  resumes?: number;
  backoffMs?: number;
  /** Hash here too (default true); false when the consumer verifies the digest itself (store.putBlobStream({expected})). */
  verify?: boolean;
}

/**
 * Streams a blob, capped at the descriptor's size and hashed on the way; a dropped connection is resumed
 * with `Range: bytes=N-` (a server that ignores Range has its first N bytes skipped). Errors with
 * TSB_DIGEST_MISMATCH on a wrong size or digest.
 */
export function blobStream(c: RegistryClient, repository: string, desc: Descriptor, o: BlobStreamOptions = {}): Readable {
  return Readable.from(blobChunks(c, repository, desc, o), { objectMode: false });
}

async function* blobChunks(c: RegistryClient, repository: string, desc: Descriptor, o: BlobStreamOptions): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  const report = (status: BlobProgress['status']) => o.onProgress?.({ type: 'pull.progress', digest: desc.digest, current: offset, total: desc.size, status });
  const mismatch = (why: string) => new TsbuildError('TSB_DIGEST_MISMATCH', `blob ${desc.digest} from ${c.registry}/${repository}: ${why}`, { hint: 'the registry sent different content than the manifest describes' });
  let offset = 0;
  let failures = 0;
  let lastReport = 0;
  for (;;) {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const res = await c.fetch('GET', `/v2/${repository}/blobs/${desc.digest}`, { headers });
    if (res.statusCode !== 200 && res.statusCode !== 206) throw await registryError(res, `blob ${desc.digest}`);
    let skip = 0;
    if (offset > 0) {
      const cr = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
      if (res.statusCode === 200) skip = offset;
      else if (!cr || Number(cr[1]) !== offset) throw new TsbuildError('TSB_NETWORK', `blob ${desc.digest}: resume at ${offset} got Content-Range "${res.headers['content-range']}"`);
      report('resumed');
    } else report('downloading');
    try {
      for await (const raw of res.body) {
        let chunk = raw as Buffer;
        if (skip > 0) {
          const cut = Math.min(skip, chunk.length);
          skip -= cut;
          chunk = chunk.subarray(cut);
          if (chunk.length === 0) continue;
        }
        if (offset + chunk.length > desc.size) throw mismatch(`more than the ${desc.size} bytes the descriptor says`);
        if (o.verify !== false) hash.update(chunk);
        offset += chunk.length;
        failures = 0;
        yield chunk;
        if (Date.now() - lastReport > 200) {
          lastReport = Date.now();
          report('downloading');
        }
      }
    } catch (e) {
      if (!isConnectionError(e) || ++failures > (o.resumes ?? 5)) throw e instanceof TsbuildError ? e : new TsbuildError('TSB_NETWORK', `blob ${desc.digest}: ${(e as Error).message}`, { cause: e });
      await sleep((o.backoffMs ?? 200) * 2 ** (failures - 1));
      continue;
    }
    if (offset < desc.size) {
      if (++failures > (o.resumes ?? 5)) throw mismatch(`got ${offset} of ${desc.size} bytes`);
      await sleep((o.backoffMs ?? 200) * 2 ** (failures - 1));
      continue;
    }
    break;
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (o.verify !== false && got !== desc.digest) throw mismatch(`content hashes to ${got}`);
  report('done');
}
