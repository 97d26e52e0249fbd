import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Session } from '../snapshot/index.js';
import { createHash, trustedCas, TsbuildError } from '../util/index.js';

/** A downloaded ADD source, kept in the session between cache-key time and exec. */
export interface Download {
  file: string;
  /** sha256 of the content, `sha256:<hex>`. */
  digest: string;
  /** The file name BuildKit gives it: the URL path's basename, or `__unnamed__`. */
  name: string;
  /** From Last-Modified, when the server sent a valid one. */
  mtime?: Date;
}

const downloads = new WeakMap<Session, Map<string, Promise<Download>>>();

/** BuildKit's name for an http source: basename of the URL path, or `__unnamed__`. */
export function urlFileName(url: string): string {
  try {
    const base = path.posix.basename(new URL(url).pathname);
    return base === '' || base === '.' || base === '/' ? '__unnamed__' : decodeURIComponent(base);
  } catch (e) {
    if (e instanceof TypeError || e instanceof URIError) return '__unnamed__';
    throw e;
  }
}

/** Downloads `url` once per session (Node's fetch), hashing while writing; verifies `checksum` when given. */
export function download(session: Session, url: string, checksum: string | undefined, signal: AbortSignal): Promise<Download> {
  let perSession = downloads.get(session);
  if (!perSession) downloads.set(session, (perSession = new Map()));
  const key = `${url}\0${checksum ?? ''}`;
  let p = perSession.get(key);
  if (!p) {
    p = fetchTo(session, url, checksum, signal);
    perSession.set(key, p);
    p.catch(() => perSession!.delete(key));
  }
  return p;
}

async function fetchTo(session: Session, url: string, checksum: string | undefined, signal: AbortSignal): Promise<Download> {
  let res: Response;
  try {
    const ca = trustedCas();
    if (ca) {
      // extra CAs (see util/tls.ts): Node 20's built-in fetch cannot take them, undici's can. Loaded from
      // node_modules at run time, never bundled (scripts/bundle.mjs): this is the only user of its index.
      const undici = createRequire(import.meta.url)('undici') as typeof import('undici');
      const dispatcher = new undici.Agent({ connect: { ca } });
      res = (await undici.fetch(url, { signal, redirect: 'follow', dispatcher })) as unknown as Response;
    } else {
      res = await fetch(url, { signal, redirect: 'follow' });
    }
  } catch (e) {
    // fetch's own message is "fetch failed": the reason (refused, certificate, ...) is its cause
    const why = [(e as Error).message, ((e as Error).cause as Error | undefined)?.message].filter(Boolean).join(': ');
    throw new TsbuildError('TSB_NETWORK', `failed to fetch ${url}: ${why}`, { cause: e });
  }
  if (!res.ok || !res.body) throw new TsbuildError('TSB_NETWORK', `failed to fetch ${url}: invalid response status ${res.status}`);
  const file = path.join(session.tempDir('http'), 'content');
  const hash = createHash('sha256');
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => hash.update(c));
  await pipeline(body, fs.createWriteStream(file, { mode: 0o600 }), { signal });
  const digest = `sha256:${hash.digest('hex')}`;
  if (checksum !== undefined && checksum !== digest) {
    throw new TsbuildError('TSB_DIGEST_MISMATCH', `digest mismatch for ${url}: ${digest} != ${checksum}`);
  }
  const lm = res.headers.get('last-modified');
  const when = lm ? new Date(lm) : undefined;
  return { file, digest, name: urlFileName(url), ...(when && !Number.isNaN(when.getTime()) ? { mtime: when } : {}) };
}
