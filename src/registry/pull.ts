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
  return new BlobReader(c, repository, desc, o);
}

/**
 * The body's 'data' events are pushed on as they come, paused while the consumer is full: no async
 * iterator (its read() joins buffered chunks into a new Buffer: a copy of every byte, ~45 ms in a 200 MB
 * pull) and no promise per chunk.
 */
class BlobReader extends Readable {
  private readonly hash = createHash('sha256');
  private offset = 0;
  private failures = 0;
  private lastReport = 0;
  private started = false;
  private body: Readable | undefined;

  constructor(
    private readonly c: RegistryClient,
    private readonly repository: string,
    private readonly desc: Descriptor,
    private readonly o: BlobStreamOptions,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _read(): void {
    if (this.started) {
      this.body?.resume();
      return;
    }
    this.started = true;
    this.download().then(
      () => this.push(null),
      (e: unknown) => this.destroy(e as Error),
    );
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.body?.destroy();
    cb(err);
  }

  private report(status: BlobProgress['status']): void {
    this.o.onProgress?.({ type: 'pull.progress', digest: this.desc.digest, current: this.offset, total: this.desc.size, status });
  }

  private mismatch(why: string): TsbuildError {
    return new TsbuildError('TSB_DIGEST_MISMATCH', `blob ${this.desc.digest} from ${this.c.registry}/${this.repository}: ${why}`, { hint: 'the registry sent different content than the manifest describes' });
  }

  private async download(): Promise<void> {
    const { desc, o } = this;
    for (;;) {
      const headers: Record<string, string> = this.offset > 0 ? { range: `bytes=${this.offset}-` } : {};
      const res = await this.c.fetch('GET', `/v2/${this.repository}/blobs/${desc.digest}`, { headers });
      if (res.statusCode !== 200 && res.statusCode !== 206) throw await registryError(res, `blob ${desc.digest}`);
      let skip = 0;
      if (this.offset > 0) {
        const cr = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
        if (res.statusCode === 200) skip = this.offset;
        else if (!cr || Number(cr[1]) !== this.offset) throw new TsbuildError('TSB_NETWORK', `blob ${desc.digest}: resume at ${this.offset} got Content-Range "${res.headers['content-range']}"`);
        this.report('resumed');
      } else this.report('downloading');
      const failed = await this.pump(res.body, skip);
      if (failed !== undefined) {
        if (failed instanceof TsbuildError || !isConnectionError(failed) || ++this.failures > (o.resumes ?? 5)) {
          throw failed instanceof TsbuildError ? failed : new TsbuildError('TSB_NETWORK', `blob ${desc.digest}: ${(failed as Error).message}`, { cause: failed });
        }
        await sleep((o.backoffMs ?? 200) * 2 ** (this.failures - 1));
        continue;
      }
      if (this.offset < desc.size) {
        if (++this.failures > (o.resumes ?? 5)) throw this.mismatch(`got ${this.offset} of ${desc.size} bytes`);
        await sleep((o.backoffMs ?? 200) * 2 ** (this.failures - 1));
        continue;
      }
      break;
    }
    const got = `sha256:${this.hash.digest('hex')}`;
    if (o.verify !== false && got !== desc.digest) throw this.mismatch(`content hashes to ${got}`);
    this.report('done');
  }

  /** Passes one response body on; resolves undefined at its end, or with what broke it. */
  private pump(body: Readable, skip: number): Promise<unknown> {
    return new Promise((resolve) => {
      this.body = body;
      let done = false;
      const finish = (e?: unknown) => {
        if (done) return;
        done = true;
        this.body = undefined;
        resolve(e);
      };
      body.on('data', (raw: Buffer) => {
        if (done) return;
        let chunk = raw;
        if (skip > 0) {
          const cut = Math.min(skip, chunk.length);
          skip -= cut;
          chunk = chunk.subarray(cut);
          if (chunk.length === 0) return;
        }
        if (this.offset + chunk.length > this.desc.size) {
          body.destroy();
          return finish(this.mismatch(`more than the ${this.desc.size} bytes the descriptor says`));
        }
        if (this.o.verify !== false) this.hash.update(chunk);
        this.offset += chunk.length;
        this.failures = 0;
        if (!this.push(chunk)) body.pause();
        if (Date.now() - this.lastReport > 200) {
          this.lastReport = Date.now();
          this.report('downloading');
        }
      });
      body.once('end', () => finish());
      body.once('error', (e) => finish(e));
      // closed without 'end' or 'error': a dropped connection, resumed like one
      body.once('close', () => finish(done ? undefined : Object.assign(new Error('socket hang up: body closed before its end'), { code: 'ECONNRESET' })));
    });
  }
}
