import type { Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import type { Digest } from '../oci/index.js';
import { createHash, TsbuildError } from '../util/index.js';
import { CHUNK, destroyOnAbort, gzipStream, type GzipOptions } from './compress.js';
import { encodeHeader, padding, TRAILER } from './tar-format.js';
import { planLayer, type PlannedEntry } from './walk.js';

/** Streams planned entries as an uncompressed tar, reading file data with sync calls in 1 MiB pieces. */
class LayerTar extends Readable {
  private next = 0;
  private fd: number | undefined;
  private left = 0;
  private pad = 0;
  private file = '';
  private readonly hash: Hash | undefined;

  constructor(
    private readonly entries: PlannedEntry[],
    private readonly done: ((d: Digest) => void) | undefined,
  ) {
    super({ highWaterMark: CHUNK });
    this.hash = done ? createHash('sha256') : undefined;
  }

  override _read(): void {
    try {
      const parts: Buffer[] = [];
      let n = 0;
      let end = false;
      while (n < CHUNK && !end) {
        if (this.fd !== undefined) {
          const b = this.readSome(Math.min(this.left, CHUNK));
          parts.push(b);
          n += b.length;
          if (this.left === 0) {
            this.closeFile();
            if (this.pad) parts.push(Buffer.alloc(this.pad));
          }
          continue;
        }
        const e = this.entries[this.next++];
        if (!e) {
          parts.push(TRAILER);
          end = true;
          break;
        }
        const head = encodeHeader(e.header);
        parts.push(head);
        n += head.length;
        if (e.source !== undefined) {
          this.file = e.source;
          this.fd = fs.openSync(e.source, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
          this.left = e.header.size;
          this.pad = padding(e.header.size);
        }
      }
      const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.hash?.update(buf);
      this.push(buf);
      if (end) {
        if (this.hash) this.done?.(`sha256:${this.hash.digest('hex')}` as Digest);
        this.push(null);
      }
    } catch (e) {
      this.destroy(e as Error);
    }
  }

  private readSome(max: number): Buffer {
    const b = Buffer.allocUnsafe(max);
    let got = 0;
    while (got < max) {
      const r = fs.readSync(this.fd!, b, got, max - got, null);
      if (r === 0) throw new TsbuildError('TSB_OUTPUT_INVALID', `${this.file} shrank while it was being archived`);
      got += r;
    }
    this.left -= got;
    return b;
  }

  private closeFile(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.closeFile();
    cb(err);
  }
}

/**
 * The uncompressed layer tar of an overlay upper dir, plus its diffID (resolves at the end of the stream).
 * `hashed: false` leaves the hashing to the consumer (a store write hashes anyway: the blob digest of a
 * plain tar is its diffID); diffId then never resolves. `xattrs: false`: see planLayer.
 */
export function createLayerTar(upperDir: string, opts: { mtimeMax?: number; hashed?: boolean; xattrs?: boolean } = {}): { stream: Readable; diffId: Promise<Digest> } {
  const entries = planLayer(upperDir, opts.xattrs === false ? { xattrs: false } : {});
  // SOURCE_DATE_EPOCH: timestamps newer than the epoch are clamped to it (BuildKit's rewrite-timestamp).
  if (opts.mtimeMax !== undefined) for (const e of entries) e.header.mtime = Math.min(e.header.mtime, opts.mtimeMax);
  let resolve!: (d: Digest) => void;
  let reject!: (e: unknown) => void;
  const diffId = new Promise<Digest>((res, rej) => ((resolve = res), (reject = rej)));
  diffId.catch(() => undefined);
  const stream = new LayerTar(entries, opts.hashed === false ? undefined : resolve);
  stream.on('error', reject);
  stream.on('close', () => reject(new TsbuildError('TSB_CANCELLED', 'layer stream closed before its end')));
  return { stream, diffId };
}

/** A gzip-compressed OCI layer tar of an overlay upper dir; diffId is the sha256 of the uncompressed tar. */
export function createLayerStream(upperDir: string, opts: GzipOptions & { mtimeMax?: number; xattrs?: boolean } = {}): { stream: Readable; diffId: Promise<Digest> } {
  const { stream: tar, diffId } = createLayerTar(upperDir, { ...(opts.mtimeMax === undefined ? {} : { mtimeMax: opts.mtimeMax }), ...(opts.xattrs === false ? { xattrs: false } : {}) });
  const gz = gzipStream(opts.gzipLevel);
  pipeline(tar, gz, () => undefined);
  destroyOnAbort(gz, opts.signal, 'layer creation cancelled');
  return { stream: gz, diffId };
}
