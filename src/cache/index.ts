import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestHex, type Descriptor, type Digest } from '../oci/index.js';
import { ensureDir, readFileIfExists, writeFileAtomic } from '../util/index.js';

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
        return JSON.parse(bytes.toString('utf8')) as CacheRecord;
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

/** Number of entries in the cache index (for `tsbuild du`-style reporting). */
export function cacheEntries(root: string): number {
  try {
    return fs.readdirSync(path.join(root, 'cache')).filter((n) => n.endsWith('.json')).length;
  } catch {
    return 0;
  }
}
