/**
 * node:crypto, loaded on first use. It is not in Node's start-up snapshot: importing it costs ~10 ms on a
 * 2-core VM, a tenth of `tsbuild run --rm IMAGE true`, which hashes nothing. Every module takes createHash
 * and randomBytes from here instead of importing node:crypto.
 */
import type { Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let mod: typeof import('node:crypto') | undefined;

function nodeCrypto(): typeof import('node:crypto') {
  return (mod ??= load('node:crypto') as typeof import('node:crypto'));
}

export function createHash(algorithm: string): Hash {
  return nodeCrypto().createHash(algorithm);
}

/** Random bytes from node:crypto once it is loaded, else straight from the kernel (/dev/urandom). */
export function randomBytes(size: number): Buffer {
  if (mod) return mod.randomBytes(size);
  const b = Buffer.alloc(size);
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    for (let got = 0; got < size; ) got += fs.readSync(fd, b, got, size - got, null);
  } finally {
    fs.closeSync(fd);
  }
  return b;
}
