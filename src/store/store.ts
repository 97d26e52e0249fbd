import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { type Descriptor, type Digest, normalizeName, sha256 } from '../oci/index.js';
import { TsbuildError, ensureDir, isErrno, tempSibling } from '../util/index.js';
import { type StagedBlob, blobFile, missingBlob, putBytes, readVerified, stageStream, tempName } from './blobs.js';
import { type LockOptions, withLockAt } from './lock.js';
import { applyRecord, applyRemoveRef, applySetRef, emptyIndex, readIndex, refName, tagName, writeIndex } from './refs.js';

/** The local content store: an OCI image layout at `root` (blobs, index.json refs, locks, tmp). */
export interface Store {
  readonly root: string;
  hasBlob(d: Digest): boolean;
  blobPath(d: Digest): string;
  /** A stream of the blob with 1 MiB reads; throws TSB_STORE_CORRUPT when absent. */
  openBlob(d: Digest): Readable;
  /**
   * Reads a small blob (manifest, config, index), verifying it. `verify: false` trusts the store (blobs are
   * verified when written): for `run`, which must not pay ~10 ms to load node:crypto for two small hashes.
   */
  readBlob(d: Digest, o?: { verify?: boolean }): Promise<Buffer>;
  putBlob(data: Uint8Array, expected?: Digest): Promise<{ digest: Digest; size: number }>;
  /** Hashes while writing to tmp/, fsyncs, verifies, renames into place; TSB_DIGEST_MISMATCH leaves nothing. */
  putBlobStream(stream: Readable, opts?: { expected?: Digest; signal?: AbortSignal }): Promise<{ digest: Digest; size: number }>;
  /** Like putBlobStream but leaves the verified temp file for the caller to commit or discard. */
  stageBlob(stream: Readable, opts?: { expected?: Digest; signal?: AbortSignal }): Promise<StagedBlob>;
  /** The descriptor tagged with a user-typed name ("app", "app:1", "docker.io/library/app:1"). */
  resolveRef(name: string): Descriptor | undefined;
  setRef(name: string, desc: Descriptor): Promise<void>;
  removeRef(name: string): Promise<boolean>;
  listRefs(): Array<{ name: string; descriptor: Descriptor }>;
  /** Every index entry, tagged or not (untagged entries keep built images reachable by id). */
  listManifests(): Descriptor[];
  /** Records an image without a name unless the index already refers to its manifest. */
  recordImage(desc: Descriptor): Promise<void>;
  /** Drops every index entry (names and untagged) for a manifest; returns how many went. */
  forgetManifest(d: Digest): Promise<number>;
  /** A fresh path under tmp/ for a work file or dir; cleanTemp removes it once this process is gone. */
  tempPath(kind: string): string;
  /** Runs `fn` under the inter-process lock `<root>/locks/<name>`. */
  withLock<T>(name: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T>;
}

const LAYOUT = '{"imageLayoutVersion":"1.0.0"}';

/** Creates `file` with `data` unless it exists (link-based, so a concurrent creator never loses content). */
function createExclusive(file: string, data: string): void {
  const tmp = tempSibling(file);
  fs.writeFileSync(tmp, data, { flag: 'wx', mode: 0o644 });
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function initLayout(root: string): void {
  ensureDir(path.join(root, 'blobs', 'sha256'), 0o755);
  ensureDir(path.join(root, 'tmp'), 0o700);
  ensureDir(path.join(root, 'locks'), 0o700);
  const layoutFile = path.join(root, 'oci-layout');
  if (!fs.existsSync(layoutFile)) createExclusive(layoutFile, LAYOUT);
  let layout: { imageLayoutVersion?: unknown };
  try {
    layout = JSON.parse(fs.readFileSync(layoutFile, 'utf8')) as { imageLayoutVersion?: unknown };
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    layout = {};
  }
  if (typeof layout.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.')) {
    throw new TsbuildError('TSB_STORE_CORRUPT', `${layoutFile} is not an OCI image layout marker`, { hint: `choose another store root or repair ${root}` });
  }
  const indexFile = path.join(root, 'index.json');
  if (!fs.existsSync(indexFile)) createExclusive(indexFile, `${JSON.stringify(emptyIndex())}\n`);
  readIndex(root);
}

/** Opens the store at `root`, creating the layout if missing and validating it otherwise. */
export function openStore(root: string): Store {
  root = path.resolve(root);
  initLayout(root);
  const locks = path.join(root, 'locks');
  const withLock = <T>(name: string, fn: () => Promise<T>, opts?: LockOptions) => withLockAt(locks, name, fn, opts);
  const mutateIndex = <T>(fn: (idx: ReturnType<typeof readIndex>) => { index?: ReturnType<typeof readIndex>; result: T }) =>
    withLock('index', async () => {
      const before = readIndex(root);
      const unchanged = JSON.stringify(before);
      const { index, result } = fn(before);
      if (index && JSON.stringify(index) !== unchanged) writeIndex(root, index);
      return result;
    });
  return {
    root,
    hasBlob: (d) => fs.existsSync(blobFile(root, d)),
    blobPath: (d) => blobFile(root, d),
    openBlob(d) {
      const file = blobFile(root, d);
      if (!fs.existsSync(file)) throw missingBlob(d);
      return fs.createReadStream(file, { highWaterMark: 1 << 20 });
    },
    readBlob: (d, o) => readVerified(root, d, o?.verify ?? true),
    async putBlob(data, expected) {
      const digest = sha256(data);
      putBytes(root, data, digest, expected);
      return { digest, size: data.length };
    },
    async putBlobStream(stream, opts) {
      const s = await stageStream(root, stream, opts);
      s.commit();
      return { digest: s.digest, size: s.size };
    },
    stageBlob: (stream, opts) => stageStream(root, stream, opts),
    resolveRef(name) {
      const n = normalizeName(name);
      return readIndex(root).manifests.find((m) => refName(m) === n);
    },
    async setRef(name, desc) {
      const n = tagName(name);
      // Already so (a no-op rebuild re-tags its image): no lock, no index rewrite.
      const cur = readIndex(root).manifests.filter((m) => refName(m) === n);
      const same = cur.length === 1 && !desc.annotations && cur[0]!.digest === desc.digest && cur[0]!.size === desc.size
        && cur[0]!.mediaType === desc.mediaType && JSON.stringify(cur[0]!.platform) === JSON.stringify(desc.platform);
      if (same) return;
      return mutateIndex((idx) => ({ index: applySetRef(idx, n, desc), result: undefined }));
    },
    async removeRef(name) {
      const n = normalizeName(name);
      return mutateIndex((idx) => {
        const r = applyRemoveRef(idx, n);
        return { index: r.removed ? r.index : undefined, result: r.removed };
      });
    },
    listRefs: () =>
      readIndex(root).manifests.flatMap((m) => {
        const name = refName(m);
        return name === undefined ? [] : [{ name, descriptor: m }];
      }),
    listManifests: () => readIndex(root).manifests,
    recordImage: (desc) => mutateIndex((idx) => ({ index: applyRecord(idx, desc), result: undefined })),
    forgetManifest: (d) =>
      mutateIndex((idx) => {
        const manifests = idx.manifests.filter((m) => m.digest !== d);
        const n = idx.manifests.length - manifests.length;
        return { index: n > 0 ? { ...idx, manifests } : undefined, result: n };
      }),
    tempPath: (kind) => tempName(root, kind),
    withLock,
  };
}
