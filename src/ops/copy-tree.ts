import * as fs from 'node:fs';
import * as path from 'node:path';
import { FS_TREE, walkTree, type EntryStat, type SelectedSource, type SourceRoot, type TreeReader, type WalkFilter } from '../context/index.js';
import { TsbuildError, isErrno, mkdirAllInRoot, resolveInRoot } from '../util/index.js';
import { applyChmod, type ChmodSpec } from './copy-chmod.js';
import { summary, type CopyTracker } from './copy-reuse.js';

export interface Owner { uid: number; gid: number }

export interface CopyOptions {
  /** --chown; otherwise the source's owner when keepOwner, else 0:0. */
  owner: Owner | undefined;
  chmod: ChmodSpec | undefined;
  keepOwner: boolean;
  /** Hardlinked sources already copied: "dev:ino" -> host path of the copy. */
  inodes: Map<string, string>;
  /**
   * Incremental copy (copy-reuse.ts): what the copy placed, and the files a donor layer below already
   * holds; `digest` gives a source file's content digest (the context's stat cache).
   */
  reuse?: { track: CopyTracker; digest(rel: string, host: string, st: EntryStat): string; tree?: TreeReader<EntryStat> };
}

/** Where a COPY writes: the rootfs (host path), the absolute in-root destination, and whether it was written as a directory. */
export interface Place { rootfs: string; dest: string; dirSyntax: boolean }

/** A source to place: host path and lstat (symlinks in the named path already followed), and how to walk it. */
export interface PlaceSource {
  host: string;
  stat: fs.Stats;
  /** Base name used when the destination is an existing directory. */
  name: string;
  dirContents: boolean;
  walk: { root: SourceRoot; filter: WalkFilter; sel?: SelectedSource };
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return undefined;
    throw e;
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/** Missing directories are created root-scoped, owned per --chown, with an octal --chmod's mode or 0755 (fsutil's MkdirAll). */
function mkdirs(rootfs: string, p: string, o: CopyOptions): string {
  const owner = o.owner ?? { uid: 0, gid: 0 };
  const mode = o.chmod?.kind === 'octal' ? o.chmod.mode : 0o755;
  return mkdirAllInRoot(rootfs, p, { ...owner, mode });
}

function conflict(msg: string): TsbuildError {
  return new TsbuildError('TSB_PATH_UNSAFE', msg);
}

/**
 * Places one source at the destination with BuildKit's (fsutil copy) rules: a trailing "/" makes the
 * destination a directory; a file goes into an existing directory under its own name, else becomes the
 * destination; a directory's contents are merged into the destination (created when missing).
 */
export function placeSource(place: Place, src: PlaceSource, o: CopyOptions, opts: { forceDir?: boolean } = {}): void {
  const { rootfs, dest } = place;
  mkdirs(rootfs, place.dirSyntax || opts.forceDir ? dest : path.posix.dirname(dest), o);
  const destHost = resolveInRoot(rootfs, dest, { followFinal: true });
  const fiDest = statOrUndefined(destHost);
  if (src.stat.isDirectory() && src.dirContents) {
    if (!fiDest) mkdirs(rootfs, dest, o);
    else if (!fiDest.isDirectory()) throw conflict(`cannot copy to non-directory: ${dest}`);
    copyChildren(src, resolveInRoot(rootfs, dest, { followFinal: true }), o);
    return;
  }
  const target = fiDest?.isDirectory() ? path.join(destHost, src.name) : destHost;
  writeEntry(src.host, src.stat, target, o, `${dest}`);
}

/** ADD of a URL or a heredoc: a single file with its own mode and mtime, placed by the file rules. */
export const copyEntry = {
  file(place: Place, src: { host: string; stat: fs.Stats; name: string; mode: number; mtime: Date }, o: CopyOptions): void {
    const { rootfs, dest } = place;
    mkdirs(rootfs, place.dirSyntax ? dest : path.posix.dirname(dest), o);
    const destHost = resolveInRoot(rootfs, dest, { followFinal: true });
    const target = statOrUndefined(destHost)?.isDirectory() ? path.join(destHost, src.name) : destHost;
    writeEntry(src.host, src.stat, target, o, dest, { mode: src.mode, mtime: src.mtime, owner: { uid: 0, gid: 0 } });
  },
};

interface MetaOverride { mode: number; mtime: Date; owner: Owner }

/**
 * Writes one non-directory (file or symlink) at `target`, replacing what is there (never a directory).
 * `fresh`: the parent is a directory this copy just created (so `target` cannot exist), and whether it is
 * setgid; it saves a lookup per file, which through overlayfs is the dearest call of a big COPY.
 */
function writeEntry(host: string, st: fs.Stats, target: string, o: CopyOptions, label: string, meta?: MetaOverride, fresh?: { setgid: boolean }): void {
  if (!fresh) {
    const existing = lstatOrUndefined(target);
    if (existing?.isDirectory()) throw conflict(`cannot replace to directory ${label} with file`);
    if (existing) fs.unlinkSync(target);
  }
  if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(host), target);
  else if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    const linked = st.nlink > 1 ? o.inodes.get(key) : undefined;
    if (linked !== undefined && lstatOrUndefined(linked)?.isFile()) {
      fs.linkSync(linked, target);
      return;
    }
    fs.copyFileSync(host, target, fs.constants.COPYFILE_EXCL);
    if (st.nlink > 1) o.inodes.set(key, target);
    // copyFileSync gives the copy the source's mode; a root-created file in a fresh non-setgid dir is 0:0
    const owner = ownerOf(st, o);
    if (fresh && !meta && !o.chmod && !fresh.setgid && isRoot() && owner.uid === 0 && owner.gid === 0) {
      fs.lutimesSync(target, st.atime, st.mtime);
      return;
    }
  } else return; // sockets, fifos and devices are not copied
  applyMeta(target, st, o, meta);
  fs.lutimesSync(target, meta?.mtime ?? st.atime, meta?.mtime ?? st.mtime);
}

let root: boolean | undefined;
function isRoot(): boolean {
  return (root ??= process.getuid?.() === 0 && process.getgid?.() === 0);
}

function ownerOf(st: fs.Stats, o: CopyOptions, meta?: MetaOverride): Owner {
  return o.owner ?? meta?.owner ?? (o.keepOwner ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 });
}

function applyMeta(host: string, st: fs.Stats, o: CopyOptions, meta?: MetaOverride): void {
  const owner = ownerOf(st, o, meta);
  fs.lchownSync(host, owner.uid, owner.gid);
  if (st.isSymbolicLink()) return;
  const base = meta ? (st.mode & ~0o7777) | meta.mode : st.mode;
  fs.chmodSync(host, o.chmod ? applyChmod(o.chmod, base, st.isDirectory()) : base & 0o7777);
}

/**
 * Copies what is below a source directory into `targetHost` (an existing real directory). Directories
 * that exist are kept but take the source's metadata (fsutil's overwriteTargetMetadata); a directory over
 * a non-directory, or a file over a directory, fails. Paths are joined below verified directories only.
 */
function copyChildren(src: PlaceSource, targetHost: string, o: CopyOptions): void {
  const sel = src.walk.sel ?? { rel: '', host: src.host, stat: src.stat };
  const dirTimes: Array<[string, fs.Stats]> = [];
  // directories this copy created, and whether they are setgid (their children cannot exist yet)
  const created = new Map<string, { setgid: boolean }>();
  const reuse = o.reuse;
  // An incremental copy walks the context's prewalk: most files are kept from the donor and need only the
  // listing's stat; what is written or is a directory takes a fresh lstat (owner, mode and times to copy).
  const tree = reuse?.tree ?? FS_TREE;
  const full = (e: { host: string; stat: EntryStat | fs.Stats }): fs.Stats => (e.stat instanceof fs.Stats ? e.stat : fs.lstatSync(e.host));
  walkTree(tree, src.walk.root, sel, (e) => {
    if (e.rel === '') return;
    const target = path.join(targetHost, e.rel);
    const fresh = created.get(path.dirname(target));
    if (e.stat.isDirectory()) {
      const st = full(e);
      const existing = fresh ? undefined : lstatOrUndefined(target);
      if (existing && !existing.isDirectory()) throw conflict(`cannot copy to non-directory: ${e.rel}`);
      if (!existing) fs.mkdirSync(target, 0o700);
      applyMeta(target, st, o);
      if (!existing) created.set(target, { setgid: (fs.lstatSync(target).mode & 0o2000) !== 0 });
      dirTimes.push([target, st]);
      reuse?.track.dir(target);
      return;
    }
    if (reuse && e.stat.isFile() && e.stat.nlink === 1) {
      const sum = summary(reuse.digest(sel.rel === '' ? e.rel : `${sel.rel}/${e.rel}`, e.host, e.stat), e.stat);
      if (reuse.track.keep(target, sum)) return;
      writeEntry(e.host, full(e), target, o, e.rel, undefined, fresh);
      reuse.track.wrote(target, sum);
      return;
    }
    writeEntry(e.host, full(e), target, o, e.rel, undefined, fresh);
    reuse?.track.wrote(target);
  }, src.walk.filter);
  for (const [host, st] of dirTimes.reverse()) fs.lutimesSync(host, st.atime, st.mtime);
}
