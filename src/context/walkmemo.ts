import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDir, writeFileAtomic } from '../util/index.js';
import { prewalkFingerprint, prewalkNewest, prewalkPruned } from './prewalk.js';
import type { SourceRoot } from './select.js';
import { RACY_MS, statCacheFile } from './statcache.js';

/**
 * COPY source digests of a context, kept for as long as the context's prewalk (prewalk.ts) is byte for
 * byte what it was: then no path, type, mode, owner, size, inode, mtime, ctime or link target changed, and
 * by the stat cache's own rule (same stat, same content) neither did any digest. A no-op rebuild then
 * walks nothing: it hashes find's output (~0.5 MB for 5,000 files) instead of visiting every entry in
 * JavaScript (~60 ms of dockerignore matching, stat-cache lookups and hashing).
 *
 * Directories the launcher did not descend (plain-path .dockerignore rules) are only trusted when this
 * build ignores them too.
 *
 * Racy trees are not memoised: when some entry changed less than RACY_MS before the walk, a later write in
 * the same timestamp tick could leave its stat as it was; such a build walks and the next one memoises.
 */
export interface WalkMemo {
  get(key: string): string | undefined;
  /** Remembers a digest computed from the tree the prewalk saw (a no-op for racy trees). */
  set(key: string, digest: string): void;
}

interface MemoFile {
  v: number;
  fp: string;
  digests: Record<string, string>;
}

const VERSION = 1;
const memos = new WeakMap<SourceRoot, WalkMemo | null>();

/** The memo of a build's context, or undefined when there is no prewalk of it to vouch for the tree. */
export function contextWalkMemo(storeRoot: string, root: SourceRoot): WalkMemo | undefined {
  let m = memos.get(root);
  if (m === undefined) {
    m = open(storeRoot, root) ?? null;
    memos.set(root, m);
  }
  return m ?? undefined;
}

function open(storeRoot: string, root: SourceRoot): WalkMemo | undefined {
  const fp = prewalkFingerprint(root.dir);
  if (fp === undefined) return undefined;
  // The listing vouches for the tree only where it looked: what the launcher pruned (by .dockerignore)
  // must be ignored by this build's rules too (a Dockerfile's own ignore file may differ).
  const pruned = prewalkPruned(root.dir);
  if (!pruned || pruned.some((rel) => !root.ignore.ignored(rel) || root.ignore.mayIncludeBelow(rel))) return undefined;
  const file = statCacheFile(storeRoot, root.dir).replace(/\.json$/, '.walk.json');
  let digests: Record<string, string> = {};
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as MemoFile;
    if (m.v === VERSION && m.fp === fp && typeof m.digests === 'object' && m.digests !== null) digests = m.digests;
  } catch {
    // none yet, or torn: a memo is only a shortcut
  }
  let racy: boolean | undefined;
  return {
    get: (key) => (Object.hasOwn(digests, key) ? digests[key] : undefined),
    set(key, digest) {
      // the walk started with this process (the launcher's find ran just before node)
      racy ??= (prewalkNewest(root.dir) ?? Infinity) >= Date.now() - process.uptime() * 1000 - RACY_MS;
      if (racy || digests[key] === digest) return;
      digests = { ...digests, [key]: digest };
      try {
        ensureDir(path.dirname(file)); // the stat cache's own directory
        writeFileAtomic(file, JSON.stringify({ v: VERSION, fp, digests } satisfies MemoFile), { durable: false });
      } catch {
        // a full or read-only store: the next build walks
      }
    },
  };
}
