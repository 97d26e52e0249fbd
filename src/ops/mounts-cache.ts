import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDir, isErrno, ownerAlive, processStartTime, randomBytes, readDirIfExists } from '../util/index.js';

// Persistent cache-mount dirs: `<root>/cache-mounts/<key>/<n>/` hold the data of one cache (key = hash of the
// cache id and its seed); `<n>.users/<nonce>` files ({pid, start}) say who uses dir n right now. `shared` and
// `locked` users take dir 0; a `private` user takes the first dir nobody else uses (a new one if all are busy),
// as BuildKit's "private: creates a new mount if there are multiple writers".

/** A cache dir in use; release() drops this user's lease (the data stays for the next build). */
export interface CacheMountLease {
  dir: string;
  release(): void;
}

export interface AcquireCacheMount {
  /** Store root. */
  root: string;
  /** Hex key naming the cache (id + seed identity). */
  key: string;
  private: boolean;
  /** Fills a new cache dir (seed copy, mode, owner) before it becomes visible. */
  init(dir: string): Promise<void>;
  /** Runs `fn` under an inter-process lock of that name (the store's withLock). */
  lock<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** Where a store keeps its cache mounts (the same dir src/cache/mounts.ts prunes; ops may not import cache). */
export function cacheMountsDir(root: string): string {
  return path.join(root, 'cache-mounts');
}

interface Lease { pid: number; start?: string }

function liveUsers(usersDir: string): number {
  const names = readDirIfExists(usersDir);
  let live = 0;
  for (const n of names) {
    const file = path.join(usersDir, n);
    let lease: Lease | undefined;
    try {
      lease = JSON.parse(fs.readFileSync(file, 'utf8')) as Lease;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) continue;
      if (!(e instanceof SyntaxError)) throw e;
    }
    if (lease && ownerAlive(lease.pid, lease.start)) live++;
    else fs.rmSync(file, { force: true });
  }
  return live;
}

/** Takes a cache dir for `key` (creating it with `init` when missing) and records this process as a user. */
export async function acquireCacheMount(o: AcquireCacheMount): Promise<CacheMountLease> {
  if (!/^[0-9a-f]{16,64}$/.test(o.key)) throw new Error(`invalid cache mount key ${o.key}`);
  const base = path.join(cacheMountsDir(o.root), o.key);
  return o.lock(`cache-mount-${o.key.slice(0, 32)}`, async () => {
    ensureDir(base, 0o700);
    let n = 0;
    if (o.private) while (fs.existsSync(path.join(base, String(n))) && liveUsers(path.join(base, `${n}.users`)) > 0) n++;
    const dir = path.join(base, String(n));
    if (!fs.existsSync(dir)) {
      const tmp = path.join(base, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
      fs.mkdirSync(tmp, { mode: 0o755 });
      try {
        await o.init(tmp);
        fs.renameSync(tmp, dir);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    }
    const usersDir = path.join(base, `${n}.users`);
    ensureDir(usersDir, 0o700);
    const leaseFile = path.join(usersDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    fs.writeFileSync(leaseFile, JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) }));
    return { dir, release: () => fs.rmSync(leaseFile, { force: true }) };
  });
}
