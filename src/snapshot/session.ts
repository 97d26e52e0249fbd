import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDir, isErrno, ownerAlive, processStartTime, writeFileAtomic, readDirIfExists } from '../util/index.js';
import { mountsUnder, unmount } from '../sys/index.js';

/**
 * A process's scratch area under `<root>/run/<pid>.<starttime>/`: every mount and upper dir a build makes
 * lives inside it, and a journal lists the containers it started. If the process dies (even by kill -9),
 * the next tsbuild process finds the owner gone and undoes it all: see `recoverSessions`.
 */
export interface Session {
  readonly dir: string;
  /** Journals a container id before it starts, so a crash can be cleaned up. */
  addContainer(id: string): void;
  removeContainer(id: string): void;
  /** A fresh, empty directory inside the session. */
  tempDir(prefix: string): string;
  /** Journals layer snapshots and blobs this process uses, so a concurrent prune keeps them. */
  retain(ids: string[]): void;
  /** Unmounts everything and removes the session directory. */
  close(): void;
}

interface Journal { pid: number; start?: string; containers: string[]; retained?: string[] }

let counter = 0;

/** Starts a session for this process in `<root>/run/`; its directory is made on first use (no-op builds make none). */
export function openSession(root: string): Session {
  const runDir = path.join(root, 'run');
  const start = processStartTime(process.pid);
  const dir = path.join(runDir, `${process.pid}.${start ?? '0'}.${Date.now().toString(36)}`);
  const journal: Journal = { pid: process.pid, start, containers: [] };
  let created = false;
  const save = () => {
    if (!created) {
      ensureDir(runDir);
      ensureDir(dir);
      created = true;
    }
    // Only live processes read the journal, and a reboot ends them all: no fsync needed.
    writeFileAtomic(path.join(dir, 'journal.json'), JSON.stringify(journal), { durable: false });
  };
  let closed = false;
  let temps = 0;
  return {
    dir,
    addContainer(id) {
      journal.containers.push(id);
      save();
    },
    removeContainer(id) {
      journal.containers = journal.containers.filter((c) => c !== id);
      save();
    },
    retain(ids) {
      const known = new Set(journal.retained ?? []);
      const fresh = ids.filter((id) => !known.has(id));
      if (fresh.length === 0) return;
      journal.retained = [...known, ...fresh];
      save();
    },
    tempDir(prefix) {
      if (!created) save();
      temps++;
      const d = path.join(dir, `${prefix}${++counter}`);
      fs.mkdirSync(d, { mode: 0o700 });
      return d;
    },
    close() {
      if (closed) return;
      closed = true;
      if (!created) return;
      // only a journal (a no-op build retains its cached layers): nothing mounted, nothing big to delete
      if (temps === 0) fs.rmSync(dir, { recursive: true, force: true });
      else teardown(dir);
    },
  };
}

function teardown(dir: string): void {
  for (const mp of mountsUnder(dir, fs.readFileSync('/proc/self/mountinfo', 'utf8'))) unmount(mp);
  discard(dir);
}

/**
 * Deletes a scratch tree off the hot path: renamed into `<root>/trash/` at once, removed by a detached
 * `rm -rf` that outlives this process (big deletions make the next file creations slow on these disks).
 */
function discard(dir: string): void {
  const trash = path.join(path.dirname(path.dirname(dir)), 'trash');
  ensureDir(trash);
  const target = path.join(trash, `${path.basename(dir)}.${Date.now().toString(36)}`);
  try {
    fs.renameSync(dir, target);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  spawn('rm', ['-rf', target], { detached: true, stdio: 'ignore' }).unref();
}

/** Trash entries kept before one detached `rm` takes them all (removed containers are renamed in here). */
const TRASH_BATCH = 16;
const TRASH_MAX_AGE_MS = 60_000;

/**
 * Removes what earlier processes left in `<root>/trash/` (a detached rm may have been cut short, and removed
 * containers are only renamed here). One detached `rm` takes a batch: once there are TRASH_BATCH entries or
 * one is older than a minute, so that most commands pay a readdir, not a process spawn.
 */
export function emptyTrash(root: string): void {
  const trash = path.join(root, 'trash');
  const names = readDirIfExists(trash);
  if (names.length === 0) return;
  const now = Date.now();
  const stale = () =>
    names.some((n) => {
      try {
        return now - fs.lstatSync(path.join(trash, n)).ctimeMs > TRASH_MAX_AGE_MS;
      } catch {
        return false;
      }
    });
  if (names.length >= TRASH_BATCH || stale()) spawn('rm', ['-rf', ...names.map((n) => path.join(trash, n))], { detached: true, stdio: 'ignore' }).unref();
}

/**
 * Cleans up after tsbuild processes that died: kills and deletes their containers, unmounts their mounts,
 * removes their scratch dirs. `killContainer` is injected so this module does not depend on the runtime.
 */
export function recoverSessions(root: string, killContainer: (id: string) => void): number {
  const runDir = path.join(root, 'run');
  const entries = readDirIfExists(runDir);
  let recovered = 0;
  for (const name of entries) {
    const dir = path.join(runDir, name);
    let journal: Journal | undefined;
    try {
      journal = JSON.parse(fs.readFileSync(path.join(dir, 'journal.json'), 'utf8')) as Journal;
    } catch (e) {
      if (!isErrno(e, 'ENOENT') && !(e instanceof SyntaxError)) throw e;
    }
    const [pidText, startText] = name.split('.');
    const pid = journal?.pid ?? Number(pidText);
    const start = journal?.start ?? startText;
    if (ownerAlive(pid, start)) continue;
    for (const id of journal?.containers ?? []) killContainer(id);
    teardown(dir);
    recovered++;
  }
  return recovered;
}

/** Layer snapshots and blobs that live tsbuild processes on this store have journaled as in use. */
export function retainedByLiveSessions(root: string): Set<string> {
  const out = new Set<string>();
  const entries = readDirIfExists(path.join(root, 'run'));
  for (const name of entries) {
    try {
      const j = JSON.parse(fs.readFileSync(path.join(root, 'run', name, 'journal.json'), 'utf8')) as Journal;
      if (ownerAlive(j.pid, j.start)) for (const id of j.retained ?? []) out.add(id);
    } catch (e) {
      if (!isErrno(e, 'ENOENT') && !(e instanceof SyntaxError)) throw e;
    }
  }
  return out;
}
