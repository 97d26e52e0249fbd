import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../oci/index.js';
import { createHash, TsbuildError } from '../util/index.js';
import { LayerApplier } from './apply.js';
import { archiveError, decompressed } from './compress.js';
import { TarReader, readerSink } from './tar-reader.js';

export { createLayerStream, createLayerTar } from './create.js';
export { decompressed, gzipStream, gzipWithDiffId, type GzipOptions } from './compress.js';
export { listLayerEntries, type LayerEntry } from './list.js';
export type { EntryType } from './tar-format.js';

export interface ApplyLayerOptions {
  /**
   * 'overlay': destDir is a fresh snapshot, whiteouts become overlay whiteouts; 'flatten': apply on top of a
   * tree, whiteouts delete; 'plain': like flatten, but `.wh.*` entries are ordinary files (docker's ADD of a
   * user tarball).
   */
  mode: 'overlay' | 'flatten' | 'plain';
  signal?: AbortSignal;
}

/** Extracts one layer tar (gzip, zstd or plain) into destDir without touching anything outside it; returns its diffID. */
export async function applyLayer(input: Readable, destDir: string, opts: ApplyLayerOptions): Promise<{ diffId: Digest }> {
  const root = path.resolve(destDir);
  if (!fs.statSync(root).isDirectory()) throw new TsbuildError('TSB_PATH_UNSAFE', `${root} is not a directory`);
  const applier = new LayerApplier(root, opts.mode);
  const reader = new TarReader(applier);
  const hash = createHash('sha256');
  const sink = readerSink(reader, { onChunk: (c) => hash.update(c), onFinish: () => applier.finish() });
  try {
    await pipeline(decompressed(input), sink, opts.signal ? { signal: opts.signal } : {});
  } catch (e) {
    throw archiveError(e);
  } finally {
    applier.close();
  }
  return { diffId: `sha256:${hash.digest('hex')}` as Digest };
}
