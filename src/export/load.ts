import { type Descriptor, REF_NAME_ANNOTATION, digestHex, hostPlatform, normalizeName } from '../oci/index.js';
import { configPlatform, isIndexMediaType, parseConfig, parseIndex, parseManifest, platformMatches } from '../image/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError, isTsbuildError } from '../util/index.js';
import { type ArchiveContents, type Member, commitMember, memberBytes, readArchive } from './archive-read.js';
import { expectDigest } from './layers.js';
import { loadDockerArchive, member, readDockerManifest, storeLayers } from './load-docker.js';
import { IMAGE_NAME_ANNOTATION } from './plan.js';

/** The member holding a descriptor's blob, checked against its digest and size. */
function blobMember(contents: ArchiveContents, d: Descriptor): Member {
  const m = contents.get(`blobs/sha256/${digestHex(d.digest)}`);
  if (!m) throw new TsbuildError('TSB_ARCHIVE_INVALID', `OCI archive is missing blob ${d.digest}`);
  expectDigest(`blob ${d.digest}`, d.digest, m.digest);
  if (m.size !== d.size) throw new TsbuildError('TSB_DIGEST_MISMATCH', `blob ${d.digest} has ${m.size} bytes, its descriptor says ${d.size}`);
  return m;
}

/** The image manifest an index entry stands for (for a nested index: the one for this host). */
async function pickManifest(contents: ArchiveContents, d: Descriptor, depth = 0): Promise<Descriptor> {
  if (!isIndexMediaType(d.mediaType)) return d;
  if (depth > 4) throw new TsbuildError('TSB_ARCHIVE_INVALID', 'OCI index nesting is too deep');
  const index = parseIndex(await memberBytes(blobMember(contents, d)));
  const host = hostPlatform();
  const pick = index.manifests.find((m) => platformMatches(m.platform, host));
  if (!pick) throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `the archive has no image for ${host.os}/${host.architecture}`);
  return pickManifest(contents, pick, depth + 1);
}

/** The name an OCI index entry carries: the containerd full name, else ref.name when it is a valid reference. */
function entryName(d: Descriptor): string | undefined {
  for (const key of [IMAGE_NAME_ANNOTATION, REF_NAME_ANNOTATION]) {
    const v = d.annotations?.[key];
    if (v === undefined) continue;
    try {
      return normalizeName(v);
    } catch (e) {
      if (!isTsbuildError(e, 'TSB_REFERENCE_INVALID')) throw e;
    }
  }
  return undefined;
}

/** Loads an OCI layout archive (bytes kept as-is, so manifest digests survive); docker RepoTags add names. */
async function loadOci(store: Store, contents: ArchiveContents): Promise<string[]> {
  const index = parseIndex(await memberBytes(contents.get('index.json')!));
  const dockerJson = contents.get('manifest.json');
  const repoTags = new Map<string, string[]>();
  if (dockerJson) for (const e of await readDockerManifest(dockerJson)) repoTags.set(member(contents, e.Config).digest, e.RepoTags);
  const images = new Map<string, { desc: Descriptor; names: Set<string>; id: string }>();
  for (const entry of index.manifests) {
    const desc = await pickManifest(contents, entry);
    let image = images.get(desc.digest);
    if (!image) {
      const manifestMember = blobMember(contents, desc);
      const manifest = parseManifest(await memberBytes(manifestMember));
      const configMember = blobMember(contents, manifest.config);
      const config = parseConfig(await memberBytes(configMember));
      await storeLayers(store, contents, manifest.layers.map((l) => blobMember(contents, l).name), config);
      await commitMember(store, configMember);
      await commitMember(store, manifestMember);
      const stored: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, platform: desc.platform ?? configPlatform(config) };
      image = { desc: stored, names: new Set((repoTags.get(configMember.digest) ?? []).map((t) => normalizeName(t))), id: manifest.config.digest };
      images.set(desc.digest, image);
    }
    const name = entryName(entry);
    if (name !== undefined) image.names.add(name);
  }
  const loaded: string[] = [];
  for (const { desc, names, id } of images.values()) {
    if (names.size === 0) await store.recordImage(desc);
    for (const n of names) await store.setRef(n, desc);
    loaded.push(...(names.size > 0 ? names : [id]));
  }
  return [...new Set(loaded)];
}

/** Loads a docker-archive (manifest.json) or OCI archive (oci-layout + index.json), plain tar or gzip, verifying
 * every digest; stores images and names; returns the names loaded (IMAGE IDs for untagged images). */
export async function loadArchive(store: Store, input: string, opts: { signal?: AbortSignal } = {}): Promise<string[]> {
  const contents = await readArchive(store, input, opts.signal);
  try {
    if (contents.get('oci-layout') && contents.get('index.json')) return await loadOci(store, contents);
    const dockerJson = contents.get('manifest.json');
    if (dockerJson) return await loadDockerArchive(store, contents, dockerJson);
    throw new TsbuildError('TSB_ARCHIVE_INVALID', `${input} is neither a docker archive nor an OCI archive`, {
      hint: 'expected manifest.json (docker save) or oci-layout + index.json (OCI)',
    });
  } finally {
    contents.discard();
  }
}
