import * as fs from 'node:fs';
import * as path from 'node:path';
import { getXattr } from '../sys/index.js';
import { isErrno } from '../util/index.js';

/** A directory the step only touched as a side effect (mount stubs), with its metadata from before. */
export interface Untouched {
  path: string;
  stat: fs.Stats;
}

/**
 * Drops a directory from an upper dir when overlayfs copied it up but nothing in it changed: empty in the
 * upper, not opaque, same mode, owner and mtime as before. The merged view stays the same; the layer
 * does not carry a spurious entry.
 */
export function pruneCopiedUp(upper: string, u: Untouched): void {
  const p = path.join(upper, u.path);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  const same = st.isDirectory() && st.mode === u.stat.mode && st.uid === u.stat.uid && st.gid === u.stat.gid && Math.floor(st.mtimeMs) === Math.floor(u.stat.mtimeMs);
  if (!same || fs.readdirSync(p).length > 0 || getXattr(p, 'trusted.overlay.opaque') !== undefined) return;
  fs.rmdirSync(p);
}
