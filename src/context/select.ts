import * as fs from 'node:fs';
import * as path from 'node:path';
import { isErrno, lstatIfExists, resolveInRoot, TsbuildError } from '../util/index.js';
import type { IgnoreMatcher } from './dockerignore.js';
import { goMatch, hasGlob, unescapeGlob } from './match.js';

/** A directory that COPY reads from: the build context (with .dockerignore) or another stage's rootfs. */
export interface SourceRoot {
  dir: string;
  ignore: IgnoreMatcher;
  /** What to call it in errors: "build context" or "stage builder". */
  label: string;
  /** Keep file owners when copying (stages and images); context files become root-owned. */
  keepOwner: boolean;
}

/** One match of a COPY source pattern. */
export interface SelectedSource {
  /** Path inside the root, posix, no leading slash ("" is the root itself). */
  rel: string;
  /** Host path (resolved root-scoped; symlinks in the named path followed inside the root). */
  host: string;
  stat: fs.Stats;
  /** Set for wildcard matches: the literal directory the wildcard was matched in (for --exclude). */
  wildcardBase?: string;
}

/** A file-tree entry below a selected source. */
export interface WalkEntry {
  /** Path relative to the selected source ("" for the source itself). */
  rel: string;
  host: string;
  stat: fs.Stats;
}

function clean(p: string): string {
  return path.posix.normalize(`/${p}`).slice(1).replace(/\/+$/, '');
}

/** Filters applied below a selected source (paths relative to it): COPY --exclude, and --parents' include. */
export interface WalkFilter {
  exclude?: IgnoreMatcher;
  /** Only entries matching (themselves or by a parent) are copied; their parent directories come along. */
  include?: IgnoreMatcher;
}

/**
 * Expands COPY source patterns against a root (Go filepath.Match per component, `..` clamped at the root,
 * symlinks in the named path followed inside the root). A literal path must exist; a wildcard may match
 * nothing only with `allowEmptyWildcard` (BuildKit's COPY allows it).
 */
export function selectSources(root: SourceRoot, patterns: string[], options: { allowEmptyWildcard?: boolean } = {}): SelectedSource[] {
  const out: SelectedSource[] = [];
  for (const pattern of patterns) {
    const p = clean(pattern);
    const glob = hasGlob(p);
    const candidates = glob ? expandGlob(root, p) : [p.split('/').map(unescapeGlob).join('/')];
    let matched = 0;
    for (const rel of candidates) {
      if (rel !== '' && root.ignore.ignored(rel) && !root.ignore.mayIncludeBelow(rel)) continue;
      const host = resolveInRoot(root.dir, rel, { followFinal: true });
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(host);
      } catch (e) {
        if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) continue;
        throw e;
      }
      out.push({ rel, host, stat, ...(glob ? { wildcardBase: wildcardBase(p) } : {}) });
      matched++;
    }
    if (matched === 0 && !(glob && options.allowEmptyWildcard)) {
      throw new TsbuildError('TSB_COPY_SOURCE_MISSING', `"${pattern}": not found in ${root.label}`, {
        hint: root.label === 'build context' ? 'check the path is inside the context directory and not excluded by .dockerignore' : undefined,
      });
    }
  }
  return out;
}

/** The literal directory before the first wildcard component ("" for the root). */
function wildcardBase(p: string): string {
  const parts = p.split('/');
  const i = parts.findIndex(hasGlob);
  return parts.slice(0, i).join('/');
}

function expandGlob(root: SourceRoot, pattern: string): string[] {
  let current = [''];
  let globSeen = false;
  for (const part of pattern.split('/')) {
    const next: string[] = [];
    for (const base of current) {
      // Before the first wildcard the path is followed like a literal; after it, BuildKit walks without following links.
      const dirHost = globSeen ? path.join(root.dir, base) : resolveInRoot(root.dir, base, { followFinal: true });
      if (!hasGlob(part)) {
        const name = unescapeGlob(part);
        if (globSeen && !lstatIfExists(path.join(dirHost, name))) continue;
        next.push(base === '' ? name : `${base}/${name}`);
        continue;
      }
      if (globSeen && !lstatIfExists(dirHost)?.isDirectory()) continue;
      let names: string[];
      try {
        names = fs.readdirSync(dirHost);
      } catch (e) {
        if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) continue;
        throw e;
      }
      for (const n of names.sort()) {
        const rel = base === '' ? n : `${base}/${n}`;
        if (goMatch(part, n) && !(root.ignore.ignored(rel) && !root.ignore.mayIncludeBelow(rel))) next.push(rel);
      }
    }
    if (hasGlob(part)) globSeen = true;
    current = next;
  }
  return current;
}

/**
 * Visits a selected source and, for a directory, everything below it in sorted order without following
 * symlinks. Paths excluded by the root's ignore rules or by `filter` are skipped; an excluded directory is
 * still descended when an exception may re-include something below it, and is then visited just before
 * the first entry it contains (so the copy can create it).
 */
export function walkSource(root: SourceRoot, sel: SelectedSource, visit: (e: WalkEntry) => void, filter: WalkFilter = {}): void {
  walkTree(FS_TREE, root, sel, visit, filter);
}

/** What a digest walk reads of an entry's stat (a prewalk listing gives only these; see prewalk.ts). */
export type EntryStat = Pick<fs.Stats, 'dev' | 'ino' | 'mode' | 'nlink' | 'uid' | 'gid' | 'size' | 'mtimeMs' | 'ctimeMs' | 'isDirectory' | 'isFile' | 'isSymbolicLink'>;

/** Where a walk reads directories, stats and link targets: the file system, or a listing made earlier. */
export interface TreeReader<S extends EntryStat> {
  /** Entry names of a directory, sorted. */
  readdir(host: string): string[];
  lstat(host: string): S;
  readlink(host: string): string;
}

export const FS_TREE: TreeReader<fs.Stats> = {
  readdir: (host) => fs.readdirSync(host).sort(),
  lstat: (host) => fs.lstatSync(host),
  readlink: (host) => fs.readlinkSync(host),
};

/** walkSource through `tree`, for walks that need only EntryStat (cache keys). */
export function walkTree<S extends EntryStat>(tree: TreeReader<S>, root: SourceRoot, sel: SelectedSource, visit: (e: { rel: string; host: string; stat: S | fs.Stats }) => void, filter: WalkFilter = {}): void {
  visit({ rel: '', host: sel.host, stat: sel.stat });
  if (sel.stat.isDirectory()) walkDir(tree, root, sel.host, sel.rel, '', visit, filter, []);
}

interface Pending<S> { entry: { rel: string; host: string; stat: S }; done: boolean }

function walkDir<S extends EntryStat>(tree: TreeReader<S>, root: SourceRoot, host: string, rootRel: string, rel: string, visit: (e: { rel: string; host: string; stat: S }) => void, filter: WalkFilter, pending: Array<Pending<S>>): void {
  for (const name of tree.readdir(host)) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const inRoot = rootRel === '' ? childRel : `${rootRel}/${childRel}`;
    const childHost = host.endsWith('/') ? host + name : `${host}/${name}`;
    const stat = tree.lstat(childHost);
    const isDir = stat.isDirectory();
    let included = true;
    let descend = isDir;
    if (root.ignore.ignored(inRoot)) {
      included = false;
      descend &&= root.ignore.mayIncludeBelow(inRoot);
    }
    if (filter.include && !filter.include.ignored(childRel)) included = false;
    if (filter.exclude?.ignored(childRel)) {
      included = false;
      descend &&= filter.exclude.mayIncludeBelow(childRel);
    }
    const entry = { rel: childRel, host: childHost, stat };
    if (included) {
      for (const p of pending) {
        if (!p.done) visit(p.entry);
        p.done = true;
      }
      visit(entry);
    }
    if (!descend) continue;
    if (!included) pending.push({ entry, done: false });
    walkDir(tree, root, childHost, rootRel, childRel, visit, filter, pending);
    if (!included) pending.pop();
  }
}
