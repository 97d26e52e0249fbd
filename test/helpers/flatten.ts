// An image flattener independent of tsbuild's own code: reads an image (from an OCI image layout such as a
// tsbuild store, or from an unpacked `docker save` directory), applies its layer tars in order with GNU tar
// semantics plus OCI whiteouts, and describes the result as entries (path, type, mode, uid, gid, size,
// sha256, link target). Mtimes are never recorded.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import tarStream from 'tar-stream';

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

/** One path of a flattened filesystem (no mtime). */
export interface FsEntry {
  path: string;
  type: EntryType;
  mode: string; // octal permission bits incl. setuid/setgid/sticky, e.g. "0755"
  uid: number;
  gid: number;
  size?: number; // files
  sha256?: string; // files
  link?: string; // symlinks
  dev?: string; // char/block: "major,minor"
}

export type Flat = Map<string, FsEntry>;

/** An image read from disk: its config JSON and a way to open each layer's tar (compressed or not). */
export interface ImageSource {
  config: Record<string, any>;
  layers: Array<() => Readable>;
}

/** Reads image `ref` (the org.opencontainers.image.ref.name annotation) from an OCI image layout dir. */
export function readOciLayout(dir: string, ref: string): ImageSource | undefined {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  const desc = (index.manifests ?? []).find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === ref);
  if (!desc) return undefined;
  const blob = (d: string) => path.join(dir, 'blobs', ...d.split(':'));
  const manifest = JSON.parse(fs.readFileSync(blob(desc.digest), 'utf8'));
  return {
    config: JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8')),
    layers: manifest.layers.map((l: any) => () => fs.createReadStream(blob(l.digest))),
  };
}

/** Reads the first image of an unpacked `docker save` archive directory (manifest.json + layer tars). */
export function readDockerArchiveDir(dir: string): ImageSource {
  const [m] = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  return {
    config: JSON.parse(fs.readFileSync(path.join(dir, m.Config), 'utf8')),
    layers: m.Layers.map((l: string) => () => fs.createReadStream(path.join(dir, l))),
  };
}

/** Decompresses gzip transparently (by magic bytes); other streams pass through. */
function maybeGunzip(src: Readable): Readable {
  const out = new PassThrough();
  let first = true;
  let inner: NodeJS.ReadWriteStream | undefined;
  src.on('error', (e) => out.destroy(e));
  src.on('data', (chunk: Buffer) => {
    if (first) {
      first = false;
      if (chunk[0] === 0x1f && chunk[1] === 0x8b) {
        inner = zlib.createGunzip();
        inner.on('error', (e) => out.destroy(e));
        inner.pipe(out);
      }
    }
    if (inner) {
      if (!inner.write(chunk)) { src.pause(); inner.once('drain', () => src.resume()); }
    } else if (!out.write(chunk)) { src.pause(); out.once('drain', () => src.resume()); }
  });
  src.on('end', () => (inner ? inner.end() : out.end()));
  return out;
}

function clean(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  return parts.join('/');
}

interface RawEntry {
  entry: FsEntry;
  hardlink?: string;
}

/** Reads one layer tar into raw entries (content hashed while streaming, never buffered). */
async function readLayer(open: () => Readable): Promise<RawEntry[]> {
  const out: RawEntry[] = [];
  const extract = tarStream.extract();
  extract.on('entry', (h, stream, next) => {
    const p = clean(h.name);
    const base: FsEntry = { path: p, type: 'file', mode: ((h.mode ?? 0) & 0o7777).toString(8).padStart(4, '0'), uid: h.uid ?? 0, gid: h.gid ?? 0 };
    const hash = createHash('sha256');
    let size = 0;
    stream.on('data', (c: unknown) => { const b = c as Buffer; hash.update(b); size += b.length; });
    stream.on('end', () => {
      if (p !== '' || h.type === 'directory') {
        switch (h.type) {
          case 'directory': out.push({ entry: { ...base, type: 'dir' } }); break;
          case 'symlink': out.push({ entry: { ...base, type: 'symlink', link: h.linkname ?? '' } }); break;
          case 'link': out.push({ entry: base, hardlink: clean(h.linkname ?? '') }); break;
          case 'character-device': out.push({ entry: { ...base, type: 'char', dev: `${h.devmajor},${h.devminor}` } }); break;
          case 'block-device': out.push({ entry: { ...base, type: 'block', dev: `${h.devmajor},${h.devminor}` } }); break;
          case 'fifo': out.push({ entry: { ...base, type: 'fifo' } }); break;
          default: out.push({ entry: { ...base, type: 'file', size, sha256: hash.digest('hex') } });
        }
      }
      next();
    });
    stream.resume();
  });
  await pipeline(maybeGunzip(open()), extract);
  return out;
}

function removeTree(flat: Flat, p: string, keepSelf = false): void {
  if (!keepSelf) flat.delete(p);
  const prefix = p === '' ? '' : p + '/';
  for (const k of [...flat.keys()]) if (k.startsWith(prefix) && k !== p) flat.delete(k);
}

function ensureParents(flat: Flat, p: string): void {
  const parts = p.split('/');
  for (let i = 1; i < parts.length; i++) {
    const d = parts.slice(0, i).join('/');
    if (!flat.has(d)) flat.set(d, { path: d, type: 'dir', mode: '0755', uid: 0, gid: 0 });
  }
}

/** Applies one layer's entries onto `flat`: whiteouts and opaque markers first (they hide lower layers only). */
function applyLayer(flat: Flat, raw: RawEntry[]): void {
  for (const { entry } of raw) {
    const name = path.posix.basename(entry.path);
    const dir = path.posix.dirname(entry.path) === '.' ? '' : path.posix.dirname(entry.path);
    if (name === '.wh..wh..opq') removeTree(flat, dir, true);
    else if (name.startsWith('.wh.')) removeTree(flat, (dir ? dir + '/' : '') + name.slice(4));
  }
  for (const { entry, hardlink } of raw) {
    const name = path.posix.basename(entry.path);
    if (name.startsWith('.wh.')) continue;
    let e = entry;
    if (hardlink !== undefined) {
      const target = flat.get(hardlink);
      if (!target) throw new Error(`hardlink ${entry.path} -> ${hardlink}: target missing`);
      e = { ...target, path: entry.path };
    }
    if (e.path === '') { flat.set('', { ...e, path: '' }); continue; }
    const old = flat.get(e.path);
    if (old && (old.type !== 'dir' || e.type !== 'dir')) removeTree(flat, e.path);
    ensureParents(flat, e.path);
    flat.set(e.path, e);
  }
}

/** Flattens an image's layers in order. The root dir entry ("") is dropped. */
export async function flatten(img: ImageSource): Promise<Flat> {
  const flat: Flat = new Map();
  for (const open of img.layers) applyLayer(flat, await readLayer(open));
  flat.delete('');
  return flat;
}

/** Flattens a plain (uncompressed or gzip) tar file, e.g. a root filesystem tar. */
export async function flattenTar(file: string): Promise<Flat> {
  return flatten({ config: {}, layers: [() => fs.createReadStream(file)] });
}

export interface FsDiff {
  changed: FsEntry[]; // entries new or different from the base, sorted by path
  removed: string[]; // base paths gone (only the topmost of a removed subtree)
}

/** The difference between a flattened image and a flattened base. */
export function diffFlat(base: Flat, img: Flat): FsDiff {
  const changed: FsEntry[] = [];
  for (const [p, e] of img) {
    const b = base.get(p);
    if (!b || JSON.stringify(sortKeys(b)) !== JSON.stringify(sortKeys(e))) changed.push(sortKeys(e) as FsEntry);
  }
  const removed = [...base.keys()].filter((p) => !img.has(p) && !(p.includes('/') && !img.has(path.posix.dirname(p)) && base.has(path.posix.dirname(p))));
  changed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { changed, removed: removed.sort() };
}

/** A copy of an object with keys in a stable order (for byte-stable JSON). */
export function sortKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map(sortKeys) as T;
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) o[k] = sortKeys((v as Record<string, unknown>)[k]);
    return o as T;
  }
  return v;
}
