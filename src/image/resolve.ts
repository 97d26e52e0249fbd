import { type Descriptor, type Digest, REF_NAME_ANNOTATION, digestHex, isDigest, parseReference } from '../oci/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError, isTsbuildError } from '../util/index.js';
import { type ReadOptions, type StoredImage, imageFromDescriptor, readImage } from './read.js';

/** The name listImages gives an image without a tag (as docker shows it). */
export const UNTAGGED = '<none>:<none>';

/** The image of an index entry, or undefined for an image index without a manifest for this host. */
async function imageForHost(store: Store, desc: Descriptor): Promise<StoredImage | undefined> {
  try {
    return await imageFromDescriptor(store, desc);
  } catch (e) {
    if (isTsbuildError(e, 'TSB_IMAGE_NOT_FOUND')) return undefined;
    throw e;
  }
}

/** Images whose manifest digest or config digest (IMAGE ID) starts with `hexPrefix`. */
async function byIdPrefix(store: Store, hexPrefix: string): Promise<StoredImage[]> {
  const seen = new Map<string, StoredImage>();
  for (const desc of store.listManifests()) {
    if (seen.has(desc.digest)) continue;
    const image = await imageForHost(store, desc);
    if (!image) continue;
    if (digestHex(image.configDigest).startsWith(hexPrefix) || digestHex(desc.digest).startsWith(hexPrefix) || digestHex(image.digest).startsWith(hexPrefix)) {
      seen.set(desc.digest, image);
    }
  }
  const byConfig = new Map<string, StoredImage>();
  for (const img of seen.values()) byConfig.set(img.configDigest, img);
  return [...byConfig.values()];
}

function notFound(store: Store, input: string): TsbuildError {
  let similar: string[] = [];
  try {
    const repo = parseReference(input).repository;
    similar = store.listRefs().map((r) => r.name).filter((n) => parseReference(n).repository === repo);
  } catch (e) {
    if (!isTsbuildError(e, 'TSB_REFERENCE_INVALID')) throw e;
  }
  const hint = similar.length > 0 ? `did you mean ${similar.slice(0, 3).join(', ')}?` : 'run `tsbuild images` to list local images, or pull it first';
  return new TsbuildError('TSB_IMAGE_NOT_FOUND', `no such image: ${input}`, { hint });
}

/** Finds an image by name ("app", "app:1", "app@sha256:…") or by a prefix of its IMAGE ID / manifest digest. */
export async function resolveImage(store: Store, nameOrId: string, o: ReadOptions = {}): Promise<StoredImage> {
  const input = nameOrId.trim();
  let refError: unknown;
  if (!isDigest(input)) {
    try {
      const ref = parseReference(input);
      if (ref.digest !== undefined) {
        const d = ref.digest as Digest;
        const entry = store.listManifests().find((x) => x.digest === d);
        if (entry) return imageFromDescriptor(store, entry, undefined, o);
        if (store.hasBlob(d)) return readImage(store, d, o);
        throw notFound(store, input);
      }
      const desc = store.resolveRef(input);
      if (desc) return imageFromDescriptor(store, desc, undefined, o);
    } catch (e) {
      if (!isTsbuildError(e, 'TSB_REFERENCE_INVALID')) throw e;
      refError = e;
    }
  }
  const m = /^(?:sha256:)?([a-f0-9]{1,64})$/.exec(input);
  if (m) {
    const found = await byIdPrefix(store, m[1]!);
    if (found.length === 1) return found[0]!;
    if (found.length > 1) {
      throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `image id prefix "${input}" is ambiguous (${found.length} images)`, { hint: 'type more characters of the IMAGE ID' });
    }
  }
  throw refError ?? notFound(store, input);
}

/** Every image in the store with its name (untagged ones as UNTAGGED); indexes with no image for this host are left out. */
export async function listImages(store: Store): Promise<Array<{ name: string; image: StoredImage }>> {
  const out: Array<{ name: string; image: StoredImage }> = [];
  const cache = new Map<string, StoredImage>();
  for (const desc of store.listManifests() as Descriptor[]) {
    const image = cache.get(desc.digest) ?? (await imageForHost(store, desc));
    if (!image) continue;
    cache.set(desc.digest, image);
    out.push({ name: desc.annotations?.[REF_NAME_ANNOTATION] ?? UNTAGGED, image });
  }
  return out;
}
