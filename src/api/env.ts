import * as path from 'node:path';
import { emptyTrash, recoverSessions, openSession, Snapshotter, type Session } from '../snapshot/index.js';
import { killContainer, deleteContainer } from '../runtime/index.js';
import { openStore, cleanTemp, type Store } from '../store/index.js';
import { resolveImage, type StoredImage } from '../image/index.js';
import type { BlobProgress } from '../registry/index.js';
import type { PullOptions } from './registry.js';
import type { BaseImage, LayerInfo } from '../graph/index.js';
import { TsbuildError, type SourceLocation } from '../util/index.js';


/** An open store with this process's session: what every command that mounts or runs needs. */
export interface Workspace {
  root: string;
  store: Store;
  session: Session;
  snapshots: Snapshotter;
  close(): void;
}

/** Opens the store, cleans up after crashed tsbuild processes, and starts a session. */
export function openWorkspace(root: string): Workspace {
  const abs = path.resolve(root);
  const store = openStore(abs);
  tidyAfterCrashes(abs);
  return withSession(abs, store);
}

/**
 * openWorkspace with its clean-up after crashed processes handed back as `tidy`, for a caller that runs it
 * later: a foreground run does it while runc starts its container (~35 ms of wall time on another process).
 * Nothing there touches the new session or container.
 */
export function openWorkspaceTidyLater(root: string): { ws: Workspace; tidy: () => void } {
  const abs = path.resolve(root);
  return { ws: withSession(abs, openStore(abs)), tidy: () => tidyAfterCrashes(abs) };
}

/** Ends what crashed tsbuild processes left: their sessions' containers, temp files, the trash. */
function tidyAfterCrashes(abs: string): void {
  recoverSessions(abs, (id) => {
    killContainer(id);
    deleteContainer(id);
  });
  cleanTemp(abs);
  emptyTrash(abs);
}

function withSession(abs: string, store: Store): Workspace {
  const session = openSession(abs);
  const snapshots = new Snapshotter(abs, session);
  return { root: abs, store, session, snapshots, close: () => session.close() };
}

/** Pairs an image's layer blobs with its diff_ids. */
export function imageLayers(img: StoredImage): LayerInfo[] {
  const diffIds = img.config.rootfs.diff_ids;
  if (diffIds.length !== img.manifest.layers.length) {
    throw new TsbuildError('TSB_IMAGE_INVALID', `image ${img.digest} has ${img.manifest.layers.length} layers but ${diffIds.length} diff_ids`);
  }
  return img.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! }));
}

/** How FROM finds images: from the store, pulling when missing (default), always pulling, or never. */
export type PullPolicy = 'missing' | 'always' | 'never';

export interface BaseImageOptions {
  pull?: PullPolicy;
  signal?: AbortSignal;
  onProgress?: (p: BlobProgress & { ref: string }) => void;
}

/** Looks up a base image for FROM / COPY --from: the store first, then the registry (as docker build does). */
export async function baseImage(store: Store, name: string, loc?: SourceLocation, o: BaseImageOptions = {}): Promise<BaseImage> {
  const policy = o.pull ?? 'missing';
  const toBase = (img: StoredImage): BaseImage => ({ id: img.digest, name, config: img.config, layers: imageLayers(img) });
  if (policy !== 'always') {
    try {
      return toBase(await resolveImage(store, name));
    } catch (e) {
      if (!(e instanceof TsbuildError && e.code === 'TSB_IMAGE_NOT_FOUND') || policy === 'never') throw notFound(name, loc, e);
    }
  }
  const { pullImage } = await import('./registry.js');
  try {
    const pullOptions: PullOptions = {};
    if (o.signal) pullOptions.signal = o.signal;
    if (o.onProgress) pullOptions.onProgress = (p) => o.onProgress!({ ...p, ref: name });
    return toBase(await pullImage(store.root, name, pullOptions));
  } catch (e) {
    if (e instanceof TsbuildError && ['TSB_IMAGE_NOT_FOUND', 'TSB_NETWORK', 'TSB_REGISTRY_AUTH', 'TSB_REFERENCE_INVALID'].includes(e.code)) {
      throw notFound(name, loc, e, e.message);
    }
    throw e;
  }
}

function notFound(name: string, loc: SourceLocation | undefined, cause: unknown, pullError?: string): TsbuildError {
  const where = pullError === undefined ? 'in the local store' : `in the local store, and pulling it failed: ${pullError}`;
  return new TsbuildError('TSB_IMAGE_NOT_FOUND', `base image "${name}" not found ${where}`, {
    location: loc,
    hint: `make it with "tsbuild import ROOTFS.tar ${name}", "tsbuild load -i FILE" or "tsbuild pull ${name}"`,
    cause,
  });
}

/**
 * Unpacks layers into snapshots now (as docker import/load/pull do), so a first build starts at once; an
 * unsafe or corrupt layer fails here, before the image is named.
 */
export async function unpackLayers(root: string, layers: LayerInfo[], signal?: AbortSignal): Promise<void> {
  const ws = openWorkspace(root);
  try {
    const { ensureSnapshots } = await import('../ops/index.js');
    await ensureSnapshots({ store: ws.store, snapshots: ws.snapshots, signal: signal ?? new AbortController().signal }, layers);
  } finally {
    ws.close();
  }
}
