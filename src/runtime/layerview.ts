/**
 * A read-only view of an overlay stack (image layer snapshots, topmost first) that reads the merged tree
 * without mounting it: `tsbuild run` looks up the command, /etc/passwd and /etc/group before the container
 * starts, and mounting the rootfs on the host for that (mount(8) and later umount(8): two spawns, ~20 ms on a
 * 2-core VM) would be most of the run's own cost. The runtime mounts the overlay itself, inside the
 * container's mount namespace (see spec.ts), so nothing is mounted on the host at all.
 *
 * Overlay rules followed: the topmost layer holding a name wins; a whiteout (char device 0/0) hides the
 * name below it; a non-directory hides everything below it at and under that name; an opaque directory
 * (xattr trusted.overlay.opaque=y) hides what lower layers hold under it. Paths are resolved as in a chroot:
 * symlinks are followed inside the view, `..` stops at the root, nothing on the host is ever followed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getXattr } from '../sys/index.js';
import { isErrno, lstatIfExists, resolveComponents } from '../util/index.js';

interface Entry {
  /** Host path of the entry in the layer that provides it. */
  host: string;
  st: fs.Stats;
}

export class LayerView {
  private readonly opaque = new Map<string, boolean>();

  /** `dirs`: absolute layer roots, topmost first. */
  constructor(private readonly dirs: string[]) {}

  /** The merged entry at `parts` (components already free of symlinks), or undefined when absent. */
  private entry(parts: string[]): Entry | undefined {
    if (parts.length === 0) return { host: this.dirs[0]!, st: fs.statSync(this.dirs[0]!) };
    for (const [n, dir] of this.dirs.entries()) {
      let host = dir;
      for (let i = 0; i < parts.length; i++) {
        host = `${host}/${parts[i]}`;
        const st = lstatIfExists(host);
        if (!st) {
          // absent in this layer: lower layers count unless one of the dirs above it here is opaque
          if (n === this.dirs.length - 1 || this.anyOpaque(dir, parts.slice(0, i))) return undefined;
          break;
        }
        if (isWhiteout(st)) return undefined;
        if (i === parts.length - 1) return { host, st };
        if (!st.isDirectory()) return undefined;
      }
    }
    return undefined;
  }

  private anyOpaque(dir: string, parents: string[]): boolean {
    let host = dir;
    for (const p of parents) {
      host = `${host}/${p}`;
      let o = this.opaque.get(host);
      if (o === undefined) {
        o = getXattr(host, 'trusted.overlay.opaque')?.toString() === 'y';
        this.opaque.set(host, o);
      }
      if (o) return true;
    }
    return false;
  }

  /**
   * Resolves `unsafePath` in the view (the last component followed only with `followFinal`) and returns the
   * entry there, or undefined when it does not exist.
   */
  lookup(unsafePath: string, options: { followFinal?: boolean } = {}): Entry | undefined {
    const at = (parts: string[]) => {
      const e = this.entry(parts);
      return e && { st: e.st, readlink: () => fs.readlinkSync(e.host) };
    };
    const parts = resolveComponents(unsafePath, at, { ...options, missing: 'stop' });
    return parts && this.entry(parts);
  }

  /** The content of a regular file (symlinks followed inside the view), or undefined. */
  readFile(unsafePath: string): Buffer | undefined {
    const e = this.lookup(unsafePath, { followFinal: true });
    if (!e || !e.st.isFile()) return undefined;
    try {
      const fd = fs.openSync(e.host, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        return fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ELOOP')) return undefined;
      throw err;
    }
  }
}

/** Absolute layer dirs of a container record's lowers (relative names resolve against its snapshots dir). */
export function layerDirs(snapshotsDir: string, lowers: string[]): string[] {
  return lowers.map((l) => path.resolve(snapshotsDir, l));
}

function isWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}
