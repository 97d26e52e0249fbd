import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import tar from 'tar-stream';
import type { Digest } from '../oci/index.js';
import type { StagedBlob, Store } from '../store/index.js';
import { createHash, isErrno, TsbuildError } from '../util/index.js';

/** A regular file of an archive: small ones in memory, others staged (hashed, fsynced) under the store's tmp/. */
export interface Member {
  name: string;
  digest: Digest;
  size: number;
  bytes?: Buffer;
  staged?: StagedBlob;
  /** Where a large member's content is now: the staged temp file, then the store blob once committed. */
  file?: string;
  /** The verified uncompressed digest, once computed. */
  diffId?: Digest;
}

/** The files of an archive by normalized name, with links resolved. */
export interface ArchiveContents {
  get(name: string): Member | undefined;
  /** Removes every staged temp file that was not committed. */
  discard(): void;
}

const IN_MEMORY_MAX = 64 * 1024;
const MAX_LINK_DEPTH = 16;

function invalid(message: string, hint?: string): TsbuildError {
  return new TsbuildError('TSB_ARCHIVE_INVALID', message, hint === undefined ? {} : { hint });
}

/** Normalizes a member name ("./a//b" → "a/b"); rejects absolute names and any ".." component. */
export function safeMemberName(raw: string): string {
  if (raw.includes('\0')) throw invalid(`archive entry name contains NUL: ${JSON.stringify(raw)}`);
  if (raw.startsWith('/')) throw invalid(`archive entry has an absolute path: ${raw}`, 'refusing path traversal');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid(`archive entry escapes the archive: ${raw}`, 'refusing path traversal');
  return parts.join('/');
}

/** Opens an archive file as a plain tar stream, gunzipping when it starts with the gzip magic. */
function openTar(file: string): Readable {
  const head = Buffer.alloc(2);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw invalid(`archive ${file} does not exist`);
    throw e;
  }
  try {
    fs.readSync(fd, head, 0, 2, 0);
  } finally {
    fs.closeSync(fd);
  }
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  if (head[0] !== 0x1f || head[1] !== 0x8b) return raw;
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

async function readSmall(entry: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of entry) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function asArchiveError(e: unknown, file: string): unknown {
  if (e instanceof TsbuildError || !(e instanceof Error)) return e;
  if (e.name === 'AbortError') return new TsbuildError('TSB_CANCELLED', `loading ${file} was cancelled`, { cause: e });
  const code = (e as NodeJS.ErrnoException).code;
  if (code === undefined || code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new TsbuildError('TSB_ARCHIVE_INVALID', `cannot read archive ${file}: ${e.message}`, { cause: e, hint: 'expected a tar or tar.gz from docker save, podman save or an OCI exporter' });
  }
  return e;
}

/** Reads every entry of a tar(.gz) archive file, staging large files into the store's tmp/. */
export async function readArchive(store: Store, file: string, signal?: AbortSignal): Promise<ArchiveContents> {
  const files = new Map<string, Member>();
  const links = new Map<string, string>();
  const drop = (name: string) => {
    files.get(name)?.staged?.discard();
    files.delete(name);
    links.delete(name);
  };
  const contents: ArchiveContents = {
    get(name) {
      let n = name;
      for (let i = 0; i < MAX_LINK_DEPTH; i++) {
        const target = links.get(n);
        if (target === undefined) return files.get(n);
        n = target;
      }
      throw invalid(`archive links loop at ${name}`);
    },
    discard() {
      for (const m of files.values()) m.staged?.discard();
    },
  };
  const extract = tar.extract();
  const consume = async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = safeMemberName(h.name);
      drop(name);
      if (h.type === 'file' || h.type === 'contiguous-file') {
        if ((h.size ?? 0) <= IN_MEMORY_MAX) {
          const bytes = await readSmall(entry);
          files.set(name, { name, bytes, size: bytes.length, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest });
        } else {
          const staged = await store.stageBlob(Readable.from(entry, { objectMode: false }), signal === undefined ? {} : { signal });
          files.set(name, { name, staged, file: staged.path, size: staged.size, digest: staged.digest });
        }
      } else if (h.type === 'symlink' || h.type === 'link') {
        const target = h.linkname ?? '';
        const resolved = h.type === 'link' || target.startsWith('/') ? target : path.posix.join(path.posix.dirname(name), target);
        links.set(name, safeMemberName(resolved));
        entry.resume();
      } else if (h.type === 'directory') {
        entry.resume();
      } else {
        throw invalid(`archive entry ${name} has unsupported type ${String(h.type)}`);
      }
    }
  };
  try {
    await Promise.all([pipeline(openTar(file), extract, signal === undefined ? {} : { signal }), consume()]);
  } catch (e) {
    contents.discard();
    throw asArchiveError(e, file);
  }
  return contents;
}

/** A member's bytes (configs, manifests, JSON); refuses anything larger than `max`. */
export async function memberBytes(m: Member, max = 32 << 20): Promise<Buffer> {
  if (m.bytes) return m.bytes;
  if (m.size > max) throw invalid(`archive entry ${m.name} is too large (${m.size} bytes) for metadata`);
  return fs.promises.readFile(m.file!);
}

/** Opens a member's content as a stream. */
export function openMember(m: Member): Readable {
  return m.bytes ? Readable.from([m.bytes]) : fs.createReadStream(m.file!, { highWaterMark: 1 << 20 });
}

/** Moves a member into the store's blobs. */
export async function commitMember(store: Store, m: Member): Promise<void> {
  if (m.bytes) await store.putBlob(m.bytes, m.digest);
  else if (m.file !== store.blobPath(m.digest)) {
    m.staged!.commit();
    m.file = store.blobPath(m.digest);
  }
}
