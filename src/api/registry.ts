import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import * as path from 'node:path';
import { type StoredImage, canonicalJson, parseManifest, readImage, resolveImage } from '../image/index.js';
import { type Descriptor, type Digest, MediaType, type Platform, type Reference, familiarName, hostPlatform, normalizeName, parseReference } from '../oci/index.js';
import * as reg from '../registry/index.js';
import { type Store, openStore } from '../store/index.js';
import { TsbuildError, isErrno } from '../util/index.js';
import { imageLayers, unpackLayers } from './env.js';
import { pushableLayer } from './push-form.js';

/** Options of pullImage / pushImages: transport settings plus progress and cancellation. */
export interface RegistryCallOptions extends reg.RegistryOptions {
  /** A progress event per blob (pull.progress / push.progress). */
  onProgress?: (p: reg.BlobProgress) => void;
  /** Blobs transferred at once (default 4). */
  parallel?: number;
}

/** Options of pullImage. */
export interface PullOptions extends RegistryCallOptions {
  /** os/arch[/variant]; default this host. */
  platform?: string;
  /** Unpack the layers into snapshots after the download (default true, as docker pull does). */
  unpack?: boolean;
}

/** Parses `--platform os/arch[/variant]`. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant, extra] = s.split('/');
  if (!os || !architecture || extra !== undefined) throw new TsbuildError('TSB_USAGE', `invalid platform "${s}"`, { hint: 'use os/arch[/variant], e.g. linux/amd64 or linux/arm/v7' });
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Where each blob was last seen (registry/repository), so a push can mount instead of upload: `<root>/registry/sources.json`. */
function sourcesFile(store: Store): string {
  return path.join(store.root, 'registry', 'sources.json');
}

function readSources(store: Store): Record<string, string[]> {
  try {
    return JSON.parse(fs.readFileSync(sourcesFile(store), 'utf8')) as Record<string, string[]>;
  } catch (e) {
    if (isErrno(e, 'ENOENT') || e instanceof SyntaxError) return {};
    throw e;
  }
}

async function recordSources(store: Store, ref: Reference, digests: Digest[]): Promise<void> {
  const where = `${ref.registry}/${ref.repository}`;
  await store.withLock('registry-sources', async () => {
    const s = readSources(store);
    for (const d of digests) s[d] = [where, ...(s[d] ?? []).filter((x) => x !== where)].slice(0, 8);
    fs.mkdirSync(path.dirname(sourcesFile(store)), { recursive: true });
    const tmp = `${sourcesFile(store)}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(s));
    fs.renameSync(tmp, sourcesFile(store));
  });
}

/** Downloads one blob into the store unless present; the store re-verifies the digest, so nothing unverified lands. */
async function fetchBlob(store: Store, c: reg.RegistryClient, repo: string, d: Descriptor, o: RegistryCallOptions): Promise<void> {
  if (store.hasBlob(d.digest)) {
    o.onProgress?.({ type: 'pull.progress', digest: d.digest, current: d.size, total: d.size, status: 'exists' });
    return;
  }
  o.onProgress?.({ type: 'pull.progress', digest: d.digest, current: 0, total: d.size, status: 'waiting' });
  await store.putBlobStream(reg.blobStream(c, repo, d, { onProgress: o.onProgress, backoffMs: o.backoffMs, verify: false }), { expected: d.digest, signal: o.signal });
}

/** Pulls NAME (tag or digest; docker.io names normalized) into the store: verified blobs, then the tag, then unpacked layers. */
export async function pullImage(root: string, name: string, o: PullOptions = {}): Promise<StoredImage> {
  const ref = parseReference(name);
  const store = openStore(root);
  const c = reg.RegistryClient.open(ref.registry, o);
  try {
    c.addScope(ref.repository, ['pull']);
    const platform = o.platform ? parsePlatform(o.platform) : hostPlatform();
    const got = await reg.resolveManifest(c, ref.repository, ref.digest ?? ref.tag ?? 'latest', platform);
    const manifest = parseManifest(got.manifest.bytes);
    // the config with the layers, not before them: one round trip less, and it is small
    await reg.mapLimit([manifest.config, ...manifest.layers], o.parallel ?? 4, (d) => fetchBlob(store, c, ref.repository, d, o));
    if (got.index) await store.putBlob(got.index.bytes, got.index.digest);
    await store.putBlob(got.manifest.bytes, got.manifest.digest);
    const img = await readImage(store, got.manifest.digest);
    await recordSources(store, ref, [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]);
    if (o.unpack !== false) await unpackLayers(root, imageLayers(img), o.signal);
    const desc: Descriptor = { mediaType: got.manifest.mediaType, digest: got.manifest.digest, size: got.manifest.bytes.length, platform: { os: img.config.os, architecture: img.config.architecture, ...(img.config.variant ? { variant: img.config.variant } : {}) } };
    if (ref.tag !== undefined) await store.setRef(familiarName({ ...ref, digest: undefined }), desc);
    else await store.recordImage(desc);
    return img;
  } finally {
    await c.close();
  }
}

/** The result of pushing one name. */
export interface PushResult {
  name: string;
  digest: Digest;
  size: number;
}

/**
 * Puts one blob into a repository the cheapest way: already there (HEAD), mounted from another repository
 * on the same registry that `sources` says holds it, or a chunked upload of `open(start, end)`.
 */
export async function pushDescriptor(
  c: reg.RegistryClient,
  ref: Reference,
  d: Descriptor,
  open: (start: number, end: number) => Readable,
  sources: Record<string, string[]>,
  o: RegistryCallOptions & reg.UploadOptions,
): Promise<void> {
  const report = (status: reg.BlobProgress['status']) => o.onProgress?.({ type: 'push.progress', digest: d.digest, current: d.size, total: d.size, status });
  if (await reg.blobExists(c, ref.repository, d.digest)) return report('exists');
  for (const src of sources[d.digest] ?? []) {
    const slash = src.indexOf('/');
    const [registry, repo] = [src.slice(0, slash), src.slice(slash + 1)];
    if (registry !== ref.registry || repo === ref.repository) continue;
    if (await reg.mountBlob(c, ref.repository, d.digest, repo)) return report('mounted');
  }
  await reg.uploadBlob(c, ref.repository, d, open, o);
}

async function pushBlob(store: Store, c: reg.RegistryClient, ref: Reference, d: Descriptor, sources: Record<string, string[]>, o: RegistryCallOptions & reg.UploadOptions): Promise<void> {
  if (!store.hasBlob(d.digest)) throw new TsbuildError('TSB_STORE_CORRUPT', `blob ${d.digest} is missing from the store`, { hint: 'pull or build the image again' });
  const file = store.blobPath(d.digest);
  await pushDescriptor(c, ref, d, (start, end) => fs.createReadStream(file, { start, end: end - 1, highWaterMark: 1 << 20 }), sources, o);
}

/** Pushes images by their names (registry/repo:tag); blobs once per repository (HEAD, mount or chunked upload), manifests last. */
export async function pushImages(root: string, names: string[], o: RegistryCallOptions & reg.UploadOptions = {}): Promise<PushResult[]> {
  const store = openStore(root);
  const sources = readSources(store);
  const groups = new Map<string, Array<{ ref: Reference; name: string; img: StoredImage }>>();
  for (const name of names) {
    const ref = parseReference(name);
    const img = await resolveImage(store, name);
    const key = `${ref.registry}/${ref.repository}`;
    groups.set(key, [...(groups.get(key) ?? []), { ref, name: normalizeName(name), img }]);
  }
  const out: PushResult[] = [];
  for (const items of groups.values()) {
    const ref = items[0]!.ref;
    const c = reg.RegistryClient.open(ref.registry, o);
    try {
      c.addScope(ref.repository, ['pull', 'push']);
      // plain build layers go compressed (push-form.ts): the pushed manifest names what was sent. A push by
      // digest sends that very manifest, layers as stored: a rewritten one would not have the digest named.
      const forms = new Map<string, Descriptor>();
      for (const { ref: r, img } of items) if (r.digest === undefined) for (const l of img.manifest.layers) forms.set(l.digest, l);
      await reg.mapLimit([...forms.values()], Math.min(2, o.parallel ?? 2), async (l) => void forms.set(l.digest, await pushableLayer(store, l, o.signal)));
      const pushed = items.map(({ ref: r, name, img }) => {
        const layers = r.digest === undefined ? img.manifest.layers.map((l) => forms.get(l.digest)!) : img.manifest.layers;
        if (img.manifest.layers.every((l, i) => layers[i] === l)) return { ref: r, name, img, layers, bytes: img.manifestBytes };
        const manifest = { ...img.manifest, layers: layers.map((d, i) => ({ ...d, ...(img.manifest.layers[i]!.annotations ? { annotations: img.manifest.layers[i]!.annotations } : {}) })) };
        return { ref: r, name, img, layers, bytes: Buffer.from(canonicalJson(manifest)) };
      });
      const blobs = new Map<string, Descriptor>();
      for (const { img, layers } of pushed) for (const d of [img.manifest.config, ...layers]) blobs.set(d.digest, d);
      await reg.mapLimit([...blobs.values()], o.parallel ?? 4, (d) => pushBlob(store, c, ref, d, sources, o));
      await recordSources(store, ref, [...blobs.keys()] as Digest[]);
      for (const { ref: r, name, img, bytes } of pushed) {
        const mediaType = img.manifest.mediaType ?? MediaType.ociManifest;
        const digest = await reg.putManifest(c, r.repository, r.digest ?? r.tag ?? 'latest', bytes, mediaType);
        out.push({ name, digest, size: bytes.length });
      }
    } finally {
      await c.close();
    }
  }
  return out;
}

/** Checks credentials against the registry (GET /v2/ through its auth flow) and saves them like docker login. */
export async function login(registry: string, creds: reg.Credentials, o: reg.RegistryOptions = {}): Promise<void> {
  const host = registryName(registry);
  const c = reg.RegistryClient.open(host, o, creds);
  try {
    await c.ping();
  } finally {
    await c.close();
  }
  await reg.storeCredentials(host, creds, o);
}

/** Removes saved credentials (docker logout); false when none were saved. */
export async function logout(registry: string, o: reg.RegistryOptions = {}): Promise<boolean> {
  return reg.eraseCredentials(registryName(registry), o);
}

/** The registry name of a login argument: empty/Docker Hub aliases → docker.io; scheme and path dropped. */
export function registryName(input: string | undefined): string {
  if (!input) return 'docker.io';
  const host = input.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  if (host === '') throw new TsbuildError('TSB_REFERENCE_INVALID', `invalid registry "${input}"`);
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}
