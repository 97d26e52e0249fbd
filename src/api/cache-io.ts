import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { CacheIndex, CacheRecord } from '../cache/index.js';
import { MediaType, REF_NAME_ANNOTATION, digestHex, parseDigest, sha256, type Descriptor, type Digest, type ImageIndex, type Manifest } from '../oci/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError, ensureDir, isErrno, writeFileAtomic } from '../util/index.js';

/** `--cache-to` / `--cache-from` as buildx spells them; only type=local here (registry goes through push/pull). */
export interface CacheSpec {
  type: 'local' | 'registry';
  /** Directory (local) or image reference (registry). */
  location: string;
  mode: 'min' | 'max';
}

/** Parses `type=local,dest=DIR[,mode=max]` / `type=local,src=DIR` / `type=registry,ref=R`. */
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
  return { type, location: type === 'local' ? path.resolve(location) : location, mode };
}

const CONFIG_TYPE = 'application/vnd.tsbuild.cache.config.v1+json';

interface CacheConfig {
  version: 1;
  records: Array<{ key: Digest; created: string; layer?: { diffId: Digest; digest: Digest } }>;
}

/**
 * Writes step records and their layer blobs as an OCI image layout at `dir`: one manifest whose config
 * lists the records (key -> layer) and whose layers are the blobs. Readable by any OCI tool; importable
 * by `importCacheLocal` on an empty store.
 */
export async function exportCacheLocal(store: Store, steps: Array<{ key: Digest; record: CacheRecord }>, dir: string): Promise<Descriptor> {
  ensureDir(path.join(dir, 'blobs', 'sha256'), 0o755);
  const layers = new Map<string, Descriptor>();
  const records: CacheConfig['records'] = [];
  for (const { key, record } of steps) {
    const entry: CacheConfig['records'][number] = { key, created: record.created };
    if (record.layer) {
      entry.layer = { diffId: record.layer.diffId, digest: record.layer.descriptor.digest };
      layers.set(record.layer.descriptor.digest, record.layer.descriptor);
    }
    records.push(entry);
  }
  for (const d of layers.values()) await copyBlob(store.blobPath(d.digest), blobFile(dir, d.digest));
  const config = Buffer.from(JSON.stringify({ version: 1, records } satisfies CacheConfig));
  const configDesc: Descriptor = { mediaType: CONFIG_TYPE, digest: sha256(config), size: config.length };
  writeBlob(dir, configDesc.digest, config);
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [...layers.values()].map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })) };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const desc: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256(manifestBytes), size: manifestBytes.length, annotations: { [REF_NAME_ANNOTATION]: 'cache' } };
  writeBlob(dir, desc.digest, manifestBytes);
  writeFileAtomic(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [desc] };
  writeFileAtomic(path.join(dir, 'index.json'), JSON.stringify(index));
  return desc;
}

/** Reads a cache written by `exportCacheLocal` into the store: blobs verified, records added where missing. */
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
  if (manifest.config.mediaType !== CONFIG_TYPE) throw new TsbuildError('TSB_ARCHIVE_INVALID', `--cache-from ${dir}: not a tsbuild cache`);
  const config = JSON.parse(readVerified(dir, parseDigest(manifest.config.digest)).toString('utf8')) as CacheConfig;
  const byDigest = new Map(manifest.layers.map((l) => [l.digest, l]));
  let added = 0;
  for (const r of config.records) {
    if (cache.get(parseDigest(r.key))) continue;
    const record: CacheRecord = { created: r.created };
    if (r.layer) {
      const desc = byDigest.get(r.layer.digest);
      if (!desc) continue;
      if (!store.hasBlob(desc.digest)) {
        await store.putBlobStream(fs.createReadStream(blobFile(dir, desc.digest), { highWaterMark: 1 << 20 }), signal ? { expected: desc.digest, signal } : { expected: desc.digest });
      }
      record.layer = { diffId: parseDigest(r.layer.diffId), descriptor: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size } };
    }
    cache.put(parseDigest(r.key), record);
    added++;
  }
  return added;
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
