import * as fs from 'node:fs';
import { mknodBatch, setXattrBatch, type DeviceNode, type XattrItem } from '../sys/index.js';
import { isErrno, randomBytes, TsbuildError } from '../util/index.js';
import { joinRel, lstatOrUndefined, normalizeParts, ScopedRoot, unsafe } from './scoped.js';
import type { TarHeader } from './tar-format.js';
import type { TarVisitor } from './tar-reader.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = fs.constants;
const WH = '.wh.';
const OPQ = '.wh..wh..opq';
const MAX_WHITEOUT_LINKS = 60000;

/**
 * Writes a layer's entries into `root` with sync calls, in stream order. Never creates, changes or follows
 * anything outside root: parents resolve through ScopedRoot, final components are removed before being
 * created (O_EXCL|O_NOFOLLOW), hardlink targets must be existing non-directories inside root.
 * Device nodes and xattrs are queued and flushed in batches before anything could move their paths.
 */
export class LayerApplier implements TarVisitor {
  private readonly scope: ScopedRoot;
  private readonly touched: Set<string> | undefined;
  private fd: number | undefined;
  private cur: TarHeader | undefined;
  private curHost = '';
  private nodes: Array<DeviceNode & { uid: number; gid: number; mtime: number }> = [];
  private attrs: XattrItem[] = [];
  private readonly pending = new Set<string>();
  private readonly dirTimes: Array<[string, number]> = [];
  private whiteout: string | undefined;
  private whiteoutLinks = 0;

  constructor(root: string, private readonly mode: 'overlay' | 'flatten' | 'plain') {
    const touched = mode === 'flatten' ? new Set<string>() : undefined;
    this.touched = touched;
    this.scope = new ScopedRoot(root, touched && ((rel) => void touched.add(rel)));
  }

  entry(h: TarHeader): void {
    const parts = normalizeParts(h.name);
    if (parts.length === 0) {
      if (h.type !== 'dir') throw unsafe(`${h.name} resolves to the root but is not a directory`);
      this.setDirMeta(this.scope.root, h);
      this.dirTimes.push(['', h.mtime]);
      return;
    }
    const base = parts[parts.length - 1]!;
    if (base.startsWith(WH) && this.mode !== 'plain') return this.whiteoutEntry(h, parts.slice(0, -1), base);
    const parent = this.scope.resolveDir(parts.slice(0, -1), true, h.name)!;
    const rel = joinRel(parent, base);
    const host = this.scope.host(rel);
    this.touched?.add(rel);
    if (h.type === 'link') return this.hardlink(h, host);
    if (h.type === 'file') return this.openFile(h, host);
    const existing = this.lstatFinal(host);
    if (h.type === 'dir') {
      if (existing && !existing.isDirectory()) this.remove(host, existing);
      if (!existing?.isDirectory()) fs.mkdirSync(host, 0o700);
      this.setDirMeta(host, h);
      this.dirTimes.push([rel, h.mtime]);
      this.scope.remember(parts, rel);
      return this.queueXattrs(host, h);
    }
    if (existing) this.remove(host, existing);
    if (h.type === 'symlink') {
      if (!h.linkname) throw new TsbuildError('TSB_TAR_INVALID', `invalid layer entry ${h.name}: symlink without a target`);
      fs.symlinkSync(h.linkname, host);
      fs.lchownSync(host, h.uid, h.gid);
      fs.lutimesSync(host, h.mtime, h.mtime);
      this.queueXattrs(host, h);
    } else {
      const type = h.type === 'char' ? 'c' : h.type === 'block' ? 'b' : 'p';
      this.nodes.push({ path: host, type, major: h.devmajor ?? 0, minor: h.devminor ?? 0, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime });
      this.pending.add(host);
      this.queueXattrs(host, h);
    }
  }

  /** Creates the file with O_EXCL|O_NOFOLLOW; whatever was there is removed first (only then is lstat needed). */
  private openFile(h: TarHeader, host: string): void {
    if (this.pending.has(host)) this.flush();
    const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
    try {
      this.fd = fs.openSync(host, flags, 0o600);
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
      this.remove(host, fs.lstatSync(host));
      this.fd = fs.openSync(host, flags, 0o600);
    }
    this.cur = h;
    this.curHost = host;
  }

  data(chunk: Buffer): void {
    for (let off = 0; off < chunk.length; ) off += fs.writeSync(this.fd!, chunk, off, chunk.length - off);
  }

  end(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    const h = this.cur!;
    fs.fchownSync(fd, h.uid, h.gid);
    fs.fchmodSync(fd, h.mode);
    fs.futimesSync(fd, h.mtime, h.mtime);
    this.fd = undefined;
    fs.closeSync(fd);
    this.queueXattrs(this.curHost, h);
  }

  /** Flushes batches, then sets directory mtimes (re-checking each path is still a real directory). */
  finish(): void {
    this.flush();
    const verified = new Set<string>();
    for (const [rel, mtime] of this.dirTimes) {
      if (this.scope.isRealDir(rel, verified)) fs.lutimesSync(this.scope.host(rel), mtime, mtime);
    }
    this.dropWhiteoutTemplate();
  }

  /** Releases the open file and the whiteout template after a failure. */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.dropWhiteoutTemplate();
  }

  private whiteoutEntry(h: TarHeader, parentParts: string[], base: string): void {
    if (base === OPQ) {
      const dir = this.scope.resolveDir(parentParts, this.mode === 'overlay', h.name);
      if (dir === undefined) return;
      if (this.mode === 'overlay') return this.queueAttr(this.scope.host(dir), 'trusted.overlay.opaque', Buffer.from('y'));
      return this.prune(dir);
    }
    if (base.startsWith(WH + WH)) return; // reserved (aufs metadata), never a path
    const name = base.slice(WH.length);
    if (name === '' || name === '.' || name === '..') throw unsafe(`whiteout ${h.name} names no entry`);
    const dir = this.scope.resolveDir(parentParts, this.mode === 'overlay', h.name);
    if (dir === undefined) return;
    const host = this.scope.host(joinRel(dir, name));
    const existing = this.lstatFinal(host);
    if (existing) this.remove(host, existing);
    if (this.mode === 'overlay') this.linkWhiteout(host);
  }

  /** Overlay whiteouts (char 0:0) share one inode, as overlayfs itself does: one mknod, then hardlinks. */
  private linkWhiteout(host: string): void {
    if (this.whiteout === undefined || this.whiteoutLinks >= MAX_WHITEOUT_LINKS) {
      this.dropWhiteoutTemplate();
      const t = this.scope.host(`.tsbuild-whiteout-${randomBytes(8).toString('hex')}`);
      mknodBatch([{ path: t, type: 'c', major: 0, minor: 0, mode: 0 }]);
      this.whiteout = t;
      this.whiteoutLinks = 0;
    }
    fs.linkSync(this.whiteout, host);
    this.whiteoutLinks++;
  }

  private dropWhiteoutTemplate(): void {
    if (this.whiteout !== undefined && lstatOrUndefined(this.whiteout)) fs.unlinkSync(this.whiteout);
    this.whiteout = undefined;
  }

  /** Removes what lower layers left in `dir` (flatten mode opaque): entries this layer wrote stay. */
  private prune(dir: string): void {
    this.flush();
    for (const base of fs.readdirSync(this.scope.host(dir))) {
      const rel = joinRel(dir, base);
      const st = fs.lstatSync(this.scope.host(rel));
      if (!this.touched!.has(rel)) this.remove(this.scope.host(rel), st);
      else if (st.isDirectory()) this.prune(rel);
    }
  }

  private hardlink(h: TarHeader, host: string): void {
    const tparts = normalizeParts(h.linkname ?? '');
    if (tparts.length === 0) throw unsafe(`hardlink ${h.name} -> ${h.linkname} points at the root`);
    const tdir = this.scope.resolveDir(tparts.slice(0, -1), false, h.name);
    const thost = tdir === undefined ? undefined : this.scope.host(joinRel(tdir, tparts[tparts.length - 1]!));
    const tst = thost === undefined ? undefined : this.lstatFinal(thost);
    if (!thost || !tst || tst.isDirectory()) throw unsafe(`hardlink ${h.name} -> ${h.linkname}: target is not an existing non-directory inside the layer root`);
    const existing = this.lstatFinal(host);
    if (existing && existing.ino === tst.ino && existing.dev === tst.dev) return;
    if (existing) this.remove(host, existing);
    fs.linkSync(thost, host);
  }

  private lstatFinal(host: string): fs.Stats | undefined {
    if (this.pending.has(host)) this.flush();
    return lstatOrUndefined(host);
  }

  private remove(host: string, st: fs.Stats): void {
    if (st.isDirectory() || st.isSymbolicLink()) {
      this.flush();
      this.scope.forget();
    }
    if (st.isDirectory()) fs.rmSync(host, { recursive: true, force: true });
    else fs.unlinkSync(host);
  }

  private setDirMeta(host: string, h: TarHeader): void {
    const fd = fs.openSync(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      fs.fchownSync(fd, h.uid, h.gid);
      fs.fchmodSync(fd, h.mode);
    } finally {
      fs.closeSync(fd);
    }
  }

  private queueXattrs(host: string, h: TarHeader): void {
    for (const [name, value] of Object.entries(h.xattrs ?? {})) {
      if (name.startsWith('trusted.overlay.')) continue; // only whiteout entries may shape the overlay
      if (h.type === 'symlink' && name.startsWith('user.')) continue; // Linux refuses user.* on symlinks
      this.queueAttr(host, name, value);
    }
  }

  private queueAttr(host: string, name: string, value: Buffer): void {
    this.attrs.push({ path: host, name, value });
    this.pending.add(host);
  }

  private flush(): void {
    try {
      if (this.nodes.length > 0) {
        mknodBatch(this.nodes);
        for (const n of this.nodes) {
          fs.lchownSync(n.path, n.uid, n.gid);
          if (n.mode & 0o7000) fs.chmodSync(n.path, n.mode); // chown cleared set-id bits; the node is ours
          fs.lutimesSync(n.path, n.mtime, n.mtime);
        }
      }
      if (this.attrs.length > 0) setXattrBatch(this.attrs);
    } catch (e) {
      throw e instanceof TsbuildError ? e : new TsbuildError('TSB_TAR_INVALID', `cannot apply layer: ${(e as Error).message}`, { cause: e });
    } finally {
      this.nodes = [];
      this.attrs = [];
      this.pending.clear();
    }
  }
}
