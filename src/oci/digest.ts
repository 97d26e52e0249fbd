import { createHash, TsbuildError } from '../util/index.js';

/** "sha256:<64 hex>", validated once at the boundary. */
export type Digest = string & { readonly __digest: true };

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function parseDigest(s: string): Digest {
  if (!DIGEST_RE.test(s)) throw new TsbuildError('TSB_IMAGE_INVALID', `invalid digest "${s}"`);
  return s as Digest;
}

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** The hex part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

/** Docker-style short id: first 12 hex characters. */
export function shortId(d: Digest): string {
  return digestHex(d).slice(0, 12);
}
