import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestHex, type Descriptor, type Digest } from '../oci/index.js';
import { ensureDir, isErrno, readFileIfExists, writeFileAtomic, readDirIfExists } from '../util/index.js';

/** What a cache key maps to: the step's layer (none when the step changed nothing) and when it was made. */
export interface CacheRecord {
  layer?: { diffId: Digest; descriptor: Descriptor };
  created: string;
}

/** The step cache index: one small JSON file per key under `<root>/cache/`, written atomically. */
export interface CacheIndex {
  get(key: Digest): CacheRecord | undefined;
  put(key: Digest, record: CacheRecord): void;
}

/** Opens the cache index of a store root. */
export function openCache(root: string): CacheIndex {
  const dir = path.join(root, 'cache');
  ensureDir(dir);
  const file = (key: Digest) => path.join(dir, `${digestHex(key)}.json`);
  return {
    get(key) {
      const bytes = readFileIfExists(file(key));
      if (!bytes) return undefined;
      try {
        const record = JSON.parse(bytes.toString('utf8')) as CacheRecord;
        touch(file(key));
        return record;
      } catch (e) {
        if (e instanceof SyntaxError) return undefined;
        throw e;
      }
    },
    put(key, record) {
      writeFileAtomic(file(key), JSON.stringify(record));
    },
  };
}

/** Marks a record as used now: prune's age filters and size cap drop the least recently used first. */
function touch(file: string): void {
  const now = new Date();
  try {
    fs.utimesSync(file, now, now);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}

/** Every record in the index with its key, file size and last use (for du and prune). */
export function listCacheRecords(root: string): Array<{ key: Digest; file: string; lastUsed: number; record: CacheRecord | undefined }> {
  const dir = path.join(root, 'cache');
  const names = readDirIfExists(dir);
  const out = [];
  for (const n of names) {
    if (!/^[a-f0-9]{64}\.json$/.test(n)) continue;
    const file = path.join(dir, n);
    try {
      const st = fs.statSync(file);
      let record: CacheRecord | undefined;
      try {
        record = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheRecord;
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
      }
      out.push({ key: `sha256:${n.slice(0, 64)}` as Digest, file, lastUsed: st.mtimeMs, record });
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }
  return out;
}

/** Number of entries in the cache index (for `tsbuild du`-style reporting). */
export function cacheEntries(root: string): number {
  try {
    return fs.readdirSync(path.join(root, 'cache')).filter((n) => n.endsWith('.json')).length;
  } catch {
    return 0;
  }
}

export { cacheMountsDir, pruneCacheMounts } from './mounts.js';
