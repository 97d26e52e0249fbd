import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { StoredImage } from '../image/index.js';
import { applyLayer, createLayerTar } from '../layer/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError, isErrno, removeTree, tempSibling } from '../util/index.js';
import { expectDigest } from './layers.js';

/** Applies an image's layers on top of `dir` in flatten mode, checking each diff id against the config. */
async function flattenInto(store: Store, image: StoredImage, dir: string, signal?: AbortSignal): Promise<void> {
  for (const [i, layer] of image.manifest.layers.entries()) {
    signal?.throwIfAborted();
    const { diffId } = await applyLayer(store.openBlob(layer.digest), dir, signal ? { mode: 'flatten', signal } : { mode: 'flatten' });
    expectDigest(`layer ${layer.digest} diff id`, image.config.rootfs.diff_ids[i]!, diffId);
  }
}

function ensureOutputDir(dest: string): void {
  try {
    fs.mkdirSync(dest, { mode: 0o755 });
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e;
    if (!fs.lstatSync(dest).isDirectory()) throw new TsbuildError('TSB_OUTPUT_INVALID', `${dest} exists and is not a directory`);
  }
}

/** `--output type=local` (a directory) or `type=tar` (one flattened filesystem tar, sorted and deterministic). */
export async function writeRootfs(store: Store, image: StoredImage, dest: string, opts: { tar: boolean; signal?: AbortSignal }): Promise<void> {
  if (!opts.tar) {
    ensureOutputDir(dest);
    await flattenInto(store, image, dest, opts.signal);
    return;
  }
  const work = store.tempPath('rootfs');
  fs.mkdirSync(work, { mode: 0o755 });
  const tmpOut = tempSibling(path.resolve(dest));
  try {
    await flattenInto(store, image, work, opts.signal);
    const { stream } = createLayerTar(work);
    await pipeline(stream, fs.createWriteStream(tmpOut, { flags: 'wx', mode: 0o644 }), opts.signal ? { signal: opts.signal } : {});
    fs.renameSync(tmpOut, dest);
  } catch (e) {
    fs.rmSync(tmpOut, { force: true });
    if (e instanceof Error && e.name === 'AbortError') throw new TsbuildError('TSB_CANCELLED', 'rootfs export cancelled', { cause: e });
    throw e;
  } finally {
    removeTree(work);
  }
}
