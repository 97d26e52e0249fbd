import { randomBytes } from './crypto.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isErrno } from './errors.js';

/** A unique sibling temp name for `target`, for write-then-rename. */
export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.tmp-${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Writes `data` to `target` atomically: temp file, fsync, rename. `durable: false` skips the fsync for
 * state that only matters while the machine stays up (a process journal): still atomic for readers.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array, options: { durable?: boolean } = {}): void {
  const tmp = tempSibling(target);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (options.durable !== false) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** lstat, or undefined when nothing is there (ENOENT, or ENOTDIR: a parent is not a directory). */
export function lstatIfExists(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false });
  } catch (e) {
    if (isErrno(e, 'ENOTDIR')) return undefined;
    throw e;
  }
}

/** Removes a file; a missing one is fine (fs.rmSync with force would load node's rimraf module for this). */
export function unlinkIfExists(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}

/** Reads a file or returns undefined when it does not exist. */
export function readFileIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/** A directory's entry names, or [] when the directory does not exist. */
export function readDirIfExists(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
}

/** mkdir -p for tsbuild's own state directories (never for paths inside a rootfs). */
export function ensureDir(dir: string, mode = 0o700): void {
  fs.mkdirSync(dir, { recursive: true, mode });
}

/** Removes a tree if present. Only for tsbuild's own state directories. */
export function removeTree(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
