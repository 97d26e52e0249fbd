import * as fs from 'node:fs';
import { readXattrTree } from '../sys/index.js';
import { TsbuildError } from '../util/index.js';
import type { TarHeader } from './tar-format.js';

/** One tar entry planned from an overlay upper dir; `source` is the host file whose bytes follow the header. */
export interface PlannedEntry {
  header: TarHeader;
  source?: string;
}

const OVERLAY = 'trusted.overlay.';
const WH = '.wh.';
const OPQ = '.wh..wh..opq';

function seconds(st: fs.Stats): number {
  return Math.floor(st.mtimeMs / 1000);
}

function isWhiteout(st: fs.Stats, attrs: Map<string, Buffer> | undefined): boolean {
  if (st.isCharacterDevice() && st.rdev === 0) return true;
  return st.isFile() && st.size === 0 && attrs?.has('trusted.overlay.whiteout') === true;
}

function keptXattrs(attrs: Map<string, Buffer> | undefined): Record<string, Buffer> | undefined {
  if (!attrs) return undefined;
  let out: Record<string, Buffer> | undefined;
  for (const [k, v] of attrs) {
    if (k.startsWith(OVERLAY)) continue;
    (out ??= {})[k] = v;
  }
  return out;
}

/**
 * Plans the layer tar of an overlay upper dir: sorted by path bytes (parents first), whiteouts and opaque
 * markers translated, trusted.overlay.* dropped, hardlinks (same inode) pointing at their first path.
 */
export function planLayer(upperDir: string, opts: { xattrs?: boolean } = {}): PlannedEntry[] {
  // xattrs: false for a tree known to hold none worth keeping (a COPY's: copies carry no xattrs, and only
  // overlayfs's own trusted.overlay.* can appear): saves a getfattr over the whole tree
  const xattrs = opts.xattrs === false ? new Map<string, Map<string, Buffer>>() : readXattrTree(upperDir);
  const out: Array<{ key: string; e: PlannedEntry }> = [];
  const add = (key: string, e: PlannedEntry): void => void out.push({ key, e });
  const walk = (rel: string): void => {
    const dir = rel === '' ? upperDir : `${upperDir}/${rel}`;
    for (const base of fs.readdirSync(dir)) {
      const name = rel === '' ? base : `${rel}/${base}`;
      const host = `${dir}/${base}`;
      const st = fs.lstatSync(host);
      const attrs = xattrs.get(name);
      if (attrs) checkOverlayFeatures(name, attrs);
      const common = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, mtime: seconds(st), size: 0 };
      if (isWhiteout(st, attrs)) {
        const wh = rel === '' ? WH + base : `${rel}/${WH}${base}`;
        add(wh, { header: { ...common, name: wh, type: 'file', mode: 0o644, uid: 0, gid: 0 } });
      } else if (st.isDirectory()) {
        add(name, { header: { ...common, name: name + '/', type: 'dir', xattrs: keptXattrs(attrs) } });
        if (attrs?.get('trusted.overlay.opaque')?.toString() === 'y') {
          add(`${name}/${OPQ}`, { header: { ...common, name: `${name}/${OPQ}`, type: 'file', mode: 0o644, uid: 0, gid: 0 } });
        }
        walk(name);
      } else if (st.isFile()) {
        add(name, { header: { ...common, name, type: 'file', size: st.size, xattrs: keptXattrs(attrs) }, source: st.nlink > 1 ? `${st.dev}:${inode(host, st)}` : undefined });
      } else if (st.isSymbolicLink()) {
        add(name, { header: { ...common, name, type: 'symlink', linkname: fs.readlinkSync(host), xattrs: keptXattrs(attrs) } });
      } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
        const type = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'block';
        const r = BigInt(st.rdev);
        const dev = { devmajor: Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & 0xfffff000n)), devminor: Number((r & 0xffn) | ((r >> 12n) & 0xffffff00n)) };
        add(name, { header: { ...common, name, type, ...(type === 'fifo' ? {} : dev), xattrs: keptXattrs(attrs) }, source: st.nlink > 1 ? `${st.dev}:${inode(host, st)}` : undefined });
      }
      // sockets cannot be represented in a tar and are skipped, like docker does
    }
  };
  walk('');
  sortByPathBytes(out);
  return linkHardlinks(out.map((o) => o.e), upperDir);
}

function checkOverlayFeatures(name: string, attrs: Map<string, Buffer>): void {
  for (const k of attrs.keys()) {
    if (k === 'trusted.overlay.redirect' || k === 'trusted.overlay.metacopy') {
      throw new TsbuildError('TSB_NOT_IMPLEMENTED', `overlay upper entry ${name} uses ${k}`, { hint: 'mount overlays with redirect_dir=off,metacopy=off' });
    }
  }
}

/** Sorts by the UTF-8 bytes of the key: UTF-16 order is the same unless a key has surrogate pairs. */
function sortByPathBytes(items: Array<{ key: string }>): void {
  if (items.some((i) => /[\ud800-\udfff]/.test(i.key))) {
    const bytes = new Map(items.map((i) => [i, Buffer.from(i.key, 'utf8')]));
    items.sort((a, b) => Buffer.compare(bytes.get(a)!, bytes.get(b)!));
  } else items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function inode(host: string, st: fs.Stats): string {
  return Number.isSafeInteger(st.ino) ? String(st.ino) : String(fs.lstatSync(host, { bigint: true }).ino);
}

/** Turns `source` inode keys into hardlink entries for all but the first path, and into host paths otherwise. */
function linkHardlinks(entries: PlannedEntry[], upperDir: string): PlannedEntry[] {
  const first = new Map<string, string>();
  for (const e of entries) {
    const h = e.header;
    const key = e.source;
    e.source = h.type === 'file' && h.size > 0 ? `${upperDir}/${h.name}` : undefined;
    if (key === undefined) continue;
    const target = first.get(key);
    if (target === undefined) {
      first.set(key, h.name);
      continue;
    }
    e.header = { name: h.name, type: 'link', linkname: target, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, size: 0 };
    e.source = undefined;
  }
  return entries;
}
