import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { type Digest, digestHex } from '../oci/index.js';
import { createHash, isErrno, processStartTime, randomBytes, TsbuildError } from '../util/index.js';

/** A verified blob written to `<root>/tmp/`, not yet visible in `blobs/`. */
export interface StagedBlob {
  readonly digest: Digest;
  readonly size: number;
  /** The temp file holding the content (read it before commit/discard if needed). */
  readonly path: string;
  /** Renames the blob into place (idempotent when it already exists). */
  commit(): void;
  /** Removes the temp file. */
  discard(): void;
}

let selfStart: string | undefined;

/** `<root>/tmp/<kind>-<pid>-<start>-<random>`: pid and start time let cleanTemp tell a dead writer's leftovers. */
export function tempName(root: string, kind: string): string {
  selfStart ??= processStartTime(process.pid) ?? '0';
  return path.join(root, 'tmp', `${kind}-${process.pid}-${selfStart}-${randomBytes(6).toString('hex')}`);
}

/** The final path of a blob. */
export function blobFile(root: string, d: Digest): string {
  return path.join(root, 'blobs', 'sha256', digestHex(d));
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function staged(root: string, tmp: string, digest: Digest, size: number): StagedBlob {
  return {
    digest,
    size,
    path: tmp,
    commit() {
      const final = blobFile(root, digest);
      if (fs.existsSync(final)) {
        fs.rmSync(tmp, { force: true });
        return;
      }
      fs.renameSync(tmp, final);
      fsyncDir(path.dirname(final));
    },
    discard() {
      fs.rmSync(tmp, { force: true });
    },
  };
}

function mismatch(expected: Digest, got: Digest): TsbuildError {
  return new TsbuildError('TSB_DIGEST_MISMATCH', `content digest ${got} does not match expected ${expected}`, {
    hint: 'the source delivered different bytes than its descriptor promised; retry or check the source',
  });
}

const WRITE_BATCH = 1 << 20;

/** Writes every buffer with writev, continuing after short writes. */
async function writeAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  while (bufs.length > 0) {
    let n = (await fh.writev(bufs)).bytesWritten;
    while (bufs.length > 0 && n >= bufs[0]!.length) n -= bufs.shift()!.length;
    if (n > 0) bufs[0] = bufs[0]!.subarray(n);
  }
}

/** Streams into a temp file while hashing, then fsyncs; the caller commits or discards. */
export async function stageStream(root: string, stream: Readable, opts: { expected?: Digest; signal?: AbortSignal } = {}): Promise<StagedBlob> {
  const tmp = tempName(root, 'blob');
  // fs.promises loads on first use (with readline and streams: ~3 ms that `run` need not pay)
  const fh = await fs.promises.open(tmp, 'wx', 0o644);
  const hash = createHash('sha256');
  let size = 0;
  const signal = opts.signal;
  const onAbort = () => stream.destroy(new TsbuildError('TSB_CANCELLED', 'blob write cancelled', { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  // Chunks (64 KiB from a socket) are written in batches of >= 1 MiB, one writev each, while the next
  // batch is read and hashed: one thread-pool round trip per MiB instead of per chunk. 'data' events, not
  // async iteration: an iterator's read() joins whatever is buffered into one new Buffer (a copy of every
  // byte: ~60 ms and much garbage in a 200 MB pull). The stream pauses while two batches wait for the disk.
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let writing: Promise<void> = Promise.resolve();
  let queued = 0;
  try {
    if (signal?.aborted) onAbort();
    await new Promise<void>((resolve, reject) => {
      const flush = () => {
        const full = batch;
        batch = [];
        batchBytes = 0;
        if (++queued > 1) stream.pause();
        writing = writing.then(() => writeAll(fh, full)).then(() => {
          if (--queued <= 1 && stream.isPaused()) stream.resume();
        });
        writing.catch((e: unknown) => stream.destroy(e as Error));
      };
      stream.on('data', (chunk: Buffer | string) => {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        hash.update(buf);
        batch.push(buf);
        batchBytes += buf.length;
        size += buf.length;
        if (batchBytes >= WRITE_BATCH) flush();
      });
      let ended = false;
      stream.once('end', () => {
        ended = true;
        resolve();
      });
      stream.once('error', reject);
      stream.once('close', () => {
        if (!ended) reject(new TsbuildError('TSB_CANCELLED', 'blob stream closed before its end'));
      });
    });
    await writing;
    if (batch.length > 0) await writeAll(fh, batch);
    await fh.sync();
  } catch (e) {
    await writing.catch(() => {});
    await fh.close();
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  await fh.close();
  const digest = `sha256:${hash.digest('hex')}` as Digest;
  if (opts.expected !== undefined && opts.expected !== digest) {
    fs.rmSync(tmp, { force: true });
    throw mismatch(opts.expected, digest);
  }
  return staged(root, tmp, digest, size);
}

/** Writes bytes whose digest is already known: temp + fsync + rename, idempotent. */
export function putBytes(root: string, data: Uint8Array, digest: Digest, expected?: Digest): void {
  if (expected !== undefined && expected !== digest) throw mismatch(expected, digest);
  if (fs.existsSync(blobFile(root, digest))) return;
  const tmp = tempName(root, 'blob');
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  staged(root, tmp, digest, data.length).commit();
}

/**
 * Reads a whole small blob (manifest, config, index), verifying its digest unless `verify` is false. Reads
 * are synchronous: these blobs are a few kB, and a thread-pool round trip costs more than the read.
 */
export async function readVerified(root: string, d: Digest, verify = true): Promise<Buffer> {
  let data: Buffer;
  try {
    data = fs.readFileSync(blobFile(root, d));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw missingBlob(d);
    throw e;
  }
  if (!verify) return data;
  const got = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  if (got !== d) throw new TsbuildError('TSB_STORE_CORRUPT', `blob ${d} is corrupt (content hashes to ${got})`, { hint: 'remove the blob file and pull or build the image again' });
  return data;
}

/** The error for a blob that a caller expected in the store. */
export function missingBlob(d: Digest): TsbuildError {
  return new TsbuildError('TSB_STORE_CORRUPT', `blob ${d} is missing from the store`, { hint: 'pull or build the image again' });
}
