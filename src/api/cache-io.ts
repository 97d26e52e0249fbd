import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cacheMountsDir, type CacheIndex, type CacheRecord } from '../cache/index.js';
import { applyLayer, createLayerStream } from '../layer/index.js';
import { MediaType, REF_NAME_ANNOTATION, digestHex, parseDigest, sha256, type Descriptor, type Digest, type ImageIndex, type Manifest } from '../oci/index.js';
import { createHash, mapLimit, randomBytes } from '../util/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError, ensureDir, isErrno, writeFileAtomic } from '../util/index.js';

/** `--cache-to` / `--cache-from` as buildx spells them: type=local (a directory) or type=registry (a reference). */
export interface CacheSpec {
  type: 'local' | 'registry';
  /** Directory (local) or image reference (registry). */
  location: string;
  mode: 'min' | 'max';
  /** `cache-mounts=true`: also export the contents of RUN --mount=type=cache dirs (restored on import). */
  cacheMounts?: boolean;
}

/** Parses `type=local,dest=DIR[,mode=max][,cache-mounts=true]` / `type=local,src=DIR` / `type=registry,ref=R[,mode=…]`. */
export function parseCacheSpec(value: string, direction: 'to' | 'from'): CacheSpec {
  const f = new Map(value.split(',').map((p) => {
    const eq = p.indexOf('=');
    return eq < 0 ? [p.trim(), ''] : [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
  }));
  const type = f.get('type') ?? (f.has('ref') ? 'registry' : 'local');
  if (type !== 'local' && type !== 'registry') throw new TsbuildError('TSB_USAGE', `--cache-${direction}: unsupported type "${type}"`, { hint: 'use type=local or type=registry' });
  const location = type === 'registry' ? f.get('ref') : direction === 'to' ? f.get('dest') : f.get('src');
  if (!location) throw new TsbuildError('TSB_USAGE', `--cache-${direction} type=${type} needs ${type === 'registry' ? 'ref=' : direction === 'to' ? 'dest=' : 'src='}`);
  const mode = f.get('mode') ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw new TsbuildError('TSB_USAGE', `--cache-to mode must be min or max, not "${mode}"`);
  const cm = f.get('cache-mounts') ?? 'false';
  if (!['true', 'false', ''].includes(cm)) throw new TsbuildError('TSB_USAGE', `--cache-${direction} cache-mounts must be true or false, not "${cm}"`);
  return { type, location: type === 'local' ? path.resolve(location) : location, mode, cacheMounts: cm === 'true' || (cm === '' && f.has('cache-mounts')) };
}

/** Media type of the cache manifest's config blob (the step records). */
export const CACHE_CONFIG_TYPE = 'application/vnd.tsbuild.cache.config.v1+json';
/** Annotations of a cache-mount layer: the dir's key under `<root>/cache-mounts/`, and its root mode/uid/gid. */
const MOUNT_KEY = 'dev.tsbuild.cache-mount.key';
const MOUNT_MODE = 'dev.tsbuild.cache-mount.mode';
const MOUNT_UID = 'dev.tsbuild.cache-mount.uid';
const MOUNT_GID = 'dev.tsbuild.cache-mount.gid';

interface CacheConfig {
  version: 1;
  records: Array<{ key: Digest; created: string; layer?: { diffId: Digest; digest: Digest } }>;
}

/** A cache manifest ready to write or push: its bytes, the config bytes and where each layer blob is on disk. */
export interface CacheManifest {
  manifest: Manifest;
  manifestBytes: Buffer;
  config: Buffer;
  configDesc: Descriptor;
  /** Every layer (step layers, then cache-mount tars) with the file holding it. */
  blobs: Array<{ desc: Descriptor; file: string }>;
  /** Removes the temp files of cache-mount tars. */
  dispose(): void;
}

/** Options of building a cache manifest (shared by local and registry export). */
export interface CacheExportOptions {
  /** Include each cache-mount dir as a tar layer annotated with its key. */
  cacheMounts?: boolean;
  signal?: AbortSignal;
}

/** Assembles the cache manifest of `steps` (config lists key -> layer); with cacheMounts, tars each cache dir too. */
export async function buildCacheManifest(store: Store, steps: Array<{ key: Digest; record: CacheRecord }>, o: CacheExportOptions = {}): Promise<CacheManifest> {
  const layers = new Map<string, Descriptor>();
  const records: CacheConfig['records'] = [];
  for (const { key, record } of steps) {
    const entry: CacheConfig['records'][number] = { key, created: record.created };
    if (record.layer) {
      entry.layer = { diffId: record.layer.diffId, digest: record.layer.descriptor.digest };
      layers.set(record.layer.descriptor.digest, { mediaType: record.layer.descriptor.mediaType, digest: record.layer.descriptor.digest, size: record.layer.descriptor.size });
    }
    records.push(entry);
  }
  const blobs = [...layers.values()].map((desc) => ({ desc, file: store.blobPath(desc.digest) }));
  const temps: Array<() => void> = [];
  const dispose = () => temps.forEach((f) => f());
  try {
    if (o.cacheMounts) {
      for (const m of await tarCacheMounts(store, o.signal)) {
        temps.push(m.discard);
        if (!blobs.some((b) => b.desc.digest === m.desc.digest && b.desc.annotations?.[MOUNT_KEY] === m.desc.annotations?.[MOUNT_KEY])) blobs.push(m);
      }
    }
  } catch (e) {
    dispose();
    throw e;
  }
  const config = Buffer.from(JSON.stringify({ version: 1, records } satisfies CacheConfig));
  const configDesc: Descriptor = { mediaType: CACHE_CONFIG_TYPE, digest: sha256(config), size: config.length };
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: blobs.map((b) => b.desc) };
  return { manifest, manifestBytes: Buffer.from(JSON.stringify(manifest)), config, configDesc, blobs, dispose };
}

/** The data dir of each cache mount (`<key>/0`, else its lowest-numbered dir), tarred and gzipped into a staged temp blob. */
async function tarCacheMounts(store: Store, signal: AbortSignal | undefined): Promise<Array<{ desc: Descriptor; file: string; discard: () => void }>> {
  const base = cacheMountsDir(store.root);
  let keys: string[];
  try {
    keys = fs.readdirSync(base).filter((n) => /^[0-9a-f]{16,64}$/.test(n)).sort();
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
  const out: Array<{ desc: Descriptor; file: string; discard: () => void }> = [];
  for (const key of keys) {
    const nums = fs.readdirSync(path.join(base, key)).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
    if (nums.length === 0) continue;
    const dir = path.join(base, key, String(nums[0]));
    // The lock acquireCacheMount takes: no new dir appears or initializes while we read (running RUNs may still write).
    const staged = await store.withLock(`cache-mount-${key.slice(0, 32)}`, async () => {
      const { stream, diffId } = createLayerStream(dir, signal ? { signal } : {});
      const blob = await store.stageBlob(stream, signal ? { signal } : {});
      return { blob, diffId: await diffId };
    }, { timeoutMs: 600_000, ...(signal ? { signal } : {}) });
    const st = fs.statSync(dir);
    out.push({
      desc: {
        mediaType: MediaType.ociLayerGzip,
        digest: staged.blob.digest,
        size: staged.blob.size,
        annotations: { [MOUNT_KEY]: key, [MOUNT_MODE]: (st.mode & 0o7777).toString(8), [MOUNT_UID]: String(st.uid), [MOUNT_GID]: String(st.gid), 'dev.tsbuild.cache-mount.diffid': staged.diffId },
      },
      file: staged.blob.path,
      discard: () => staged.blob.discard(),
    });
  }
  return out;
}

/**
 * Writes step records and their layer blobs as an OCI image layout at `dir`: one manifest whose config
 * lists the records (key -> layer) and whose layers are the blobs (and, with cacheMounts, one tar per cache
 * mount dir). Readable by any OCI tool; importable by `importCacheLocal` on an empty store.
 */
export async function exportCacheLocal(store: Store, steps: Array<{ key: Digest; record: CacheRecord }>, dir: string, o: CacheExportOptions = {}): Promise<Descriptor> {
  ensureDir(path.join(dir, 'blobs', 'sha256'), 0o755);
  const cm = await buildCacheManifest(store, steps, o);
  try {
    for (const b of cm.blobs) await copyBlob(b.file, blobFile(dir, b.desc.digest));
    writeBlob(dir, cm.configDesc.digest, cm.config);
    const desc: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256(cm.manifestBytes), size: cm.manifestBytes.length, annotations: { [REF_NAME_ANNOTATION]: 'cache' } };
    writeBlob(dir, desc.digest, cm.manifestBytes);
    writeFileAtomic(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [desc] };
    writeFileAtomic(path.join(dir, 'index.json'), JSON.stringify(index));
    return desc;
  } finally {
    cm.dispose();
  }
}

/** Reads a cache written by `exportCacheLocal` into the store: blobs verified, records added where missing, cache mounts restored where absent. */
export async function importCacheLocal(store: Store, cache: CacheIndex, dir: string, signal?: AbortSignal): Promise<number> {
  let index: ImageIndex;
  try {
    index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as ImageIndex;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 0; // like buildx: a missing cache source is not an error
    throw new TsbuildError('TSB_ARCHIVE_INVALID', `--cache-from ${dir}: unreadable index.json`, { cause: e });
  }
  const top = index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === 'cache') ?? index.manifests[0];
  if (!top) return 0;
  const manifest = JSON.parse(readVerified(dir, parseDigest(top.digest)).toString('utf8')) as Manifest;
  const config = readVerified(dir, parseDigest(manifest.config.digest));
  return importCacheManifest(store, cache, manifest, config, {
    what: dir,
    open: (d) => fs.createReadStream(blobFile(dir, d.digest), { highWaterMark: 1 << 20 }),
    ...(signal ? { signal } : {}),
  });
}

/** Where the blobs of a cache manifest come from (a layout dir, a registry). */
export interface CacheBlobSource {
  /** For messages. */
  what: string;
  /** A stream of the blob; it need not verify (the store and cache-mount restore hash what they read). */
  open(d: Descriptor): Readable;
  /** Blobs fetched at once (default 4). */
  parallel?: number;
  signal?: AbortSignal;
}

/** Imports a parsed cache manifest (records, their layer blobs and cache-mount tars) into the store; returns records added. */
export async function importCacheManifest(store: Store, cache: CacheIndex, manifest: Manifest, configBytes: Buffer, src: CacheBlobSource): Promise<number> {
  if (manifest.config?.mediaType !== CACHE_CONFIG_TYPE) throw new TsbuildError('TSB_ARCHIVE_INVALID', `--cache-from ${src.what}: not a tsbuild cache`);
  if (sha256(configBytes) !== manifest.config.digest) throw new TsbuildError('TSB_DIGEST_MISMATCH', `--cache-from ${src.what}: cache config does not match its digest`);
  const config = JSON.parse(configBytes.toString('utf8')) as CacheConfig;
  const byDigest = new Map(manifest.layers.filter((l) => !l.annotations?.[MOUNT_KEY]).map((l) => [l.digest, l]));
  const wanted = config.records.filter((r) => !cache.get(parseDigest(r.key)));
  const fetch = new Map<string, Descriptor>();
  for (const r of wanted) {
    const d = r.layer && byDigest.get(r.layer.digest);
    if (d && !store.hasBlob(d.digest)) fetch.set(d.digest, d);
  }
  await mapLimit([...fetch.values()], src.parallel ?? 4, async (d) => {
    if (!store.hasBlob(d.digest)) await store.putBlobStream(src.open(d), src.signal ? { expected: d.digest, signal: src.signal } : { expected: d.digest });
  });
  let added = 0;
  for (const r of wanted) {
    const record: CacheRecord = { created: r.created };
    if (r.layer) {
      const desc = byDigest.get(r.layer.digest);
      if (!desc || !store.hasBlob(desc.digest)) continue;
      record.layer = { diffId: parseDigest(r.layer.diffId), descriptor: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size } };
    }
    cache.put(parseDigest(r.key), record);
    added++;
  }
  for (const l of manifest.layers) if (l.annotations?.[MOUNT_KEY]) await restoreCacheMount(store, l, src);
  return added;
}

/** Unpacks a cache-mount tar into `<root>/cache-mounts/<key>/0` unless the store has that dir; verifies the digest before it becomes visible. */
async function restoreCacheMount(store: Store, desc: Descriptor, src: CacheBlobSource): Promise<boolean> {
  const key = desc.annotations?.[MOUNT_KEY] ?? '';
  if (!/^[0-9a-f]{16,64}$/.test(key)) throw new TsbuildError('TSB_ARCHIVE_INVALID', `--cache-from ${src.what}: invalid cache mount key "${key}"`);
  const base = path.join(cacheMountsDir(store.root), key);
  const dir = path.join(base, '0');
  if (fs.existsSync(dir)) return false;
  return store.withLock(`cache-mount-${key.slice(0, 32)}`, async () => {
    if (fs.existsSync(dir)) return false;
    ensureDir(base, 0o700);
    const tmp = path.join(base, `.tmp-import-${process.pid}-${randomBytes(6).toString('hex')}`);
    fs.mkdirSync(tmp, { mode: 0o755 });
    try {
      const hash = createHash('sha256');
      const tap = new Transform({ transform(chunk: Buffer, _e, cb) { hash.update(chunk); cb(null, chunk); } });
      pipeline(src.open(desc), tap).catch(() => undefined); // a source error destroys tap, which fails applyLayer
      await applyLayer(tap, tmp, src.signal ? { mode: 'flatten', signal: src.signal } : { mode: 'flatten' });
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== desc.digest) throw new TsbuildError('TSB_DIGEST_MISMATCH', `cache mount ${key} from ${src.what} hashes to ${got}, not ${desc.digest}`);
      const a = desc.annotations ?? {};
      if (a[MOUNT_MODE]) fs.chmodSync(tmp, parseInt(a[MOUNT_MODE], 8) & 0o7777);
      if (a[MOUNT_UID] && a[MOUNT_GID]) fs.chownSync(tmp, Number(a[MOUNT_UID]), Number(a[MOUNT_GID]));
      fs.renameSync(tmp, dir);
      return true;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, { timeoutMs: 600_000, ...(src.signal ? { signal: src.signal } : {}) });
}

function blobFile(dir: string, d: Digest): string {
  return path.join(dir, 'blobs', 'sha256', digestHex(d));
}

function writeBlob(dir: string, d: Digest, data: Buffer): void {
  if (!fs.existsSync(blobFile(dir, d))) writeFileAtomic(blobFile(dir, d), data);
}

function readVerified(dir: string, d: Digest): Buffer {
  const data = fs.readFileSync(blobFile(dir, d));
  if (sha256(data) !== d) throw new TsbuildError('TSB_DIGEST_MISMATCH', `cache blob ${d} does not match its digest`);
  return data;
}

async function copyBlob(from: string, to: string): Promise<void> {
  if (fs.existsSync(to)) return;
  const tmp = `${to}.tmp-${process.pid}`;
  await pipeline(fs.createReadStream(from, { highWaterMark: 1 << 20 }), fs.createWriteStream(tmp));
  fs.renameSync(tmp, to);
}
