import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsbuildError, isErrno, resolveInRoot } from '../util/index.js';
import type { IgnoreMatcher } from './dockerignore.js';
import { globToRegExp, hasGlob } from './match.js';

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

/** Expands COPY source patterns against a root; every pattern must match something. */
export function selectSources(root: SourceRoot, patterns: string[]): SelectedSource[] {
  const out: SelectedSource[] = [];
  for (const pattern of patterns) {
    const p = clean(pattern);
    const candidates = hasGlob(p) ? expandGlob(root, p) : [p];
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
      out.push({ rel, host, stat });
      matched++;
    }
    if (matched === 0) {
      throw new TsbuildError('TSB_COPY_SOURCE_MISSING', `"${pattern}": not found in ${root.label}`, {
        hint: root.label === 'build context' ? 'check the path is inside the context directory and not excluded by .dockerignore' : undefined,
      });
    }
  }
  return out;
}

function expandGlob(root: SourceRoot, pattern: string): string[] {
  let current = [''];
  for (const part of pattern.split('/')) {
    const next: string[] = [];
    for (const base of current) {
      if (!hasGlob(part)) {
        next.push(base === '' ? part : `${base}/${part}`);
        continue;
      }
      const re = globToRegExp(part);
      let names: string[];
      try {
        names = fs.readdirSync(resolveInRoot(root.dir, base, { followFinal: true }));
      } catch (e) {
        if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) continue;
        throw e;
      }
      for (const n of names.sort()) if (re.test(n)) next.push(base === '' ? n : `${base}/${n}`);
    }
    current = next;
  }
  return current;
}

/**
 * Visits a selected source and, for a directory, everything below it in sorted order without following
 * symlinks; paths excluded by the root's ignore rules are skipped.
 */
export function walkSource(root: SourceRoot, sel: SelectedSource, visit: (e: WalkEntry) => void): void {
  visit({ rel: '', host: sel.host, stat: sel.stat });
  if (sel.stat.isDirectory()) walkDir(root, sel.host, sel.rel, '', visit);
}

function walkDir(root: SourceRoot, host: string, rootRel: string, rel: string, visit: (e: WalkEntry) => void): void {
  for (const name of fs.readdirSync(host).sort()) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const inRoot = rootRel === '' ? childRel : `${rootRel}/${childRel}`;
    const childHost = path.join(host, name);
    const stat = fs.lstatSync(childHost);
    const ignored = root.ignore.ignored(inRoot);
    if (ignored && !(stat.isDirectory() && root.ignore.mayIncludeBelow(inRoot))) continue;
    if (!ignored) visit({ rel: childRel, host: childHost, stat });
    if (stat.isDirectory()) walkDir(root, childHost, rootRel, childRel, visit);
  }
}
