import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { decompressed } from '../layer/index.js';
import { type Digest, MediaType } from '../oci/index.js';
import { createHash, TsbuildError } from '../util/index.js';
import { type Member, openMember } from './archive-read.js';

export type Compression = 'none' | 'gzip' | 'zstd';

async function head(m: Member): Promise<Buffer> {
  if (m.bytes) return m.bytes.subarray(0, 4);
  for await (const c of openMember(m)) return (c as Buffer).subarray(0, 4);
  return Buffer.alloc(0);
}

/** Sniffs a layer blob's compression from its magic bytes. */
export async function sniffCompression(m: Member): Promise<Compression> {
  const h = await head(m);
  if (h[0] === 0x1f && h[1] === 0x8b) return 'gzip';
  if (h.length >= 4 && h.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** The OCI layer media type for a compression. */
export function layerMediaType(c: Compression): string {
  return c === 'gzip' ? MediaType.ociLayerGzip : c === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
}

/** The digest of a layer's uncompressed tar (its diff id), streaming. */
export async function diffIdOf(m: Member, c: Compression): Promise<Digest> {
  if (c === 'none') return m.digest;
  if (m.diffId) return m.diffId;
  const hash = createHash('sha256');
  const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (hash.update(chunk), cb()) });
  try {
    await pipeline(decompressed(openMember(m)), sink);
  } catch (e) {
    throw new TsbuildError('TSB_ARCHIVE_INVALID', `layer ${m.name} is not a valid ${c} stream`, { cause: e });
  }
  m.diffId = `sha256:${hash.digest('hex')}` as Digest;
  return m.diffId;
}

/** Fails with TSB_DIGEST_MISMATCH when `got` is not `want`. */
export function expectDigest(what: string, want: Digest, got: Digest): void {
  if (want !== got) throw new TsbuildError('TSB_DIGEST_MISMATCH', `${what}: expected ${want}, content has ${got}`, { hint: 'the archive is damaged or was modified' });
}
