import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCacheRecords } from '../cache/index.js';
import { listImages } from '../image/index.js';
import { isDigest, type Digest } from '../oci/index.js';
import { retainedByLiveSessions } from '../snapshot/index.js';
import { openStore, type Store } from '../store/index.js';
import { isErrno } from '../util/index.js';
import { pruneCopyRecords } from '../ops/index.js';
import { layersUsedByContainers } from './containers.js';

/** Objects younger than this are never collected: a running build may not have recorded them yet. */
const GRACE_MS = 10 * 60_000;

export interface PruneOptions {
  /** Remove all build cache, not only the steps no image uses. */
  all?: boolean;
  /** Only cache unused for longer than this (ms). */
  olderThanMs?: number;
  /** Keep at most this many bytes of build cache (least recently used removed first). */
  keepBytes?: number;
  /** Objects younger than this are kept (default 10 minutes: a running build may not have recorded them yet). */
  graceMs?: number;
}

export interface DiskUsage {
  images: { count: number; bytes: number };
  buildCache: { records: number; bytes: number; reclaimableBytes: number };
  snapshots: { count: number; bytes: number };
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 0;
    throw e;
  }
}

/**
 * Bytes of the regular files below `dir`. A file with several links counts once per `seen`: layers rebuilt
 * by an incremental COPY (ops/copy-reuse.ts) share their unchanged files' inodes with the layer before.
 */
function treeSize(dir: string, seen = new Set<string>()): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = fs.lstatSync(p);
        if (st.nlink > 1) {
          const id = `${st.dev}:${st.ino}`;
          if (seen.has(id)) continue;
          seen.add(id);
        }
        total += st.size;
      }
    }
  };
  try {
    walk(dir);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  return total;
}

/** Blobs and layer ids that stored images reference: never collected. */
async function imageRoots(store: Store): Promise<{ blobs: Set<string>; layers: Set<string> }> {
  const blobs = new Set<string>();
  const layers = new Set<string>();
  for (const m of store.listManifests()) blobs.add(m.digest);
  for (const { image } of await listImages(store)) {
    blobs.add(image.digest);
    blobs.add(image.configDigest);
    for (const l of image.manifest.layers) blobs.add(l.digest);
    for (const d of image.config.rootfs.diff_ids) layers.add(d);
  }
  return { blobs, layers };
}

/** What the store holds, by kind, and how much `prune` would free (like `docker system df`). */
export async function du(root: string): Promise<DiskUsage> {
  const store = openStore(root);
  const roots = await imageRoots(store);
  const records = listCacheRecords(store.root);
  const cacheBlobs = new Set<string>();
  for (const r of records) if (r.record?.layer && !roots.blobs.has(r.record.layer.descriptor.digest)) cacheBlobs.add(r.record.layer.descriptor.digest);
  const sizeOf = (d: string) => (isDigest(d) ? fileSize(store.blobPath(d as Digest)) : 0);
  const snapDir = path.join(store.root, 'snapshots');
  const snaps = fs.existsSync(snapDir) ? fs.readdirSync(snapDir).filter((n) => /^[a-f0-9]{64}$/.test(n)) : [];
  const cacheBytes = [...cacheBlobs].reduce((n, d) => n + sizeOf(d), 0);
  return {
    images: { count: (await listImages(store)).length, bytes: [...roots.blobs].reduce((n, d) => n + sizeOf(d), 0) },
    buildCache: { records: records.length, bytes: cacheBytes, reclaimableBytes: cacheBytes },
    snapshots: { count: snaps.length, bytes: treeSize(snapDir) },
  };
}

/** Drops build cache and every blob and snapshot nothing references any more; safe while builds run. */
export async function prune(root: string, o: PruneOptions = {}): Promise<{ records: number; blobs: number; snapshots: number; bytes: number }> {
  const store = openStore(root);
  return store.withLock('gc', async () => {
    const now = Date.now();
    const grace = o.graceMs ?? GRACE_MS;
    const roots = await imageRoots(store);
    const live = retainedByLiveSessions(store.root);
    let records = listCacheRecords(store.root).sort((a, b) => a.lastUsed - b.lastUsed);
    const inImage = (r: (typeof records)[number]) => r.record?.layer !== undefined && roots.blobs.has(r.record.layer.descriptor.digest);
    const candidates = records.filter((r) => (o.all || !inImage(r)) && (o.olderThanMs === undefined || now - r.lastUsed > o.olderThanMs));
    let doomed = new Set(candidates);
    if (o.keepBytes !== undefined) {
      // Least recently used first, until what stays fits under the cap.
      let total = records.reduce((n, r) => n + (r.record?.layer?.descriptor.size ?? 0), 0);
      doomed = new Set();
      for (const r of candidates) {
        if (total <= o.keepBytes) break;
        doomed.add(r);
        total -= r.record?.layer?.descriptor.size ?? 0;
      }
    }
    for (const r of doomed) fs.rmSync(r.file, { force: true });
    records = records.filter((r) => !doomed.has(r));
    const keepBlobs = new Set([...roots.blobs, ...live]);
    const keepLayers = new Set([...roots.layers, ...live, ...[...layersUsedByContainers(store.root)].map((hex) => `sha256:${hex}`)]);
    for (const r of records) {
      if (r.record?.layer) {
        keepBlobs.add(r.record.layer.descriptor.digest);
        keepLayers.add(r.record.layer.diffId);
      }
    }
    let bytes = 0;
    let blobs = 0;
    const blobDir = path.join(store.root, 'blobs', 'sha256');
    for (const hex of fs.readdirSync(blobDir)) {
      const p = path.join(blobDir, hex);
      const st = fs.statSync(p);
      if (keepBlobs.has(`sha256:${hex}`) || now - st.mtimeMs < grace) continue;
      fs.rmSync(p, { force: true });
      bytes += st.size;
      blobs++;
    }
    let snapshots = 0;
    const counted = new Set<string>();
    const snapDir = path.join(store.root, 'snapshots');
    const trash = path.join(store.root, 'trash');
    fs.mkdirSync(trash, { recursive: true });
    for (const hex of fs.existsSync(snapDir) ? fs.readdirSync(snapDir) : []) {
      if (!/^[a-f0-9]{64}$/.test(hex) || keepLayers.has(`sha256:${hex}`)) continue;
      const p = path.join(snapDir, hex);
      if (now - fs.statSync(p).mtimeMs < grace) continue;
      bytes += treeSize(p, counted);
      fs.renameSync(p, path.join(trash, `snap-${hex}`));
      fs.rmSync(path.join(snapDir, 'l', hex.slice(0, 16)), { force: true });
      snapshots++;
    }
    // incremental-COPY records of layers that are gone now (ops/copy-reuse.ts)
    pruneCopyRecords(store.root, (d) => fs.existsSync(path.join(snapDir, d.slice('sha256:'.length))));
    // The automatic GC's running size estimate (gc.ts) is stale now: its next call recounts.
    if (doomed.size > 0) fs.rmSync(path.join(store.root, 'gc.json'), { force: true });
    if (snapshots > 0) spawn('rm', ['-rf', ...fs.readdirSync(trash).map((n) => path.join(trash, n))], { detached: true, stdio: 'ignore' }).unref();
    return { records: doomed.size, blobs, snapshots, bytes };
  }, { timeoutMs: 600_000 });
}
