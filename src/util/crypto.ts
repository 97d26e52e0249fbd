/**
 * node:crypto, loaded on first use. It is not in Node's start-up snapshot: importing it costs ~10 ms on a
 * 2-core VM, a tenth of `tsbuild run --rm IMAGE true`, which hashes nothing. Every module takes createHash
 * and randomBytes from here instead of importing node:crypto.
 */
import type { Hash } from 'node:crypto';
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let mod: typeof import('node:crypto') | undefined;

function nodeCrypto(): typeof import('node:crypto') {
  return (mod ??= load('node:crypto') as typeof import('node:crypto'));
}

export function createHash(algorithm: string): Hash {
  return nodeCrypto().createHash(algorithm);
}

export function randomBytes(size: number): Buffer {
  return nodeCrypto().randomBytes(size);
}
