import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { archiveError, decompressed } from './compress.js';
import type { TarHeader } from './tar-format.js';
import { TarReader, readerSink } from './tar-reader.js';

/** One entry of a layer tar as stored (dirs usually end with '/'), with the content of small files. */
export interface LayerEntry extends TarHeader {
  /** File content, for files of at most 64 KiB. */
  content?: Buffer;
}

const CONTENT_MAX = 64 * 1024;

/** Lists a layer tar's entries (gzip, zstd or plain), with the content of small files; for tests and inspection. */
export async function listLayerEntries(input: Readable): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  let parts: Buffer[] | undefined;
  const reader = new TarReader({
    entry(h) {
      const e: LayerEntry = { name: h.name, type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, size: h.size, mtime: h.mtime };
      if (h.linkname !== undefined) e.linkname = h.linkname;
      if (h.devmajor !== undefined) (e.devmajor = h.devmajor), (e.devminor = h.devminor);
      if (h.xattrs) e.xattrs = h.xattrs;
      out.push(e);
      parts = h.type === 'file' && h.size <= CONTENT_MAX ? [] : undefined;
    },
    data(chunk) {
      parts?.push(Buffer.from(chunk));
    },
    end() {
      if (parts) out[out.length - 1]!.content = Buffer.concat(parts);
      parts = undefined;
    },
  });
  const sink = readerSink(reader);
  try {
    await pipeline(decompressed(input), sink);
  } catch (e) {
    throw archiveError(e);
  }
  return out;
}
