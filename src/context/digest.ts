import * as fs from 'node:fs';
import type { Digest } from '../oci/index.js';
import { FS_TREE, walkTree, type EntryStat, type SelectedSource, type SourceRoot, type TreeReader, type WalkFilter } from './select.js';
import { openStatCache, statCacheFile, type StatCache } from './statcache.js';
import { createHash } from '../util/index.js';

const CHUNK = 1024 * 1024;
let buffer: Buffer | undefined;

/** sha256 of a file's content, read synchronously in 1 MiB chunks. */
export function hashFile(file: string): string {
  buffer ??= Buffer.allocUnsafe(CHUNK);
  const h = createHash('sha256');
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    let n: number;
    while ((n = fs.readSync(fd, buffer, 0, CHUNK, null)) > 0) h.update(buffer.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Content digest of selected sources: path, type, mode, owner, size, link target and content of every
 * entry; never mtimes, so touching a file without changing it keeps the digest. With `cache` (the build
 * context's stat cache), files whose stat is unchanged are not read again.
 */
export function digestSelection(root: SourceRoot, selection: SelectedSource[], filter: WalkFilter = {}, cache?: StatCache, listing?: Listing, tree: TreeReader<EntryStat> = FS_TREE): Digest {
  const h = createHash('sha256');
  for (const sel of selection) {
    h.update(`source\0${sel.rel}\0`);
    walkTree(tree, root, sel, (e) => {
      const st = e.stat;
      const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
      const link = type === 'l' ? tree.readlink(e.host) : '';
      const content = type !== 'f' ? '' : cache ? cache.digest(sel.rel === '' ? e.rel : e.rel === '' ? sel.rel : `${sel.rel}/${e.rel}`, e.host, st, hashFile) : hashFile(e.host);
      listing?.push(listingLine(sel, e.rel, st, link, content));
      h.update(`${e.rel}\0${type}\0${st.mode}\0${root.keepOwner ? `${st.uid}:${st.gid}` : '0:0'}\0${type === 'f' ? st.size : 0}\0${link}\0${content}\n`);
    }, filter);
  }
  return `sha256:${h.digest('hex')}` as Digest;
}

/** What a COPY selected, one [path, summary] per entry: the file map of `--explain-cache` (api/explain.ts). */
export type Listing = Array<[string, string]>;

/** An entry's path and summary: `f:<16 hex of content>:<mode>`, `l:<target>`, `d:<mode>` or `o`. */
export function listingLine(sel: SelectedSource, rel: string, st: EntryStat, link: string, content: string): [string, string] {
  const p = [sel.rel, rel].filter(Boolean).join('/') || '.';
  const mode = (st.mode & 0o7777).toString(8);
  return [p, st.isFile() ? `f:${content.slice(0, 16)}:${mode}` : st.isSymbolicLink() ? `l:${link}` : st.isDirectory() ? `d:${mode}` : 'o'];
}

// Listings made while computing cache keys, by op object: the build record reuses them instead of
// walking the context a second time (~100 ms for 5,000 files).
const listings = new WeakMap<object, Listing>();

export function rememberListing(op: object, listing: Listing): void {
  listings.set(op, listing);
}

export function listingOf(op: object): Listing | undefined {
  return listings.get(op);
}

const caches = new WeakMap<SourceRoot, StatCache>();

/**
 * The stat cache of a build's context root, kept in the store (`<storeRoot>/context-cache/`): one per
 * SourceRoot object, so steps of one build share it and never hash a file twice.
 */
export function contextStatCache(storeRoot: string, root: SourceRoot): StatCache {
  let c = caches.get(root);
  if (!c) {
    c = openStatCache(statCacheFile(storeRoot, root.dir), root.dir);
    caches.set(root, c);
  }
  return c;
}
