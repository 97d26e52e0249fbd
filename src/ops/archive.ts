import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { applyLayer } from '../layer/index.js';
import { TsbuildError } from '../util/index.js';

type Kind = 'gzip' | 'bzip2' | 'xz' | 'tar';

function sniff(head: Buffer): Kind | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

function readHead(file: string, n: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = fs.readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

function decompress(file: string, kind: Kind): Readable {
  const raw = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  if (kind === 'tar') return raw;
  if (kind === 'gzip') return raw.pipe(createGunzip({ chunkSize: 1024 * 1024 }));
  const child = spawn(kind === 'xz' ? 'xz' : 'bzip2', ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  child.on('error', (e) => child.stdout.destroy(new TsbuildError('TSB_NOT_IMPLEMENTED', `ADD of a ${kind} archive needs the ${kind} program: ${e.message}`)));
  raw.pipe(child.stdin);
  return child.stdout;
}

async function firstBytes(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const c of stream) {
      chunks.push(c as Buffer);
      total += (c as Buffer).length;
      if (total >= n) break;
    }
  } catch {
    return Buffer.alloc(0);
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

/** True when a local file is a tar archive, plain or compressed (judged by content, as docker's ADD does). */
export async function isArchive(file: string): Promise<boolean> {
  const kind = sniff(readHead(file, 512));
  if (kind === undefined) return false;
  if (kind === 'tar') return true;
  const inner = await firstBytes(decompress(file, kind), 512);
  return sniff(inner) === 'tar';
}

/** Extracts a local archive into a directory inside a rootfs (safe extraction, whiteouts applied). */
export async function extractArchive(file: string, hostDest: string): Promise<void> {
  const kind = sniff(readHead(file, 512));
  if (kind === undefined) throw new Error(`${file} is not an archive`);
  await applyLayer(decompress(file, kind === 'gzip' ? 'tar' : kind), hostDest, { mode: 'plain' });
}
