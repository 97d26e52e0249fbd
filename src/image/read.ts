import { type Descriptor, type Digest, type ImageConfig, type Manifest, type Platform, hostPlatform } from '../oci/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError } from '../util/index.js';
import { isIndexMediaType, parseConfig, parseIndex, parseManifest } from './validate.js';

/** An image in the store: raw bytes beside their parsed views (digests are over the bytes). */
export interface StoredImage {
  /** The manifest digest. */
  digest: Digest;
  manifestBytes: Buffer;
  manifest: Manifest;
  /** The config digest: docker's IMAGE ID. */
  configDigest: Digest;
  configBytes: Buffer;
  config: ImageConfig;
}

/** `verify: false` skips re-hashing blobs read from the store (see Store.readBlob). */
export interface ReadOptions {
  verify?: boolean;
}

/** Reads and validates an image (manifest + config) by manifest digest; TSB_IMAGE_INVALID on bad shapes. */
export async function readImage(store: Store, manifestDigest: Digest, o: ReadOptions = {}): Promise<StoredImage> {
  const manifestBytes = await store.readBlob(manifestDigest, o);
  const manifest = parseManifest(manifestBytes);
  const configDigest = manifest.config.digest;
  const configBytes = await store.readBlob(configDigest, o);
  if (configBytes.length !== manifest.config.size) {
    throw new TsbuildError('TSB_IMAGE_INVALID', `config ${configDigest} has ${configBytes.length} bytes, manifest says ${manifest.config.size}`);
  }
  const config = parseConfig(configBytes);
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new TsbuildError('TSB_IMAGE_INVALID', `image ${manifestDigest} has ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`);
  }
  return { digest: manifestDigest, manifestBytes, manifest, configDigest, configBytes, config };
}

/** True when `p` can run on `want` (os + architecture, and variant when both name one). */
export function platformMatches(p: Platform | undefined, want: Platform): boolean {
  if (!p) return false;
  return p.os === want.os && p.architecture === want.architecture && (!p.variant || !want.variant || p.variant === want.variant);
}

/** Reads the image a descriptor points at; for an index, the manifest for `platform` (default: this host). */
export async function imageFromDescriptor(store: Store, desc: Descriptor, platform: Platform = hostPlatform(), o: ReadOptions = {}): Promise<StoredImage> {
  if (!isIndexMediaType(desc.mediaType)) return readImage(store, desc.digest, o);
  const index = parseIndex(await store.readBlob(desc.digest, o));
  const pick = index.manifests.find((m) => platformMatches(m.platform, platform));
  if (!pick) {
    throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `image index ${desc.digest} has no manifest for ${platform.os}/${platform.architecture}`, {
      hint: 'pull or build the image for this platform',
    });
  }
  return imageFromDescriptor(store, pick, platform, o);
}
