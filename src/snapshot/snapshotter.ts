import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestHex, type Digest } from '../oci/index.js';
import { ensureDir, isErrno } from '../util/index.js';
import { mountOverlay, unmount } from '../sys/index.js';
import type { Session } from './session.js';

/** A writable overlay: lowers + a fresh upper, mounted at `merged`. */
export interface ActiveSnapshot {
  merged: string;
  upper: string;
  /** Unmounts; the upper dir stays until the session ends or it is adopted as a layer. */
  unmount(): void;
}

/** A read-only merged view of layers. */
export interface SnapshotView {
  path: string;
  release(): void;
}

/**
 * Overlay snapshotter. Every layer lives once, extracted in overlay form (whiteouts as 0:0 char devices,
 * opaque dirs by xattr), at `<root>/snapshots/<diffID hex>`; a layer dir appears only complete (rename).
 * Mounts list lowers by their short relative names from the snapshots dir, so ~60 layers fit in one mount.
 */
export class Snapshotter {
  readonly dir: string;
  /** Extractions under way in this process: concurrent stages share one instead of racing. */
  private readonly pending = new Map<Digest, Promise<string>>();
  constructor(root: string, private readonly session: Session) {
    this.dir = path.join(root, 'snapshots');
    ensureDir(this.dir);
  }

  layerPath(diffId: Digest): string {
    return path.join(this.dir, digestHex(diffId));
  }

  hasLayer(diffId: Digest): boolean {
    return fs.existsSync(this.layerPath(diffId));
  }

  /** Makes sure the layer dir exists, filling a temp dir with `fill` and renaming it into place. */
  ensureLayer(diffId: Digest, fill: (dir: string) => Promise<void>): Promise<string> {
    const target = this.layerPath(diffId);
    if (fs.existsSync(target)) return Promise.resolve(target);
    let p = this.pending.get(diffId);
    if (!p) {
      p = this.extract(diffId, fill).finally(() => this.pending.delete(diffId));
      this.pending.set(diffId, p);
    }
    return p;
  }

  private async extract(diffId: Digest, fill: (dir: string) => Promise<void>): Promise<string> {
    const target = this.layerPath(diffId);
    const tmp = this.session.tempDir('extract');
    await fill(tmp);
    this.adopt(tmp, diffId);
    return target;
  }

  /** Moves a finished directory (an upper dir or extraction) into place as layer `diffId`. */
  adopt(dir: string, diffId: Digest): string {
    this.session.retain([diffId]);
    const target = this.layerPath(diffId);
    try {
      fs.renameSync(dir, target);
    } catch (e) {
      if (!isErrno(e, 'ENOTEMPTY') && !isErrno(e, 'EEXIST')) throw e;
    }
    return target;
  }

  /** Mounts `lowers` (bottom first) with a fresh upper dir. */
  prepare(lowers: Digest[]): ActiveSnapshot {
    this.session.retain(lowers);
    const base = this.session.tempDir('rw');
    const upper = path.join(base, 'upper');
    const work = path.join(base, 'work');
    const merged = path.join(base, 'merged');
    for (const d of [upper, work, merged]) fs.mkdirSync(d, { mode: 0o755 });
    const lowerNames = this.lowerNames(lowers, base);
    mountOverlay({ lower: lowerNames, upper, work, target: merged, cwd: this.dir, volatile: true });
    return { merged, upper, unmount: () => unmount(merged) };
  }

  /** A read-only merged view of `lowers` (bottom first). */
  view(lowers: Digest[]): SnapshotView {
    this.session.retain(lowers);
    if (new Set(lowers).size === 1) return { path: this.layerPath(lowers[0]!), release: () => {} };
    const base = this.session.tempDir('ro');
    const merged = path.join(base, 'merged');
    fs.mkdirSync(merged);
    if (lowers.length === 0) return { path: merged, release: () => {} };
    mountOverlay({ lower: this.lowerNames(lowers, base), target: merged, cwd: this.dir });
    return { path: merged, release: () => unmount(merged) };
  }

  /**
   * A short relative name for a layer dir: `l/<16 hex>`, a symlink to it, so that ~200 layers fit in the
   * one page of mount options (the full 64-hex names would allow ~60). Falls back to the full name on the
   * (astronomically unlikely) clash of two prefixes.
   */
  private shortName(hex: string): string {
    const link = path.join(this.dir, 'l', hex.slice(0, 16));
    const target = `../${hex}`;
    try {
      fs.symlinkSync(target, link);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) {
        ensureDir(path.join(this.dir, 'l'));
        return this.shortName(hex);
      }
      if (!isErrno(e, 'EEXIST')) throw e;
      if (fs.readlinkSync(link) !== target) return hex;
    }
    return `l/${hex.slice(0, 16)}`;
  }

  /**
   * Overlay lowerdir names, topmost first. overlayfs refuses a dir listed twice; a layer that appears twice
   * (e.g. the same COPY repeated) is kept only at its top position, which gives the same merged view.
   */
  private lowerNames(lowers: Digest[], scratch: string): string[] {
    const names = [...new Set(lowers.map((d) => digestHex(d)).reverse())].map((hex) => this.shortName(hex));
    if (names.length === 0) {
      const empty = path.join(scratch, 'empty');
      fs.mkdirSync(empty);
      names.push(path.relative(this.dir, empty));
    }
    return names;
  }
}
