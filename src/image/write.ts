import { type Descriptor, type ImageConfig, type Manifest, MediaType, type Platform } from '../oci/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError } from '../util/index.js';
import type { StoredImage } from './read.js';
import { canonicalJson, parseConfig, parseManifest } from './validate.js';

function plainDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations && Object.keys(d.annotations).length > 0) out.annotations = { ...d.annotations };
  return out;
}

/** The platform an image config describes. */
export function configPlatform(config: ImageConfig): Platform {
  const p: Platform = { architecture: config.architecture, os: config.os };
  if (config.variant) p.variant = config.variant;
  return p;
}

/** Stores config + OCI manifest (canonical JSON) for layers already in the store, and records the image
 * untagged in index.json so it is findable by id; tag it with store.setRef. */
export async function writeImage(store: Store, config: ImageConfig, layers: Descriptor[]): Promise<StoredImage> {
  return writeImageBytes(store, Buffer.from(canonicalJson(config)), layers);
}

/** Like writeImage but keeps the config bytes as given (a loaded image keeps its IMAGE ID). */
export async function writeImageBytes(store: Store, configBytes: Buffer, layers: Descriptor[]): Promise<StoredImage> {
  const config = parseConfig(configBytes);
  if (config.rootfs.diff_ids.length !== layers.length) {
    throw new TsbuildError('TSB_IMAGE_INVALID', `image config lists ${config.rootfs.diff_ids.length} diff_ids for ${layers.length} layers`);
  }
  for (const l of layers) {
    if (!store.hasBlob(l.digest)) throw new TsbuildError('TSB_IMAGE_INVALID', `layer ${l.digest} is not in the store`, { hint: 'store layer blobs before writing the image' });
  }
  const c = await store.putBlob(configBytes);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: c.digest, size: c.size },
    layers: layers.map(plainDescriptor),
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  const m = await store.putBlob(manifestBytes);
  await store.recordImage({ mediaType: MediaType.ociManifest, digest: m.digest, size: m.size, platform: configPlatform(config) });
  return { digest: m.digest, manifestBytes, manifest: parseManifest(manifestBytes), configDigest: c.digest, configBytes, config };
}
