import { spawn, spawnSync } from 'node:child_process';
import { Duplex, PassThrough, Transform, pipeline, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { Digest } from '../oci/index.js';
import { createHash, TsbuildError } from '../util/index.js';

export const CHUNK = 1024 * 1024;

export interface GzipOptions {
  /** zlib level 0-9, default 6. */
  gzipLevel?: number;
  signal?: AbortSignal;
}

/** A pass-through that hashes what flows by; `digest` resolves at the end (a rejection is pre-handled). */
export function hashTap(): { tap: Transform; digest: Promise<Digest> } {
  const h = createHash('sha256');
  let resolve!: (d: Digest) => void;
  let reject!: (e: unknown) => void;
  const digest = new Promise<Digest>((res, rej) => ((resolve = res), (reject = rej)));
  digest.catch(() => undefined);
  const tap = new Transform({
    highWaterMark: CHUNK,
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      resolve(`sha256:${h.digest('hex')}` as Digest);
      cb();
    },
  });
  tap.on('error', reject);
  tap.on('close', () => reject(new TsbuildError('TSB_CANCELLED', 'stream closed before its end')));
  return { tap, digest };
}

/** A gzip compressor with 1 MiB output chunks. */
export function gzipStream(level = 6): zlib.Gzip {
  return zlib.createGzip({ level, chunkSize: CHUNK });
}

let zstdAvailable: boolean | undefined;

function zstdDecoder(): Duplex {
  zstdAvailable ??= spawnSync('zstd', ['--version']).status === 0;
  if (!zstdAvailable) throw new TsbuildError('TSB_NOT_IMPLEMENTED', 'zstd-compressed layers need the zstd program', { hint: 'install zstd' });
  const child = spawn('zstd', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const err: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.on('error', () => undefined); // zstd stopping early shows in its exit status
  const d = new Duplex({
    readableHighWaterMark: CHUNK,
    write(chunk: Buffer, _enc, cb) {
      if (child.stdin.write(chunk)) cb();
      else child.stdin.once('drain', () => cb());
    },
    final(cb) {
      child.stdin.end();
      cb();
    },
    read() {
      child.stdout.resume();
    },
    destroy(e, cb) {
      if (child.exitCode === null) child.kill();
      cb(e);
    },
  });
  child.stdout.on('data', (c: Buffer) => {
    if (!d.push(c)) child.stdout.pause();
  });
  child.on('error', (e) => d.destroy(e));
  child.on('close', (code) => {
    if (code === 0) d.push(null);
    else d.destroy(new TsbuildError('TSB_TAR_INVALID', `zstd -dc failed: ${Buffer.concat(err).toString().trim() || `exit ${code}`}`));
  });
  return d;
}

type Kind = 'gzip' | 'zstd' | 'plain';

function sniff(head: Buffer): Kind {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32BE(0) === 0x28b52ffd) return 'zstd';
  return 'plain';
}

/** The uncompressed tar of `input`, whether it is gzip (magic 1f8b), zstd (via the zstd CLI) or plain. */
export function decompressed(input: Readable): Readable {
  const out = new PassThrough({ highWaterMark: CHUNK });
  let head = Buffer.alloc(0);
  let started = false;
  const onData = (c: Buffer): void => {
    head = Buffer.concat([head, c]);
    if (head.length >= 4) start(false);
  };
  const onEnd = (): void => start(true);
  const onError = (e: Error): void => {
    if (!started) out.destroy(e);
  };
  input.on('data', onData);
  input.once('end', onEnd);
  input.once('error', onError);
  out.once('close', () => {
    if (!started) input.destroy();
  });
  function start(ended: boolean): void {
    if (started) return;
    started = true;
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('error', onError);
    input.pause();
    const kind = head.length >= 4 ? sniff(head) : 'plain';
    let dec: Duplex;
    try {
      dec = kind === 'gzip' ? zlib.createGunzip({ chunkSize: CHUNK }) : kind === 'zstd' ? zstdDecoder() : new PassThrough({ highWaterMark: CHUNK });
    } catch (e) {
      out.destroy(e as Error);
      input.destroy();
      return;
    }
    dec.on('error', (e) => out.destroy(archiveError(e) as Error));
    out.once('close', () => {
      input.destroy();
      dec.destroy();
    });
    dec.pipe(out);
    if (ended) {
      dec.end(head);
      return;
    }
    input.on('error', (e) => out.destroy(e));
    input.unshift(head);
    input.pipe(dec);
  }
  return out;
}

/** Maps zlib and stream errors to TsbuildErrors where the cause is the archive itself. */
export function archiveError(e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) return new TsbuildError('TSB_TAR_INVALID', `invalid compressed layer: ${(e as Error).message}`, { cause: e });
  if ((e as Error | undefined)?.name === 'AbortError') return new TsbuildError('TSB_CANCELLED', 'layer operation cancelled', { cause: e });
  return e;
}

/** Recompresses a plain or gzip tar as gzip; diffId is the sha256 of the uncompressed tar. */
export function gzipWithDiffId(input: Readable, opts: GzipOptions = {}): { stream: Readable; diffId: Promise<Digest> } {
  const { tap, digest } = hashTap();
  const gz = gzipStream(opts.gzipLevel);
  const plain = decompressed(input);
  pipeline(plain, tap, gz, () => undefined);
  destroyOnAbort(gz, opts.signal, 'layer compression cancelled');
  return { stream: gz, diffId: digest };
}

/** Destroys `stream` with TSB_CANCELLED when `signal` aborts (the listener goes away with the stream). */
export function destroyOnAbort(stream: Readable, signal: AbortSignal | undefined, message: string): void {
  if (!signal) return;
  const abort = (): void => void stream.destroy(new TsbuildError('TSB_CANCELLED', message));
  if (signal.aborted) return abort();
  signal.addEventListener('abort', abort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', abort));
}
