import { type Descriptor, type ImageConfig, type ImageIndex, type Manifest, MediaType, type Platform, isDigest } from '../oci/index.js';
import { TsbuildError } from '../util/index.js';

type Json = Record<string, unknown>;

function invalid(what: string, why: string): TsbuildError {
  return new TsbuildError('TSB_IMAGE_INVALID', `invalid ${what}: ${why}`);
}

function parseObject(bytes: Uint8Array | string, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalid(what, 'not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(what, 'not a JSON object');
  return v as Json;
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function checkPlatform(v: unknown, what: string): Platform {
  const p = v as Json;
  if (typeof p !== 'object' || p === null || typeof p.os !== 'string' || typeof p.architecture !== 'string') throw invalid(what, 'bad platform');
  if (p.variant !== undefined && typeof p.variant !== 'string') throw invalid(what, 'bad platform variant');
  return p as unknown as Platform;
}

/** Shape-checks a descriptor object. */
export function checkDescriptor(v: unknown, what: string): Descriptor {
  const d = v as Json;
  if (typeof d !== 'object' || d === null) throw invalid(what, 'descriptor is not an object');
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw invalid(what, 'descriptor without mediaType');
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) throw invalid(what, `bad digest ${JSON.stringify(d.digest)}`);
  if (!Number.isSafeInteger(d.size) || (d.size as number) < 0) throw invalid(what, 'bad size');
  if (d.annotations !== undefined && !isStringMap(d.annotations)) throw invalid(what, 'bad annotations');
  if (d.platform !== undefined) checkPlatform(d.platform, what);
  return d as unknown as Descriptor;
}

const MANIFEST_TYPES: ReadonlySet<string> = new Set([MediaType.ociManifest, MediaType.dockerManifest]);
const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.ociIndex, MediaType.dockerManifestList]);

/** True for index / manifest-list media types. */
export function isIndexMediaType(t: string | undefined): boolean {
  return t !== undefined && INDEX_TYPES.has(t);
}

/** True for single-image manifest media types. */
export function isManifestMediaType(t: string | undefined): boolean {
  return t !== undefined && MANIFEST_TYPES.has(t);
}

/** Parses an image manifest (OCI or Docker schema 2). */
export function parseManifest(bytes: Uint8Array | string): Manifest {
  const m = parseObject(bytes, 'manifest');
  if (m.schemaVersion !== 2) throw invalid('manifest', 'schemaVersion is not 2');
  if (m.mediaType !== undefined && !isManifestMediaType(m.mediaType as string)) throw invalid('manifest', `unexpected mediaType ${String(m.mediaType)}`);
  checkDescriptor(m.config, 'manifest config');
  if (!Array.isArray(m.layers)) throw invalid('manifest', 'layers is not an array');
  m.layers.forEach((l, i) => checkDescriptor(l, `manifest layer ${i}`));
  if (m.annotations !== undefined && !isStringMap(m.annotations)) throw invalid('manifest', 'bad annotations');
  return m as unknown as Manifest;
}

/** Parses an image index / manifest list. */
export function parseIndex(bytes: Uint8Array | string): ImageIndex {
  const x = parseObject(bytes, 'index');
  if (x.schemaVersion !== 2) throw invalid('index', 'schemaVersion is not 2');
  if (!Array.isArray(x.manifests)) throw invalid('index', 'manifests is not an array');
  x.manifests.forEach((d, i) => checkDescriptor(d, `index entry ${i}`));
  return x as unknown as ImageIndex;
}

/** Parses an image config; a missing `config` section becomes `{}` in the parsed view. */
export function parseConfig(bytes: Uint8Array | string): ImageConfig {
  const c = parseObject(bytes, 'image config');
  if (typeof c.architecture !== 'string' || typeof c.os !== 'string') throw invalid('image config', 'architecture/os missing');
  const rootfs = c.rootfs as Json | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) throw invalid('image config', 'bad rootfs');
  for (const d of rootfs.diff_ids) if (typeof d !== 'string' || !isDigest(d)) throw invalid('image config', `bad diff_id ${JSON.stringify(d)}`);
  if (c.config === undefined || c.config === null) c.config = {};
  if (typeof c.config !== 'object' || Array.isArray(c.config)) throw invalid('image config', 'config is not an object');
  if (c.history !== undefined && !Array.isArray(c.history)) throw invalid('image config', 'history is not an array');
  return c as unknown as ImageConfig;
}

/** Deterministic JSON: object keys sorted recursively, undefined dropped, no whitespace. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const out: Json = {};
    for (const k of Object.keys(v).sort()) out[k] = (v as Json)[k];
    return out;
  });
}
