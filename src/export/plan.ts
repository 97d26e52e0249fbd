import { type Descriptor, type Digest, type ImageIndex, MediaType, REF_NAME_ANNOTATION, digestHex, fullName, parseReference } from '../oci/index.js';
import { type StoredImage, configPlatform, resolveImage } from '../image/index.js';
import type { Store } from '../store/index.js';
import { isTsbuildError } from '../util/index.js';

/** The containerd/docker annotation carrying the fully qualified image name. */
export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';

/** One docker-archive manifest.json record. */
export interface DockerArchiveEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** What an archive of some images contains: blobs (sorted), an OCI index and docker's manifest.json. */
export interface ArchivePlan {
  blobs: Array<{ digest: Digest; size: number }>;
  index: ImageIndex;
  dockerManifest: DockerArchiveEntry[];
}

/** The archive path of a blob, as in an OCI layout. */
export function blobEntry(d: Digest): string {
  return `blobs/sha256/${digestHex(d)}`;
}

/** The tag a user-typed name stands for, when it names a tag in the store (not an id or digest). */
function tagOf(store: Store, name: string): string | undefined {
  try {
    const ref = parseReference(name);
    if (ref.digest !== undefined) return undefined;
    return store.resolveRef(name)?.annotations?.[REF_NAME_ANNOTATION];
  } catch (e) {
    if (isTsbuildError(e, 'TSB_REFERENCE_INVALID')) return undefined;
    throw e;
  }
}

/** Resolves names (tags or ids) to images and lays out what an archive of them holds. */
export async function planArchive(store: Store, names: string[]): Promise<ArchivePlan> {
  const blobs = new Map<string, { digest: Digest; size: number }>();
  const manifests: Descriptor[] = [];
  const byImage = new Map<string, DockerArchiveEntry>();
  const dockerManifest: DockerArchiveEntry[] = [];
  const add = (d: Descriptor) => blobs.set(d.digest, { digest: d.digest, size: d.size });
  for (const name of names) {
    const image: StoredImage = await resolveImage(store, name);
    const tag = tagOf(store, name);
    add(image.manifest.config);
    image.manifest.layers.forEach(add);
    blobs.set(image.digest, { digest: image.digest, size: image.manifestBytes.length });
    const desc: Descriptor = { mediaType: image.manifest.mediaType ?? MediaType.ociManifest, digest: image.digest, size: image.manifestBytes.length };
    if (tag !== undefined) desc.annotations = { [IMAGE_NAME_ANNOTATION]: fullName(parseReference(tag)), [REF_NAME_ANNOTATION]: tag };
    desc.platform = configPlatform(image.config);
    const dup = manifests.some((m) => m.digest === desc.digest && m.annotations?.[REF_NAME_ANNOTATION] === tag);
    if (!dup) manifests.push(desc);
    let entry = byImage.get(image.digest);
    if (!entry) {
      entry = { Config: blobEntry(image.configDigest), RepoTags: [], Layers: image.manifest.layers.map((l) => blobEntry(l.digest)) };
      byImage.set(image.digest, entry);
      dockerManifest.push(entry);
    }
    if (tag !== undefined && !entry.RepoTags.includes(tag)) entry.RepoTags.push(tag);
  }
  return {
    blobs: [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0)),
    index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests },
    dockerManifest,
  };
}
