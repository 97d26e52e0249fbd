import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { tempSibling } from '../util/index.js';

/** One archive member: a directory, bytes in memory, or a stream opened when its turn comes. */
export type TarMember =
  | { name: string; type: 'directory' }
  | { name: string; type: 'file'; data: Buffer }
  | { name: string; type: 'file'; size: number; open: () => Readable };

const EPOCH = new Date(0);

/** Writes members in the given order into a tar stream piped to `out`; never holds a streamed member in memory. */
export async function writeTar(members: TarMember[], out: Writable, signal?: AbortSignal): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, out, { signal });
  const fill = async () => {
    for (const m of members) {
      signal?.throwIfAborted();
      const header = { name: m.name, mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
      if (m.type === 'directory') {
        await new Promise<void>((res, rej) => pack.entry({ ...header, type: 'directory', mode: 0o755 }, (e) => (e ? rej(e) : res())));
      } else if ('data' in m) {
        await new Promise<void>((res, rej) => pack.entry({ ...header, type: 'file', mode: 0o644, size: m.data.length }, m.data, (e) => (e ? rej(e) : res())));
      } else {
        await new Promise<void>((res, rej) => {
          const entry = pack.entry({ ...header, type: 'file', mode: 0o644, size: m.size }, (e) => (e ? rej(e) : res()));
          pipeline(m.open(), entry).catch(rej);
        });
      }
    }
    pack.finalize();
  };
  try {
    await Promise.all([fill(), done]);
  } catch (e) {
    pack.destroy();
    throw e;
  }
}

/** Writes a tar to a file path atomically (temp sibling, rename), or into a caller's stream. */
export async function writeTarTo(members: TarMember[], dest: Writable | string, signal?: AbortSignal): Promise<void> {
  if (typeof dest !== 'string') return writeTar(members, dest, signal);
  const tmp = tempSibling(path.resolve(dest));
  try {
    await writeTar(members, fs.createWriteStream(tmp, { flags: 'wx', mode: 0o644 }), signal);
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
