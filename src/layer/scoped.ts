import * as fs from 'node:fs';
import { TsbuildError } from '../util/index.js';

const MAX_LINKS = 40;

/** Lexically normalizes a tar path as if joined onto "/": no leading slash, `.` dropped, `..` clamped at the root. */
export function normalizeParts(name: string): string[] {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

/** lstat that returns undefined for a missing path (ENOENT) and throws anything else. */
export function lstatOrUndefined(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false });
}

export function joinRel(dir: string, base: string): string {
  return dir === '' ? base : `${dir}/${base}`;
}

export function unsafe(msg: string): TsbuildError {
  return new TsbuildError('TSB_TAR_UNSAFE', `unsafe layer entry: ${msg}`);
}

/**
 * Resolves directories inside `root` component by component with lstat, as if `root` were "/" (a chroot):
 * symlinks met on the way are re-resolved inside the root (absolute targets from the root, `..` clamped),
 * never followed by the host. Resolved results are real relative paths made only of real directories.
 */
export class ScopedRoot {
  private readonly cache = new Map<string, string>();

  constructor(
    readonly root: string,
    /** Called with each real directory passed through or created on a cache miss. */
    private readonly onDir?: (rel: string) => void,
  ) {}

  /** The host path of a real relative path. */
  host(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /** Forgets cached resolutions (after anything that could change the tree's shape). */
  forget(): void {
    this.cache.clear();
  }

  /** Records that normalized `parts` is the real directory `rel`. */
  remember(parts: string[], rel: string): void {
    this.cache.set(parts.join('/'), rel);
  }

  /**
   * The real relative directory for `parts`. With `create`, missing directories are made (0755, owned by the
   * caller) and a non-directory in the way is an error; without it, undefined is returned instead.
   */
  resolveDir(parts: string[], create: boolean, entry: string): string | undefined {
    const key = parts.join('/');
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const todo = parts.slice();
    let cur = '';
    let links = 0;
    while (todo.length > 0) {
      const c = todo.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        cur = cur.includes('/') ? cur.slice(0, cur.lastIndexOf('/')) : '';
        continue;
      }
      const next = joinRel(cur, c);
      const st = lstatOrUndefined(this.host(next));
      if (st === undefined) {
        if (!create) return undefined;
        fs.mkdirSync(this.host(next), 0o755);
        fixDirMode(this.host(next));
      } else if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw unsafe(`${entry}: too many levels of symbolic links`);
        const target = fs.readlinkSync(this.host(next));
        todo.unshift(...target.split('/'));
        if (target.startsWith('/')) cur = '';
        continue;
      } else if (!st.isDirectory()) {
        if (!create) return undefined;
        throw new TsbuildError('TSB_TAR_INVALID', `invalid layer entry ${entry}: /${next} is not a directory`);
      }
      cur = next;
      this.onDir?.(cur);
    }
    this.cache.set(key, cur);
    return cur;
  }

  /** True when every component of real relative path `rel` is still a real directory (no symlinks). */
  isRealDir(rel: string, verified: Set<string>): boolean {
    let cur = '';
    for (const c of rel === '' ? [] : rel.split('/')) {
      cur = joinRel(cur, c);
      if (verified.has(cur)) continue;
      if (!lstatOrUndefined(this.host(cur))?.isDirectory()) return false;
      verified.add(cur);
    }
    return true;
  }
}

/** Sets a just-created directory's mode to exactly 0755 whatever the umask, without following symlinks. */
function fixDirMode(host: string): void {
  const fd = fs.openSync(host, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    fs.fchmodSync(fd, 0o755);
  } finally {
    fs.closeSync(fd);
  }
}
