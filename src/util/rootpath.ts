import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsbuildError, isErrno } from './errors.js';
import { lstatIfExists } from './fs.js';

const MAX_LINKS = 40;

/** What resolveComponents sees at a path (components relative to the root, symlinks already followed). */
export interface RootEntry {
  st: fs.Stats;
  /** The target of a symlink. */
  readlink(): string;
}

/**
 * Resolves `unsafePath` component by component as if the root were "/" (like chroot): symlinks met on the
 * way are followed within the root (the last component only with `followFinal`), `..` is clamped at the
 * root, at most MAX_LINKS links. `at(parts)` looks an entry up; a missing one is kept as a name (`missing:
 * 'keep'`, the path may be created) or ends the lookup with undefined (`'stop'`, which also stops at a
 * non-directory in the middle). Returns the resolved components.
 */
export function resolveComponents(unsafePath: string, at: (parts: string[]) => RootEntry | undefined, options: { followFinal?: boolean; missing: 'keep' | 'stop' }): string[] | undefined {
  const stack: string[] = [];
  const queue = unsafePath.split('/');
  let links = 0;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      stack.pop();
      continue;
    }
    const e = at([...stack, c]);
    const isLast = queue.every((q) => q === '' || q === '.');
    if (!e) {
      if (options.missing === 'stop') return undefined;
      stack.push(c);
      continue;
    }
    if (e.st.isSymbolicLink() && (!isLast || options.followFinal)) {
      if (++links > MAX_LINKS) throw new TsbuildError('TSB_PATH_UNSAFE', `too many levels of symbolic links resolving ${unsafePath}`);
      const target = e.readlink();
      if (target.startsWith('/')) stack.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (options.missing === 'stop' && !isLast && !e.st.isDirectory()) return undefined;
    stack.push(c);
  }
  return stack;
}

/**
 * Resolves `unsafePath` inside `root` as if `root` were "/" (like chroot): symlinks met on the way are
 * followed within root, `..` is clamped at root. The last component is followed only with `followFinal`.
 * Returns a host path that is always inside root. Never follows anything on the host side.
 */
export function resolveInRoot(root: string, unsafePath: string, options: { followFinal?: boolean } = {}): string {
  const at = (parts: string[]): RootEntry | undefined => {
    const host = path.join(root, ...parts);
    const st = lstatIfExists(host);
    return st && { st, readlink: () => fs.readlinkSync(host) };
  };
  const stack = resolveComponents(unsafePath, at, { ...options, missing: 'keep' })!;
  return stack.length === 0 ? root : path.join(root, ...stack);
}

/** Reads a file inside a rootfs (root-scoped), or undefined when it does not exist. */
export function readFileInRoot(root: string, unsafePath: string): Buffer | undefined {
  const p = resolveInRoot(root, unsafePath, { followFinal: true });
  try {
    const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      if (!fs.fstatSync(fd).isFile()) return undefined;
      return fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR') || isErrno(e, 'ELOOP')) return undefined;
    throw e;
  }
}

/**
 * Creates directory `unsafePath` and its missing parents inside root (root-scoped), owned by uid:gid with
 * `mode`. Existing directories are left as they are. Returns the host path.
 */
export function mkdirAllInRoot(root: string, unsafePath: string, owner: { uid: number; gid: number; mode?: number } = { uid: 0, gid: 0 }): string {
  const parts = path.posix.normalize(`/${unsafePath}`).split('/').filter(Boolean);
  let current = '/';
  for (const part of parts) {
    const next = path.posix.join(current, part);
    const host = resolveInRoot(root, next, { followFinal: true });
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(host);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    if (!st) {
      fs.mkdirSync(host, { mode: owner.mode ?? 0o755 });
      fs.chmodSync(host, owner.mode ?? 0o755);
      fs.lchownSync(host, owner.uid, owner.gid);
    } else if (!st.isDirectory()) {
      throw new TsbuildError('TSB_PATH_UNSAFE', `${next} exists and is not a directory`);
    }
    current = path.posix.relative(root, host) === '' ? '/' : `/${path.relative(root, host)}`;
  }
  return resolveInRoot(root, unsafePath, { followFinal: true });
}
