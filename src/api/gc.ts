import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCacheRecords, type CacheRecord } from '../cache/index.js';
import type { Digest } from '../oci/index.js';
import { TsbuildError, isErrno, writeFileAtomic } from '../util/index.js';
import { prune } from './prune.js';

// Automatic GC after a build: a running estimate of the build cache size lives in `<root>/gc.json`; each build
// adds the layer sizes of the records it created (O(steps), no walk). Only when the estimate passes the cap, or
// every `checkEvery` builds, the cache index is listed for a true figure, and prune({keepBytes: cap}) drops the
// least recently used records (and the blobs and snapshots only they held) when that is over the cap.

const GB = 1024 ** 3;
/** Default cap: 10% of the store's filesystem or 20 GB, whichever is smaller. */
const DEFAULT_MAX = 20 * GB;
const DEFAULT_CHECK_EVERY = 25;

/** Options of maybeCollect. */
export interface GcOptions {
  /** Cap in bytes; default $TSBUILD_GC_KEEP, else min(10% of the filesystem, 20 GB). */
  keepBytes?: number;
  /** Records the build just used or made (its allSteps): their new layers advance the estimate. */
  steps?: Array<{ key: Digest; record: CacheRecord }>;
  /** A full recount at least every N builds, to correct the estimate (default 25). */
  checkEvery?: number;
  /** Passed to prune: blobs and snapshots younger than this stay (default prune's 10 minutes). */
  graceMs?: number;
  /** Environment to read TSBUILD_GC_KEEP from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** What maybeCollect did. */
export interface GcResult {
  /** The cap in force, or undefined when GC is off (TSBUILD_GC_KEEP=off). */
  cap: number | undefined;
  /** Build cache bytes after this call (estimated unless `checked`). */
  estimate: number;
  /** True when the cache index was listed (a full recount). */
  checked: boolean;
  pruned?: { records: number; blobs: number; snapshots: number; bytes: number };
}

interface GcState {
  /** Build cache bytes at the last recount plus what builds added since; -1 when unknown. */
  estimate: number;
  /** When the last call ran (ms): records created after it are new (a concurrent build's older ones wait for the recount). */
  countedAt: number;
  /** Builds since the last recount. */
  builds: number;
}

/** Parses a size: bytes, or a number with k/m/g/t (powers of 1024; "B", "iB" suffixes allowed), e.g. "512MB", "2g". */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(s);
  if (!m) throw new TsbuildError('TSB_USAGE', `invalid size "${s}"`, { hint: 'use bytes or a number with k, m, g or t, e.g. 10g' });
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: GB, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

/** The GC cap for a store: the option, $TSBUILD_GC_KEEP ("off" disables), else min(10% of its filesystem, 20 GB). */
export function gcCap(root: string, o: Pick<GcOptions, 'keepBytes' | 'env'> = {}): number | undefined {
  if (o.keepBytes !== undefined) return o.keepBytes;
  const env = (o.env ?? process.env).TSBUILD_GC_KEEP;
  if (env !== undefined && env !== '') return /^(off|false|none|no)$/i.test(env.trim()) ? undefined : parseSize(env);
  const st = fs.statfsSync(root);
  return Math.min(DEFAULT_MAX, Math.floor((st.blocks * st.bsize) / 10));
}

function stateFile(root: string): string {
  return path.join(root, 'gc.json');
}

function readState(root: string): GcState {
  try {
    const s = JSON.parse(fs.readFileSync(stateFile(root), 'utf8')) as Partial<GcState>;
    if (typeof s.estimate === 'number' && typeof s.countedAt === 'number' && typeof s.builds === 'number') return s as GcState;
  } catch (e) {
    if (!isErrno(e, 'ENOENT') && !(e instanceof SyntaxError)) throw e;
  }
  return { estimate: -1, countedAt: 0, builds: 0 };
}

/** Build cache bytes as prune's keepBytes counts them: the layer sizes of every record. */
export function cacheBytes(root: string): number {
  return listCacheRecords(root).reduce((n, r) => n + (r.record?.layer?.descriptor.size ?? 0), 0);
}

/**
 * Call after each build: when the build cache is over the cap, prunes the least recently used records down
 * to it (safe while other builds run). Under the cap it costs a small file read and write: no walk.
 */
export async function maybeCollect(root: string, o: GcOptions = {}): Promise<GcResult> {
  const cap = gcCap(root, o);
  const state = readState(root);
  const seen = new Set<string>();
  let added = 0;
  for (const { record } of o.steps ?? []) {
    const l = record.layer;
    if (!l || seen.has(l.descriptor.digest) || !(Date.parse(record.created) > state.countedAt)) continue;
    seen.add(l.descriptor.digest);
    added += l.descriptor.size;
  }
  const builds = state.builds + 1;
  const now = Date.now();
  const estimate = state.estimate < 0 ? -1 : state.estimate + added;
  if (cap === undefined) {
    if (estimate >= 0) writeFileAtomic(stateFile(root), JSON.stringify({ estimate, countedAt: now, builds: 0 } satisfies GcState));
    return { cap, estimate: Math.max(estimate, 0), checked: false };
  }
  if (estimate >= 0 && estimate <= cap && builds < (o.checkEvery ?? DEFAULT_CHECK_EVERY)) {
    writeFileAtomic(stateFile(root), JSON.stringify({ estimate, countedAt: now, builds } satisfies GcState));
    return { cap, estimate, checked: false };
  }
  let total = cacheBytes(root);
  let pruned: GcResult['pruned'];
  if (total > cap) {
    pruned = await prune(root, { keepBytes: cap, ...(o.graceMs === undefined ? {} : { graceMs: o.graceMs }) });
    total = cacheBytes(root);
  }
  writeFileAtomic(stateFile(root), JSON.stringify({ estimate: total, countedAt: now, builds: 0 } satisfies GcState));
  return { cap, estimate: total, checked: true, ...(pruned ? { pruned } : {}) };
}
