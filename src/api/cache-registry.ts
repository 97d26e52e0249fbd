import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { CacheIndex, CacheRecord } from '../cache/index.js';
import { MediaType, parseReference, type Descriptor, type Digest, type Manifest } from '../oci/index.js';
import * as reg from '../registry/index.js';
import { openStore, type Store } from '../store/index.js';
import { TsbuildError, isErrno, isTsbuildError } from '../util/index.js';
import { buildCacheManifest, importCacheManifest, type CacheExportOptions } from './cache-io.js';
import { pushableLayer } from './push-form.js';
import { pushDescriptor, type RegistryCallOptions } from './registry.js';

/** Options of exportCacheRegistry / importCacheRegistry: transport settings, progress, cancellation. */
export interface CacheRegistryOptions extends RegistryCallOptions, reg.UploadOptions {
  /** Include the cache-mount dirs (export only; import restores whatever the manifest holds). */
  cacheMounts?: boolean;
}

const MAX_CONFIG = 64 << 20;

function storeOf(s: Store | string): Store {
  return typeof s === 'string' ? openStore(s) : s;
}

/** Where blobs were last seen (`<root>/registry/sources.json`, written by pull/push), for cross-repository mounts. */
function readSources(store: Store): Record<string, string[]> {
  try {
    return JSON.parse(fs.readFileSync(path.join(store.root, 'registry', 'sources.json'), 'utf8')) as Record<string, string[]>;
  } catch (e) {
    if (isErrno(e, 'ENOENT') || e instanceof SyntaxError) return {};
    throw e;
  }
}

/**
 * Pushes this build's cache to `ref` as one OCI manifest: the config blob lists the step records, the layers
 * are their blobs (plus cache-mount tars with cacheMounts). Blobs the repository has are skipped (HEAD), others
 * are mounted from a repository they came from when possible, else uploaded; the manifest goes last.
 */
export async function exportCacheRegistry(store: Store | string, steps: Array<{ key: Digest; record: CacheRecord }>, ref: string, o: CacheRegistryOptions = {}): Promise<Descriptor> {
  const s = storeOf(store);
  const r = parseReference(ref);
  const exportOpts: CacheExportOptions = { cacheMounts: o.cacheMounts ?? false, ...(o.signal ? { signal: o.signal } : {}) };
  // layers go as an image push sends them (plain build layers gzip-compressed, once per store: push-form.ts)
  const forms = new Map<string, Promise<Descriptor>>();
  const form = (d: Descriptor) => {
    let f = forms.get(d.digest);
    if (!f) forms.set(d.digest, (f = pushableLayer(s, d, o.signal)));
    return f;
  };
  const sent = await Promise.all(steps.map(async (st) => (st.record.layer ? { ...st, record: { ...st.record, layer: { ...st.record.layer, descriptor: await form(st.record.layer.descriptor) } } } : st)));
  const cm = await buildCacheManifest(s, sent, exportOpts);
  const c = reg.RegistryClient.open(r.registry, o);
  try {
    c.addScope(r.repository, ['pull', 'push']);
    const sources = readSources(s);
    const blobs = [...new Map(cm.blobs.map((b) => [b.desc.digest, b])).values()];
    await reg.mapLimit(blobs, o.parallel ?? 4, (b) => pushDescriptor(c, r, b.desc, (start, end) => fs.createReadStream(b.file, { start, end: end - 1, highWaterMark: 1 << 20 }), sources, o));
    await pushDescriptor(c, r, cm.configDesc, (start, end) => Readable.from([cm.config.subarray(start, end)]), {}, o);
    const digest = await reg.putManifest(c, r.repository, r.digest ?? r.tag ?? 'latest', cm.manifestBytes, MediaType.ociManifest);
    return { mediaType: MediaType.ociManifest, digest, size: cm.manifestBytes.length };
  } finally {
    cm.dispose();
    await c.close();
  }
}


/**
 * Pulls the cache manifest at `ref` into the store: records added where missing, their layer blobs
 * downloaded and verified, cache-mount dirs restored where the store has none. A missing manifest is not an
 * error (like buildx): returns 0.
 */
export async function importCacheRegistry(store: Store | string, cache: CacheIndex, ref: string, o: CacheRegistryOptions = {}): Promise<number> {
  const s = storeOf(store);
  const r = parseReference(ref);
  const c = reg.RegistryClient.open(r.registry, o);
  try {
    c.addScope(r.repository, ['pull']);
    let got: reg.FetchedManifest;
    try {
      got = await reg.fetchManifest(c, r.repository, r.digest ?? r.tag ?? 'latest');
    } catch (e) {
      if (isTsbuildError(e, 'TSB_IMAGE_NOT_FOUND')) return 0;
      throw e;
    }
    if (got.mediaType !== MediaType.ociManifest) throw new TsbuildError('TSB_IMAGE_INVALID', `--cache-from ${ref}: not a tsbuild cache manifest (${got.mediaType})`);
    const manifest = JSON.parse(got.bytes.toString('utf8')) as Manifest;
    if (!manifest.config || !Array.isArray(manifest.layers)) throw new TsbuildError('TSB_IMAGE_INVALID', `--cache-from ${ref}: not a tsbuild cache manifest`);
    if (manifest.config.size > MAX_CONFIG) throw new TsbuildError('TSB_IMAGE_INVALID', `--cache-from ${ref}: cache config of ${manifest.config.size} bytes is too large`);
    const chunks: Buffer[] = [];
    for await (const chunk of reg.blobStream(c, r.repository, manifest.config, { backoffMs: o.backoffMs })) chunks.push(chunk as Buffer);
    const added = await importCacheManifest(s, cache, manifest, Buffer.concat(chunks), {
      what: ref,
      parallel: o.parallel ?? 4,
      open: (d) => reg.blobStream(c, r.repository, d, { onProgress: o.onProgress, backoffMs: o.backoffMs, verify: false }), // the store and restore hash it
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return added;
  } finally {
    await c.close();
  }
}
