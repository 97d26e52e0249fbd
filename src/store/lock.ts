import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrno, processStartTime, randomBytes, TsbuildError, unlinkIfExists } from '../util/index.js';

// On-disk lock: `<locks>/<name>/` is a directory; the lock is held while it contains `owner-<nonce>`
// ({pid, start, nonce}). Acquire = rename a prepared non-empty dir onto the lock path (fails with
// ENOTEMPTY/EEXIST while held; an empty or absent dir is free). Release = unlink our owner file. A dead
// owner's file is unlinked by name: the nonce is unique, so this is a compare-and-delete that can never
// remove a newer owner's lock.

export interface LockOwner {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot): tells the owner from a reused pid. */
  start: string;
  nonce: string;
}

export interface LockOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const OWNER_PREFIX = 'owner-';

/** True while the process that recorded `owner` still runs (same pid and same start time). */
export function lockOwnerAlive(owner: Pick<LockOwner, 'pid' | 'start'>): boolean {
  return processStartTime(owner.pid) === owner.start;
}

/** Reads the current owner of a lock dir: undefined when free, 'unreadable' for a damaged owner file. */
export function readLockOwner(lockDir: string): { file: string; owner: LockOwner | 'unreadable' } | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(lockDir);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
  const name = names.find((n) => n.startsWith(OWNER_PREFIX));
  if (name === undefined) return undefined;
  const file = path.join(lockDir, name);
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    const ok = Number.isInteger(o.pid) && typeof o.start === 'string' && typeof o.nonce === 'string';
    return { file, owner: ok ? o : 'unreadable' };
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { file, owner: 'unreadable' };
    if (e instanceof SyntaxError) return { file, owner: 'unreadable' };
    throw e;
  }
}

function tryAcquire(lockDir: string, prepared: string): boolean {
  try {
    fs.renameSync(prepared, lockDir);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOTEMPTY') || isErrno(e, 'EEXIST')) return false;
    throw e;
  }
}

/** Acquires the lock dir, waiting with backoff; returns the release function. */
export async function acquireLock(locksDir: string, name: string, opts: LockOptions = {}): Promise<() => void> {
  if (!NAME_RE.test(name)) throw new Error(`invalid lock name "${name}"`);
  const lockDir = path.join(locksDir, name);
  const start = processStartTime(process.pid);
  if (start === undefined) throw new Error('cannot read /proc/self/stat');
  const owner: LockOwner = { pid: process.pid, start, nonce: `${process.pid}-${randomBytes(8).toString('hex')}` };
  const ownerName = `${OWNER_PREFIX}${owner.nonce}`;
  const prepared = path.join(locksDir, `.tmp-lock-${process.pid}-${randomBytes(6).toString('hex')}`);
  fs.mkdirSync(prepared);
  fs.writeFileSync(path.join(prepared, ownerName), JSON.stringify(owner));
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let delay = 2;
  let holder: LockOwner | 'unreadable' | undefined;
  try {
    for (;;) {
      if (tryAcquire(lockDir, prepared)) {
        const mine = path.join(lockDir, ownerName);
        return () => unlinkIfExists(mine);
      }
      const current = readLockOwner(lockDir);
      holder = current?.owner;
      if (current && (current.owner === 'unreadable' || !lockOwnerAlive(current.owner))) {
        unlinkIfExists(current.file); // a dead owner's file, by its unique name: a no-op when another reaper was first
        continue;
      }
      if (opts.signal?.aborted) throw new TsbuildError('TSB_CANCELLED', `cancelled while waiting for lock ${name}`);
      if (Date.now() > deadline) {
        const who = typeof holder === 'object' ? `pid ${holder.pid}` : 'another process';
        throw new TsbuildError('TSB_STORE_LOCKED', `store lock "${name}" is held by ${who}`, {
          hint: `wait for ${who} to finish; the lock is ${lockDir}`,
        });
      }
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(delay * 1.6, 100);
    }
  } finally {
    fs.rmSync(prepared, { recursive: true, force: true });
  }
}

const inProcess = new Map<string, Promise<void>>();

/** Runs `fn` holding the named inter-process lock; callers in one process queue without polling. Not reentrant. */
export async function withLockAt<T>(locksDir: string, name: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const key = path.join(locksDir, name);
  const prev = inProcess.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = prev.then(() => mine);
  inProcess.set(key, tail);
  await prev;
  try {
    const release = await acquireLock(locksDir, name, opts);
    try {
      return await fn();
    } finally {
      release();
    }
  } finally {
    done();
    if (inProcess.get(key) === tail) inProcess.delete(key);
  }
}
