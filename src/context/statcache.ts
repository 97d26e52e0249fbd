import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, ensureDir, isErrno, tempSibling } from '../util/index.js';

/**
 * A persistent stat cache for build-context files: (dev, inode, size, mtime, ctime) → content sha256, so a
 * rebuild re-reads only files whose stat changed. Racy entries (a file changed right after it was hashed can
 * keep its mtime, on coarse clocks or 1–2 s filesystems) are never trusted across processes: an entry is
 * kept on load only when its mtime and ctime are more than RACY_MS older than the time the process that
 * recorded it started hashing; younger entries are re-hashed and saved again under a newer start time.
 */
export interface StatCache {
  /** sha256 hex of the regular file `host` (context path `rel`, stat `st` taken just before): cached or read. */
  digest(rel: string, host: string, st: Pick<fs.Stats, 'dev' | 'ino' | 'size' | 'mtimeMs' | 'ctimeMs'>, read: (host: string) => string): string;
  /** Writes the cache (temp file + rename) when something was hashed since it was loaded or saved. */
  save(): void;
  readonly stats: { hits: number; misses: number };
}

/** How much older than the recording process' start an mtime/ctime must be to be trusted later. */
export const RACY_MS = 3000;
const VERSION = 1;
/** Past this many entries, a save keeps only the entries this process looked at. */
const MAX_ENTRIES = 200_000;

type Row = [rel: string, dev: number, ino: number, size: number, mtime: number, ctime: number, hex: string];
/** A row as loaded, used in place (no object per entry: a no-op build loads thousands), `seen` appended. */
type Entry = [...Row, seen?: 1];

interface Loaded { entries: Map<string, Entry>; id: string | undefined }

/** The cache file for a context directory under a store root: `<root>/context-cache/<sha256(dir)>.json`. */
export function statCacheFile(storeRoot: string, contextDir: string): string {
  return path.join(storeRoot, 'context-cache', `${createHash('sha256').update(path.resolve(contextDir)).digest('hex')}.json`);
}

/** Identity of the file on disk (changes with every rename over it). */
function fileId(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

const isRow = (r: unknown): r is Row =>
  Array.isArray(r) && r.length === 7 && typeof r[0] === 'string' && typeof r[6] === 'string' && r[6].length === 64
  && typeof r[1] === 'number' && typeof r[2] === 'number' && typeof r[3] === 'number' && typeof r[4] === 'number' && typeof r[5] === 'number';

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** Reads a cache file; a missing, foreign or corrupt file (or entry) reads as empty: it is only a cache. */
function load(file: string, dir: string): Loaded {
  const entries = new Map<string, Entry>();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR')) return { entries, id: undefined };
    throw e;
  }
  const id = fileId(file);
  // Line 1: header {v, dir, t, sum}; then the rows as one JSON array whose sha256 is `sum` (torn or garbled → empty).
  const nl = text.indexOf('\n');
  let head: { v?: unknown; dir?: unknown; t?: unknown; sum?: unknown } | null;
  let rows: unknown;
  try {
    head = JSON.parse(text.slice(0, nl < 0 ? text.length : nl)) as typeof head;
    if (!head || head.v !== VERSION || head.dir !== dir || typeof head.t !== 'number' || nl < 0) return { entries, id };
    const body = text.slice(nl + 1);
    if (head.sum !== sha256hex(body)) return { entries, id };
    rows = JSON.parse(body);
  } catch (e) {
    if (e instanceof SyntaxError) return { entries, id };
    throw e;
  }
  if (!Array.isArray(rows)) return { entries, id };
  const trustBefore = head.t - RACY_MS;
  // the checksum matched: these are rows this code wrote; the shape check stays cheap insurance
  for (const r of rows as unknown[]) {
    if (!isRow(r)) continue;
    if (r[4] >= trustBefore || r[5] >= trustBefore) continue; // racy when recorded: re-hash
    entries.set(r[0], r);
  }
  return { entries, id };
}

/**
 * Opens the stat cache of context `dir` stored in `file`. `now` is when this process starts hashing (before
 * its first stat); it becomes the saved start time that decides what a later process trusts.
 */
export function openStatCache(file: string, dir: string, now: number = Date.now()): StatCache {
  const absDir = path.resolve(dir);
  const loaded = load(file, absDir);
  const entries = loaded.entries;
  let id = loaded.id;
  let dirty = false;
  const stats = { hits: 0, misses: 0 };
  return {
    stats,
    digest(rel, host, st, read) {
      const e = entries.get(rel);
      if (e && e[1] === st.dev && e[2] === st.ino && e[3] === st.size && e[4] === st.mtimeMs && e[5] === st.ctimeMs) {
        e[7] = 1;
        stats.hits++;
        return e[6];
      }
      stats.misses++;
      const hex = read(host);
      entries.set(rel, [rel, st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs, hex, 1]);
      dirty = true;
      return hex;
    },
    save() {
      if (!dirty) return;
      // Another build may have saved meanwhile: keep what it trusted that this process did not look at.
      const current = fileId(file);
      if (current !== id) {
        for (const [rel, e] of load(file, absDir).entries) if (!entries.has(rel)) entries.set(rel, e);
      }
      const keepAll = entries.size <= MAX_ENTRIES;
      const rows: Row[] = [];
      for (const e of entries.values()) if (keepAll || e[7]) rows.push([e[0], e[1], e[2], e[3], e[4], e[5], e[6]]);
      const body = JSON.stringify(rows);
      const tmp = tempSibling(file);
      try {
        ensureDir(path.dirname(file));
        // No fsync: a torn or empty file after a crash reads as an empty cache.
        fs.writeFileSync(tmp, `${JSON.stringify({ v: VERSION, dir: absDir, t: now, sum: sha256hex(body) })}\n${body}`, { flag: 'wx', mode: 0o600 });
        fs.renameSync(tmp, file);
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        // A full or read-only store costs the next build some reading, not the build.
        if (['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM'].some((code) => isErrno(e, code))) return;
        throw e;
      }
      id = fileId(file);
      dirty = false;
    },
  };
}
