import * as fs from 'node:fs';
import * as path from 'node:path';
import tar from 'tar-stream';

/** One entry for buildTar (tar-stream header fields plus content). */
export interface TarSpec {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
}

/** Builds an uncompressed tar with tar-stream's packer, names taken verbatim (hostile ones included). */
export async function buildTar(entries: TarSpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c) => void chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = e.content === undefined ? undefined : Buffer.from(e.content);
    const header: tar.Header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_600_000_000_000),
      linkname: e.linkname ?? '',
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
      size: 0,
      uname: '',
      gname: '',
    };
    if (content && type === 'file') pack.entry({ ...header, size: content.length }, content);
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/**
 * Hostile layers. `outside` is a temp directory outside the destination; every trap aims at it (or at
 * /etc/passwd for hardlinks, which must be refused before anything is written). `depth` is how many `..`
 * reach the host root from the destination.
 */
export function hostileTars(outside: string, depth = 12): Array<{ name: string; entries: TarSpec[]; unsafe?: boolean }> {
  const rel = outside.replace(/^\/+/, '');
  const ups = '../'.repeat(depth);
  return [
    { name: 'dotdot file', entries: [{ name: '../x', content: 'pwned' }, { name: `${ups}${rel}/dotdot`, content: 'pwned' }] },
    { name: 'absolute name', entries: [{ name: `${outside}/abs`, content: 'pwned' }] },
    { name: 'symlink to / then through it', entries: [{ name: 'evil', type: 'symlink', linkname: '/' }, { name: `evil/${rel}/via-root`, content: 'pwned' }] },
    { name: 'symlink to ../.. then through it', entries: [{ name: 'up', type: 'symlink', linkname: ups }, { name: `up/${rel}/via-up`, content: 'pwned' }] },
    { name: 'symlink to outside then through it', entries: [{ name: 'out', type: 'symlink', linkname: outside }, { name: 'out/via-abs', content: 'pwned' }, { name: 'out/dev', type: 'fifo' }, { name: 'out/dir/', type: 'directory', mode: 0o777 }] },
    { name: 'hardlink to /etc/passwd', entries: [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }], unsafe: true },
    { name: 'hardlink to ../../../etc/passwd', entries: [{ name: 'pw', type: 'link', linkname: `${ups}etc/passwd` }], unsafe: true },
    { name: 'hardlink to an outside file', entries: [{ name: 't', type: 'link', linkname: `${outside}/target` }], unsafe: true },
    { name: 'hardlink through an outside symlink', entries: [{ name: 'sl', type: 'symlink', linkname: outside }, { name: 't', type: 'link', linkname: 'sl/target' }], unsafe: true },
    { name: 'symlink loop', entries: [{ name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: 'a' }, { name: 'a/x', content: 'pwned' }], unsafe: true },
    { name: 'file replaces a symlink to outside', entries: [{ name: 's', type: 'symlink', linkname: `${outside}/target` }, { name: 's', content: 'pwned', mode: 0o777 }] },
    { name: 'dir replaces a symlink to outside', entries: [{ name: 's', type: 'symlink', linkname: outside }, { name: 's/', type: 'directory', mode: 0o777 }] },
    { name: 'file then dir then child', entries: [{ name: 'p', content: 'file' }, { name: 'p/', type: 'directory' }, { name: 'p/child', content: 'c' }] },
    { name: 'dir becomes symlink to outside after a child', entries: [{ name: 'd/', type: 'directory', mtime: new Date(1000) }, { name: 'd/f', content: 'x' }, { name: 'd', type: 'symlink', linkname: outside }, { name: 'd/late', content: 'pwned' }] },
    { name: 'whiteouts through an outside symlink', entries: [{ name: 'w', type: 'symlink', linkname: outside }, { name: 'w/.wh.target', content: '' }, { name: 'w/.wh..wh..opq', content: '' }] },
    { name: 'dir holding an outside symlink replaced by a file', entries: [{ name: 'q/', type: 'directory' }, { name: 'q/out', type: 'symlink', linkname: outside }, { name: 'q', content: 'file' }] },
    { name: 'dir holding an outside symlink whited out', entries: [{ name: 'q/', type: 'directory' }, { name: 'q/out', type: 'symlink', linkname: outside }, { name: 'q/sub/', type: 'directory' }, { name: 'q/sub/t', type: 'symlink', linkname: `${outside}/target` }, { name: '.wh.q', content: '' }] },
    { name: 'opaque dir holding outside symlinks', entries: [{ name: 'o/', type: 'directory' }, { name: 'o/-l', type: 'symlink', linkname: outside }, { name: 'o/.wh..wh..opq', content: '' }, { name: 'o/z', type: 'symlink', linkname: `${outside}/target` }, { name: 'o/z', content: 'replaced' }] },
    { name: 'hardlink then overwrite the link path', entries: [{ name: 'sl', type: 'symlink', linkname: `${outside}/target` }, { name: 'h', type: 'link', linkname: 'sl' }, { name: 'h', content: 'pwned' }] },
    { name: 'whiteout of ..', entries: [{ name: 'sub/', type: 'directory' }, { name: 'sub/.wh..', content: '' }], unsafe: true },
    { name: 'device through an outside symlink', entries: [{ name: 'v', type: 'symlink', linkname: `${ups}${rel}` }, { name: 'v/null', type: 'character-device', devmajor: 1, devminor: 3 }] },
  ];
}

/** A comparable picture of a tree: path → type, mode, size, mtime and content (files) or target (symlinks). */
export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const p = rel ? path.join(root, rel) : root;
    const st = fs.lstatSync(p);
    let detail = '';
    if (st.isFile()) detail = fs.readFileSync(p).toString('base64');
    else if (st.isSymbolicLink()) detail = fs.readlinkSync(p);
    out[rel || '.'] = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${detail}`;
    if (st.isDirectory()) for (const c of fs.readdirSync(p).sort()) walk(rel ? `${rel}/${c}` : c);
  };
  walk('');
  return out;
}

/** A skip reason when not root (tests may skip), or throws under CI=true, where a missing capability is a failure. */
export function rootOrSkip(what = 'these tests need root'): string | false {
  if (process.getuid?.() === 0) return false;
  if (process.env.CI === 'true') throw new Error(`${what} (CI=true: not skipping)`);
  return what;
}
