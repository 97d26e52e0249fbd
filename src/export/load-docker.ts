import { type Descriptor, type ImageConfig, digestHex, normalizeName } from '../oci/index.js';
import { type StoredImage, configPlatform, parseConfig, writeImageBytes } from '../image/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError } from '../util/index.js';
import { type ArchiveContents, type Member, commitMember, memberBytes, safeMemberName } from './archive-read.js';
import { diffIdOf, expectDigest, layerMediaType, sniffCompression } from './layers.js';

interface DockerEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function invalid(message: string): TsbuildError {
  return new TsbuildError('TSB_ARCHIVE_INVALID', message, { hint: 'expected a docker save / podman save archive' });
}

/** Parses and shape-checks docker's manifest.json. */
export async function readDockerManifest(m: Member): Promise<DockerEntry[]> {
  let v: unknown;
  try {
    v = JSON.parse((await memberBytes(m)).toString('utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw invalid('manifest.json is not valid JSON');
    throw e;
  }
  if (!Array.isArray(v)) throw invalid('manifest.json is not an array');
  return v.map((x: Partial<DockerEntry>, i) => {
    const ok = typeof x === 'object' && x !== null && typeof x.Config === 'string' && Array.isArray(x.Layers) && x.Layers.every((l) => typeof l === 'string');
    const tags = x?.RepoTags ?? [];
    if (!ok || !Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw invalid(`manifest.json entry ${i} is malformed`);
    return { Config: x.Config!, Layers: x.Layers!, RepoTags: tags };
  });
}

/** Looks a referenced member up; names that carry a content digest (`<hex>.json`, `blobs/sha256/<hex>`) are verified. */
export function member(contents: ArchiveContents, ref: string): Member {
  const name = safeMemberName(ref);
  const m = contents.get(name);
  if (!m) throw invalid(`archive is missing ${ref}`);
  const named = /(?:^|\/)(?:sha256\/)?([a-f0-9]{64})(?:\.json|\.tar)?$/.exec(name);
  if (named && (name.startsWith('blobs/') || !name.includes('/'))) expectDigest(ref, `sha256:${named[1]!}` as Member['digest'], m.digest);
  return m;
}

/** Verifies and stores the layers of one image; returns their OCI descriptors. */
export async function storeLayers(store: Store, contents: ArchiveContents, refs: string[], config: ImageConfig): Promise<Descriptor[]> {
  if (refs.length !== config.rootfs.diff_ids.length) throw invalid(`image has ${refs.length} layers but its config lists ${config.rootfs.diff_ids.length}`);
  const out: Descriptor[] = [];
  for (const [i, ref] of refs.entries()) {
    const m = member(contents, ref);
    const kind = await sniffCompression(m);
    expectDigest(`layer ${ref} diff id`, config.rootfs.diff_ids[i]!, await diffIdOf(m, kind));
    await commitMember(store, m);
    out.push({ mediaType: layerMediaType(kind), digest: m.digest, size: m.size });
  }
  return out;
}

/** Loads the images of a docker-archive (manifest.json); returns their names, or IMAGE IDs for untagged ones. */
export async function loadDockerArchive(store: Store, contents: ArchiveContents, manifestJson: Member): Promise<string[]> {
  const loaded: Array<{ image: StoredImage; tags: string[] }> = [];
  for (const entry of await readDockerManifest(manifestJson)) {
    const configBytes = await memberBytes(member(contents, entry.Config));
    const layers = await storeLayers(store, contents, entry.Layers, parseConfig(configBytes));
    const tags = entry.RepoTags.map((t) => normalizeName(t));
    loaded.push({ image: await writeImageBytes(store, configBytes, layers), tags });
  }
  const names: string[] = [];
  for (const { image, tags } of loaded) {
    const desc: Descriptor = { mediaType: image.manifest.mediaType!, digest: image.digest, size: image.manifestBytes.length };
    for (const t of tags) await store.setRef(t, { ...desc, platform: configPlatform(image.config) });
    names.push(...(tags.length > 0 ? tags : [`sha256:${digestHex(image.configDigest)}`]));
  }
  return names;
}
