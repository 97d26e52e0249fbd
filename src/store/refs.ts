import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Descriptor, type ImageIndex, MediaType, REF_NAME_ANNOTATION, isDigest, normalizeName, parseReference } from '../oci/index.js';
import { TsbuildError, writeFileAtomic } from '../util/index.js';

// index.json holds one manifest descriptor per (name, image): tagged entries carry the ref.name annotation
// (the normalized familiar name); an image with no name yet (a build result, or one whose last name moved
// to another image) keeps one entry without the annotation, so it stays reachable by id and by GC roots.

function corrupt(file: string, why: string): TsbuildError {
  return new TsbuildError('TSB_STORE_CORRUPT', `${file}: ${why}`, { hint: 'the store index is damaged; restore it or remove the store directory' });
}

/** Reads and shape-checks `<root>/index.json`. */
export function readIndex(root: string): ImageIndex {
  const file = path.join(root, 'index.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw corrupt(file, 'not valid JSON');
    throw e;
  }
  const idx = parsed as ImageIndex;
  if (typeof parsed !== 'object' || parsed === null || idx.schemaVersion !== 2 || !Array.isArray(idx.manifests)) throw corrupt(file, 'not an OCI image index');
  for (const m of idx.manifests) {
    if (typeof m !== 'object' || m === null || typeof m.mediaType !== 'string' || !isDigest(String(m.digest)) || !Number.isSafeInteger(m.size)) {
      throw corrupt(file, 'bad manifest descriptor');
    }
  }
  return idx;
}

/** Replaces `<root>/index.json` atomically (call under the index lock). */
export function writeIndex(root: string, idx: ImageIndex): void {
  const sorted = [...idx.manifests].sort((a, b) => {
    const an = refName(a) ?? '\uffff';
    const bn = refName(b) ?? '\uffff';
    return an < bn ? -1 : an > bn ? 1 : a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
  });
  writeFileAtomic(path.join(root, 'index.json'), `${JSON.stringify({ ...idx, manifests: sorted })}\n`);
}

/** An empty OCI index. */
export function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

/** The ref.name annotation of an index entry. */
export function refName(d: Descriptor): string | undefined {
  return d.annotations?.[REF_NAME_ANNOTATION];
}

/** Normalizes a user-typed name for tagging; digests are not tags. */
export function tagName(name: string): string {
  const ref = parseReference(name);
  if (ref.digest !== undefined) throw new TsbuildError('TSB_REFERENCE_INVALID', `cannot tag with a digest reference "${name}"`, { hint: 'use NAME[:TAG]' });
  return normalizeName(name);
}

function entry(desc: Descriptor, name: string | undefined): Descriptor {
  const annotations = { ...desc.annotations };
  delete annotations[REF_NAME_ANNOTATION];
  if (name !== undefined) annotations[REF_NAME_ANNOTATION] = name;
  const out: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (Object.keys(annotations).length > 0) out.annotations = annotations;
  if (desc.platform) out.platform = { ...desc.platform };
  return out;
}

/** Keeps a manifest reachable: adds an untagged entry when no entry refers to it. */
function keepReachable(manifests: Descriptor[], old: Descriptor): void {
  if (!manifests.some((m) => m.digest === old.digest)) manifests.push(entry(old, undefined));
}

/** Points `name` (normalized) at `desc`; the image it left, if now nameless, stays as an untagged entry. */
export function applySetRef(idx: ImageIndex, name: string, desc: Descriptor): ImageIndex {
  const previous = idx.manifests.filter((m) => refName(m) === name);
  const manifests = idx.manifests.filter((m) => refName(m) !== name && !(m.digest === desc.digest && refName(m) === undefined));
  manifests.push(entry(desc, name));
  for (const p of previous) keepReachable(manifests, p);
  return { ...idx, manifests };
}

/** Removes the entry for `name` (docker rmi of a tag: the image goes when its last name does). */
export function applyRemoveRef(idx: ImageIndex, name: string): { index: ImageIndex; removed: boolean } {
  const manifests = idx.manifests.filter((m) => refName(m) !== name);
  return { index: { ...idx, manifests }, removed: manifests.length !== idx.manifests.length };
}

/** Adds an untagged entry for `desc` unless the index already refers to its digest. */
export function applyRecord(idx: ImageIndex, desc: Descriptor): ImageIndex {
  const manifests = [...idx.manifests];
  keepReachable(manifests, desc);
  return { ...idx, manifests };
}
