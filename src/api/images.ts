import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { listImages, resolveImage, writeImage, type StoredImage } from '../image/index.js';
import { gzipWithDiffId } from '../layer/index.js';
import { MediaType, hostPlatform, normalizeName, shortId, type ImageConfig } from '../oci/index.js';
import { openStore, type Store } from '../store/index.js';
import { TsbuildError, isErrno } from '../util/index.js';
import { loadArchive, saveDockerArchive } from '../export/index.js';
import { imageLayers, unpackLayers } from './env.js';
import { sourceDateEpoch } from './build.js';

/** One row of `tsbuild images`. */
export interface ImageSummary {
  name: string;
  id: string;
  digest: string;
  created?: string;
  size: number;
}

function refDescriptor(img: StoredImage) {
  return { mediaType: img.manifest.mediaType ?? MediaType.ociManifest, digest: img.digest, size: img.manifestBytes.length };
}

/** Lists stored images, newest first. */
export async function images(root: string): Promise<ImageSummary[]> {
  const rows = (await listImages(openStore(root))).map(({ name, image }) => ({
    name,
    id: shortId(image.configDigest),
    digest: image.digest,
    created: image.config.created,
    size: image.manifest.layers.reduce((n, l) => n + l.size, 0) + image.configBytes.length,
  }));
  return rows.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.name.localeCompare(b.name));
}

/** Adds a name to an existing image (docker tag SOURCE TARGET). */
export async function tag(root: string, source: string, target: string): Promise<void> {
  const store = openStore(root);
  const img = await resolveImage(store, source);
  await store.setRef(normalizeName(target), refDescriptor(img));
}

/** Removes names (docker rmi); blobs stay until garbage collection. */
export async function rmi(root: string, names: string[]): Promise<string[]> {
  const store = openStore(root);
  const removed: string[] = [];
  for (const name of names) {
    if (await store.removeRef(name)) removed.push(normalizeName(name));
    else {
      const img = await resolveImage(store, name);
      if ((await store.forgetManifest(img.digest)) === 0) throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `no such image: ${name}`);
      removed.push(img.digest);
    }
  }
  return removed;
}

/** The image's manifest and config, as `docker inspect` shows them. */
export async function inspect(root: string, name: string): Promise<{ Id: string; Digest: string; RepoTags: string[]; Config: ImageConfig; Manifest: unknown }> {
  const store = openStore(root);
  const img = await resolveImage(store, name);
  const tags = store.listRefs().filter((r) => r.descriptor.digest === img.digest).map((r) => r.name);
  return { Id: img.configDigest, Digest: img.digest, RepoTags: tags, Config: img.config, Manifest: img.manifest };
}

/** The image's history, newest first, with each layer's size. */
export async function history(root: string, name: string) {
  const img = await resolveImage(openStore(root), name);
  const layers = [...img.manifest.layers];
  const rows = (img.config.history ?? []).map((h) => ({
    created: h.created,
    createdBy: h.created_by ?? '',
    comment: h.comment ?? '',
    size: h.empty_layer ? 0 : layers.shift()?.size ?? 0,
  }));
  return rows.reverse();
}

/** Imports a root filesystem tar (plain or gzip; '-' = stdin) as a one-layer image, like docker import. */
export async function importRootfs(root: string, file: string, name: string, options: { message?: string; signal?: AbortSignal } = {}): Promise<StoredImage> {
  const store = openStore(root);
  let input: Readable;
  if (file === '-') input = process.stdin;
  else {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw new TsbuildError('TSB_USAGE', `import: ${file}: no such file`);
      throw e;
    }
    input = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  }
  const { stream, diffId } = gzipWithDiffId(input);
  const blob = await store.putBlobStream(stream, { signal: options.signal });
  const epoch = sourceDateEpoch(undefined);
  const created = new Date(epoch === undefined ? Date.now() : epoch * 1000).toISOString();
  const p = hostPlatform();
  const config: ImageConfig = {
    created,
    architecture: p.architecture,
    os: p.os,
    config: {},
    rootfs: { type: 'layers', diff_ids: [await diffId] },
    history: [{ created, created_by: `tsbuild import ${file === '-' ? '-' : file}`, comment: options.message ?? 'Imported from a root filesystem tar' }],
  };
  const layer = { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size };
  await unpackLayers(root, [{ diffId: config.rootfs.diff_ids[0]!, descriptor: layer }], options.signal);
  const img = await writeImage(store, config, [layer]);
  await store.setRef(normalizeName(name), refDescriptor(img));
  return img;
}

/** Writes images to a docker-archive file (docker save). */
export async function save(root: string, names: string[], out: string): Promise<void> {
  await saveDockerArchive(openStore(root), names, out);
}

/** Loads a docker-archive or OCI archive (docker load). */
export async function load(root: string, file: string): Promise<string[]> {
  const store = openStore(root);
  const names = await loadArchive(store, file);
  for (const n of names) await unpackLayers(root, imageLayers(await resolveImage(store, n)));
  return names;
}

export type { Store };
