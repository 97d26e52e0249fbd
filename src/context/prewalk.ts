import * as fs from 'node:fs';
import { createHash } from '../util/index.js';
import { FS_TREE, type EntryStat, type TreeReader } from './select.js';

/**
 * The build context's stat walk, made by find(1) while node starts: bin/tsbuild (the launcher) runs find
 * over a build's last argument when that is a directory, writing to an unlinked file that node inherits;
 * bin/tsbuild.cjs keeps that file open, this module reads and uses it.
 *
 * Why: a no-op rebuild of a 5,000-file context spent ~75 ms of ~190 ms walking it: one lstat per file,
 * ~6 us each in these VMs, and a Stats object with four Dates each in node 20, all on one core while the
 * other idles through node's start-up. find makes the same system calls in C, on the other core, during
 * the ~60 ms node spends starting; what is left here is parsing ~100 bytes per file.
 *
 * Trust: the listing is a cache of stats taken as the build started. Entries and directories it lacks are
 * read from the file system, and a file's content digest still comes from the stat cache (keyed by these
 * stats) or the file itself, so a file changed after the walk is at worst read again on the next build.
 * When find is not done by the time the walk is needed (a huge tree, a busy machine), or failed (no
 * find, a busybox find without -printf, an unreadable directory), the build walks the context itself.
 */

/** What bin/tsbuild.cjs leaves on globalThis under this symbol. */
export const PREWALK = Symbol.for('tsbuild.prewalk');
export interface PrewalkHandle {
  /** the directory as the command line named it (relative to the working directory) */
  dir: string;
  /** find's output file (unlinked), read-only */
  fd: number;
  /** find's pid: a child of this process (bash started it, then exec'd node), never reaped by node */
  pid: number;
}

/** How long a build waits for find to finish before it walks the context itself. */
const PATIENCE_MS = 40;

const TYPE_BITS: Record<string, number> = { f: 0o100000, d: 0o040000, l: 0o120000, p: 0o010000, s: 0o140000, c: 0o020000, b: 0o060000 };
const S_IFMT = 0o170000;

class PrewalkStat implements EntryStat {
  constructor(
    readonly mode: number, readonly uid: number, readonly gid: number, readonly size: number, readonly ino: number,
    readonly dev: number, readonly nlink: number, readonly mtimeMs: number, readonly ctimeMs: number,
  ) {}
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === 0o040000;
  }
  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === 0o120000;
  }
}

export interface PrewalkTree {
  entries: Map<string, { stat: PrewalkStat; link: string }>;
  /** entries find did not descend (the launcher's .dockerignore pruning) */
  pruned: string[];
  /** sorted entry names of every directory find listed completely */
  children: Map<string, string[]>;
}

/** find's `%T@` seconds and fraction digits as node's mtimeMs: sec * 1e3 + nsec / 1e6, node's own arithmetic. */
function ms(sec: string, frac: string): number {
  return Number(sec) * 1e3 + Number(frac.padEnd(9, '0')) / 1e6;
}

// One record: N|P, %y, %m (octal), %U %G %s %i %D %n, %T@ and %C@ (seconds.fraction), %P NUL %l NUL. A
// sticky regex: native matching costs ~3 us a record even before V8 optimises anything, where a
// hand-written digit loop ran ~90 ms for 5,000 records in the interpreter of a fresh process.
const RECORD = /([NP]) (.) ([0-7]+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)\.?(\d{0,9})\d* (\d+)\.?(\d{0,9})\d* ([^\0]*)\0([^\0]*)\0/y;

/** Parses find's output; undefined unless every byte of it is a well-formed record. */
export function parsePrewalk(out: string): PrewalkTree | undefined {
  const entries = new Map<string, { stat: PrewalkStat; link: string }>();
  const children = new Map<string, string[]>();
  const pruned: string[] = [];
  const re = new RegExp(RECORD);
  let end = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(out)) !== null) {
    end = re.lastIndex;
    const [, flag, type, mode, uid, gid, size, ino, dev, nlink, mtS, mtF, ctS, ctF, rel, link] = m as unknown as string[];
    const stat = new PrewalkStat(
      (TYPE_BITS[type!] ?? 0) | parseInt(mode!, 8), Number(uid), Number(gid), Number(size), Number(ino), Number(dev), Number(nlink),
      ms(mtS!, mtF!), ms(ctS!, ctF!),
    );
    entries.set(rel!, { stat, link: link! });
    if (flag === 'P') pruned.push(rel!);
    else if (type === 'd' && !children.has(rel!)) children.set(rel!, []);
    if (rel === '') continue;
    const slash = rel!.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel!.slice(0, slash);
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push(slash < 0 ? rel! : rel!.slice(slash + 1));
  }
  if (end !== out.length) return undefined; // truncated or not find's -printf
  for (const list of children.values()) list.sort();
  return { entries, children, pruned };
}

/** A TreeReader over `rootDir` (as the walk spells it) answering from `tree`, the file system for the rest. */
export function prewalkReader(tree: PrewalkTree, rootDir: string): TreeReader<EntryStat> {
  const prefix = rootDir.endsWith('/') ? rootDir : `${rootDir}/`;
  const rel = (host: string): string | undefined => (host === rootDir ? '' : host.startsWith(prefix) ? host.slice(prefix.length) : undefined);
  return {
    readdir(host) {
      const r = rel(host);
      return (r === undefined ? undefined : tree.children.get(r)) ?? FS_TREE.readdir(host);
    },
    lstat(host) {
      const r = rel(host);
      return (r === undefined ? undefined : tree.entries.get(r)?.stat) ?? FS_TREE.lstat(host);
    },
    readlink(host) {
      const r = rel(host);
      const e = r === undefined ? undefined : tree.entries.get(r);
      return e?.stat.isSymbolicLink() ? e.link : FS_TREE.readlink(host);
    },
  };
}

/** find's output for the walked directory (its realpath), parsed on first use (null: unparsable). */
let prewalk: { dir: string; out: Buffer; tree?: PrewalkTree | null } | undefined;
let taken = false;
const realpaths = new Map<string, string | undefined>();

function current(rootDir: string): { dir: string; out: Buffer; tree?: PrewalkTree | null } | undefined {
  if (!taken) {
    taken = true;
    prewalk = take();
  }
  if (!prewalk) return undefined;
  if (!realpaths.has(rootDir)) realpaths.set(rootDir, realpath(rootDir));
  return prewalk.dir === realpaths.get(rootDir) ? prewalk : undefined;
}

/** The parsed prewalk of `rootDir`, or undefined without a (parsable) one. */
function parsed(rootDir: string): PrewalkTree | undefined {
  const p = current(rootDir);
  if (!p) return undefined;
  if (p.tree === undefined) {
    const tree = parsePrewalk(p.out.toString('utf8'));
    p.tree = tree?.entries.get('')?.stat.isDirectory() ? tree : null;
  }
  return p.tree ?? undefined;
}

/**
 * The prewalk's reader when find walked `rootDir` and was done within PATIENCE_MS; read once per process
 * and kept for the build (the context as the build started, as BuildKit's context transfer is).
 */
export function contextPrewalk(rootDir: string): TreeReader<EntryStat> | undefined {
  const tree = parsed(rootDir);
  return tree ? prewalkReader(tree, rootDir) : undefined;
}

/**
 * A digest of everything the prewalk saw of `rootDir` (every path, type, mode, owner, size, inode, device,
 * link count, mtime, ctime and link target), or undefined without one: equal fingerprints mean an
 * unchanged tree, by the stat cache's own rule (walkmemo.ts).
 */
export function prewalkFingerprint(rootDir: string): string | undefined {
  const p = current(rootDir);
  return p ? createHash('sha256').update(p.dir).update('\0').update(p.out).digest('hex') : undefined;
}

/**
 * What the prewalk of `rootDir` did not descend (paths relative to it), or undefined without a prewalk.
 * Found without parsing when there is none: a pruned record follows a record's final NUL.
 */
export function prewalkPruned(rootDir: string): string[] | undefined {
  const p = current(rootDir);
  if (!p) return undefined;
  if (p.out.indexOf('\0P ') < 0) return [];
  return parsed(rootDir)?.pruned;
}

/** The newest mtime or ctime (ms) in the prewalk of `rootDir`, or undefined without a (parsable) one. */
export function prewalkNewest(rootDir: string): number | undefined {
  const tree = parsed(rootDir);
  if (!tree) return undefined;
  let newest = 0;
  for (const { stat } of tree.entries.values()) newest = Math.max(newest, stat.mtimeMs, stat.ctimeMs);
  return newest;
}

function realpath(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

function take(): { dir: string; out: Buffer } | undefined {
  const g = globalThis as Record<symbol, PrewalkHandle | undefined>;
  const h = g[PREWALK];
  if (!h) return undefined;
  delete g[PREWALK];
  try {
    const out = readAll(h);
    const dir = out && realpath(h.dir);
    return dir ? { dir, out } : undefined;
  } finally {
    fs.closeSync(h.fd);
  }
}

/**
 * find's exit status once it has exited, else undefined. It stays a zombie child of this process (node
 * reaps only the children it spawned), so its pid is not reused and /proc keeps its status: field 52 of
 * /proc/PID/stat, as waitpid(2) reports it.
 */
function exitStatus(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return -1; // reaped by someone else: status unknown
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, the state
  return fields[0] === 'Z' ? Number(fields[49]) : undefined;
}

/** find's whole output once it exited with status 0, waiting up to PATIENCE_MS; else undefined. */
function readAll(h: PrewalkHandle): Buffer | undefined {
  const deadline = Date.now() + PATIENCE_MS;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let status: number | undefined;
  while ((status = exitStatus(h.pid)) === undefined) {
    if (Date.now() >= deadline) {
      try {
        process.kill(h.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
      return undefined;
    }
    Atomics.wait(nap, 0, 0, 1);
  }
  return status === 0 ? fs.readFileSync(h.fd) : undefined;
}
