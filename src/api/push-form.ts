/**
 * What a stored layer is pushed as. Builds keep their layers as plain tars (ops/layers.ts), as docker's and
 * BuildKit's local stores do; a push sends them gzip-compressed, as `docker push` does. Each layer is
 * compressed once per store: the gzip blob joins the store and `<root>/compressed/<hex>.json` remembers it,
 * so a re-push or a push to another repository reuses it (and sends the same digest). A layer whose content
 * does not compress (already-compressed files, random data) is sent as it is: gzip would only cost CPU and
 * add bytes. Layers pulled or imported compressed are pushed unchanged.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { gzipStream } from '../layer/index.js';
import { type Descriptor, type Digest, MediaType, digestHex } from '../oci/index.js';
import type { Store } from '../store/index.js';
import { isErrno, writeFileAtomic } from '../util/index.js';

/** Compressed/plain size ratio above which a layer is pushed uncompressed. */
const INCOMPRESSIBLE = 0.9;
const SAMPLES = 4;
const SAMPLE_BYTES = 256 * 1024;

interface Memo {
  gzip?: Descriptor;
  incompressible?: boolean;
}

function memoFile(store: Store, d: Digest): string {
  return path.join(store.root, 'compressed', `${digestHex(d)}.json`);
}

function readMemo(file: string): Memo | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Memo;
  } catch (e) {
    if (isErrno(e, 'ENOENT') || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** Deflate ratio of a few slices spread over the file (gzip -1: the question is only whether it shrinks). */
export function sampleRatio(file: string, size: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    let plain = 0;
    let packed = 0;
    const n = size <= SAMPLES * SAMPLE_BYTES ? 1 : SAMPLES;
    for (let i = 0; i < n; i++) {
      const len = Math.min(SAMPLE_BYTES * (n === 1 ? SAMPLES : 1), size);
      const at = n === 1 ? 0 : Math.floor(((size - len) * i) / (n - 1));
      const buf = Buffer.allocUnsafe(len);
      const got = fs.readSync(fd, buf, 0, len, at);
      plain += got;
      packed += zlib.deflateRawSync(buf.subarray(0, got), { level: 1 }).length;
    }
    return plain === 0 ? 1 : packed / plain;
  } finally {
    fs.closeSync(fd);
  }
}

/** The descriptor `d` is pushed as (compressing and storing it first when needed). */
export async function pushableLayer(store: Store, d: Descriptor, signal?: AbortSignal): Promise<Descriptor> {
  if (d.mediaType !== MediaType.ociLayer) return d;
  const memoPath = memoFile(store, d.digest as Digest);
  const memo = readMemo(memoPath);
  if (memo?.incompressible) return d;
  if (memo?.gzip && store.hasBlob(memo.gzip.digest as Digest)) return memo.gzip;
  const file = store.blobPath(d.digest as Digest);
  let next: Memo;
  if (sampleRatio(file, d.size) > INCOMPRESSIBLE) next = { incompressible: true };
  else {
    const gz = gzipStream(6);
    fs.createReadStream(file, { highWaterMark: 1 << 20 }).on('error', (e) => gz.destroy(e)).pipe(gz);
    const blob = await store.putBlobStream(gz, signal ? { signal } : {});
    next = { gzip: { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size } };
  }
  fs.mkdirSync(path.dirname(memoPath), { recursive: true });
  writeFileAtomic(memoPath, JSON.stringify(next));
  return next.gzip ?? d;
}
