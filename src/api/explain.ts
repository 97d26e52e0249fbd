import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  compilePatterns, contextStatCache, hashFile, listingLine, listingOf, selectSources, walkSource,
  type SelectedSource, type SourceRoot, type StatCache, type WalkFilter,
} from '../context/index.js';
import type { BuildGraph, CopyOp, Op, PlannedStage, Step } from '../graph/index.js';
import { sha256 } from '../oci/index.js';
import type { CacheReason, StepTrace } from '../solver/index.js';
import { createHash, isErrno, readFileIfExists, TsbuildError, writeFileAtomic } from '../util/index.js';

/** Context file maps bigger than this are kept as a digest and a count only. */
export const MAX_FILES = 20_000;
const SHOW_FILES = 5;

/** One step of a recorded build: what went into its cache key, in a form two builds can be compared by. */
export interface StepRecord {
  /** The step's id in this build ("stage/index"). */
  id: string;
  /** Stage label (name or `stage-N`) and the step's 0-based index in it. */
  stage: string;
  index: number;
  title: string;
  key: string;
  parentKey: string;
  /** On a stage's first step: what the stage starts from (an image by digest, another stage, scratch). */
  base?: { kind: 'image'; name: string; digest: string } | { kind: 'stage'; stage: string } | { kind: 'scratch' };
  /** The op as JSON, big parts digested (heredoc and script content) and images reduced to name and id. */
  op: Record<string, unknown>;
  /** Stages the op reads from (COPY --from, RUN --mount from=): label -> that stage's final key. */
  sources?: Record<string, string>;
  /** COPY/ADD from the context: path -> `f:<sha256 prefix>:<mode>`, `l:<target>` or `d:<mode>`. */
  files?: Record<string, string>;
  /** Digest and count of the selected context entries (always set with `files`; alone when over MAX_FILES). */
  filesDigest?: string;
  filesCount?: number;
}

/** The record of one build of a Dockerfile and target, kept in `<root>/explain/`. */
export interface BuildRecord {
  version: 1;
  dockerfile: string;
  target: string;
  created: string;
  epoch?: number;
  steps: StepRecord[];
}

/** A step's cache decision and, for a miss, why. */
export interface StepExplanation {
  step: Step;
  label: string;
  cached: boolean;
  reasons: CacheReason[];
}

/** Where the record of a Dockerfile+target build lives. */
export function recordPath(root: string, dockerfile: string, target: string | undefined): string {
  return path.join(root, 'explain', `${sha256(`${dockerfile}\0${target ?? ''}`).slice(7)}.json`);
}

export function readRecord(file: string): BuildRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
  try {
    const r = JSON.parse(text) as BuildRecord;
    return r.version === 1 && Array.isArray(r.steps) ? r : undefined;
  } catch {
    return undefined; // a damaged record is as good as none
  }
}

const stageLabel = (s: PlannedStage) => s.name ?? `stage-${s.index}`;

/** The op as comparable JSON: images by name and id, long heredoc/script content by digest. */
export function opJson(op: Op): Record<string, unknown> {
  return JSON.parse(JSON.stringify(op, (k, v: unknown) => {
    if (v && typeof v === 'object' && (v as { kind?: string }).kind === 'image' && 'image' in v) {
      const img = (v as { image: { name: string; id: string } }).image;
      return { kind: 'image', name: img.name, id: img.id };
    }
    if (k === 'content' && typeof v === 'string' && v.length > 200) return sha256(v);
    return v;
  })) as Record<string, unknown>;
}

/** COPY's local sources as BuildKit selects them (the same expansion as ops/copy.ts: wildcards, --parents, --exclude). */
function localItems(root: SourceRoot, op: CopyOp): Array<{ sel: SelectedSource; filter: WalkFilter }> {
  const exclude = op.exclude?.length ? compilePatterns(op.exclude) : undefined;
  const out: Array<{ sel: SelectedSource; filter: WalkFilter }> = [];
  for (const src of op.sources.filter((s) => !(op.add && /^https?:\/\//.test(s)))) {
    if (op.parents) {
      const cut = src.indexOf('/./');
      const pivot = cut < 0 ? '/' : src.slice(0, cut);
      const pattern = path.posix.normalize(`/${cut < 0 ? src : src.slice(cut + 3)}`).slice(1);
      const [sel] = selectSources(root, [pivot]);
      if (sel) out.push({ sel, filter: { include: compilePatterns([pattern === '' ? '**' : pattern]), ...(exclude ? { exclude } : {}) } });
      continue;
    }
    for (const sel of selectSources(root, [src], { allowEmptyWildcard: true })) {
      if (exclude && sel.wildcardBase !== undefined) {
        const rel = sel.wildcardBase === '' ? sel.rel : sel.rel.slice(sel.wildcardBase.length + 1);
        if (exclude.ignored(rel)) continue;
      }
      out.push({ sel, filter: exclude ? { exclude } : {} });
    }
  }
  return out;
}

/** Path -> content summary of what a COPY from the context selects (bounded by `limit`; digest and count always). */
export function contextFiles(root: SourceRoot, op: CopyOp, limit = MAX_FILES, cache?: StatCache): Pick<StepRecord, 'files' | 'filesDigest' | 'filesCount'> {
  let listing = listingOf(op);
  if (!listing) {
    listing = [];
    const l = listing;
    for (const { sel, filter } of localItems(root, op)) {
      walkSource(root, sel, (e) => {
        const st = e.stat;
        const inRoot = sel.rel === '' ? e.rel : e.rel === '' ? sel.rel : `${sel.rel}/${e.rel}`;
        const content = st.isFile() ? (cache ? cache.digest(inRoot, e.host, st, hashFile) : hashFile(e.host)) : '';
        l.push(listingLine(sel, e.rel, st, st.isSymbolicLink() ? fs.readlinkSync(e.host) : '', content));
      }, filter);
    }
  }
  const files: Record<string, string> = {};
  const h = createHash('sha256');
  for (const [rel, v] of listing) {
    h.update(`${rel}\0${v}\n`);
    if (listing.length <= limit) files[rel] = v;
  }
  const r: Pick<StepRecord, 'files' | 'filesDigest' | 'filesCount'> = { filesDigest: `sha256:${h.digest('hex')}`, filesCount: listing.length };
  if (listing.length <= limit) r.files = files;
  return r;
}

export interface RecordInput {
  dockerfile: string;
  target: string | undefined;
  graph: BuildGraph;
  traces: StepTrace[];
  context: SourceRoot;
  epoch?: number;
  /** The previous record: file maps of steps whose key it already has are reused, not recomputed. */
  previous?: BuildRecord;
  /** The context's stat cache, so that file maps do not hash the context again. */
  statCache?: StatCache;
}

/** The record of a finished build, steps in Dockerfile order. */
export function makeRecord(i: RecordInput): BuildRecord {
  const byStep = new Map(i.traces.map((t) => [t.step, t]));
  const byIndex = new Map(i.graph.stages.map((s) => [s.index, s]));
  const previousByKey = new Map((i.previous?.steps ?? []).map((s) => [s.key, s]));
  const finalKeys = new Map<number, string>();
  const finalKey = (n: number): string => {
    const known = finalKeys.get(n);
    if (known !== undefined) return known;
    const stage = byIndex.get(n);
    if (!stage) return '';
    const last = [...stage.steps].reverse().map((s) => byStep.get(s)).find((t) => t !== undefined);
    const k = last ? last.key : stage.base.kind === 'image' ? stage.base.image.id : stage.base.kind === 'stage' ? finalKey(stage.base.stage) : sha256('scratch');
    finalKeys.set(n, k);
    return k;
  };
  const steps: StepRecord[] = [];
  for (const stage of i.graph.stages) {
    for (const [index, step] of stage.steps.entries()) {
      const t = byStep.get(step);
      if (!t) continue;
      const r: StepRecord = { id: step.id, stage: stageLabel(stage), index, title: step.title, key: t.key, parentKey: t.parentKey, op: opJson(step.op) };
      if (index === 0) {
        const b = stage.base;
        r.base = b.kind === 'image' ? { kind: 'image', name: b.image.name, digest: b.image.id } : b.kind === 'stage' ? { kind: 'stage', stage: stageLabel(byIndex.get(b.stage)!) } : { kind: 'scratch' };
      }
      const froms = step.op.kind === 'copy' ? [step.op.from] : step.op.kind === 'run' ? (step.op.mounts ?? []).flatMap((m) => ('from' in m && m.from ? [m.from] : [])) : [];
      for (const f of froms) {
        if (f.kind !== 'stage') continue;
        const src = byIndex.get(f.stage);
        if (src) (r.sources ??= {})[stageLabel(src)] = finalKey(f.stage);
      }
      if (step.op.kind === 'copy' && step.op.from.kind === 'context') {
        const before = previousByKey.get(t.key);
        if (before?.filesDigest !== undefined) {
          if (before.files) r.files = before.files;
          r.filesDigest = before.filesDigest;
          if (before.filesCount !== undefined) r.filesCount = before.filesCount;
        } else {
          try {
            Object.assign(r, contextFiles(i.context, step.op, MAX_FILES, i.statCache));
          } catch (e) {
            // The context changed under the build (a source vanished): no map, the next build compares by key.
            if (!isErrno(e, 'ENOENT') && !isErrno(e, 'ENOTDIR') && !(e instanceof TsbuildError && e.code === 'TSB_COPY_SOURCE_MISSING')) throw e;
          }
        }
      }
      steps.push(r);
    }
  }
  const rec: BuildRecord = { version: 1, dockerfile: i.dockerfile, target: i.target ?? '', created: new Date().toISOString(), steps };
  if (i.epoch !== undefined) rec.epoch = i.epoch;
  return rec;
}

/** True when two records describe the same inputs (a no-op rebuild need not rewrite its record). */
export function sameRecord(a: BuildRecord | undefined, b: BuildRecord): boolean {
  return a !== undefined && a.epoch === b.epoch && a.steps.length === b.steps.length && a.steps.every((s, n) => s.key === b.steps[n]!.key && s.title === b.steps[n]!.title);
}

/** Writes the record atomically (the explain/ dir is made on first use). */
export function writeRecord(file: string, r: BuildRecord): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(r));
}

const clipText = (s: string, n = 80) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
const show = (v: unknown) => (v === undefined ? '(unset)' : clipText((typeof v === 'string' ? v : JSON.stringify(v)).replace(/\s*\n\s*/g, ' ')));
const FIELD_NAMES: Record<string, string> = { cwd: 'workdir', args: 'command', from: '--from', chown: '--chown', chmod: '--chmod', link: '--link', parents: '--parents', exclude: '--exclude', checksum: '--checksum', mounts: 'mounts (--mount)' };

/** Pairs each new step with the old step of the same stage it continues (LCS on titles; leftovers paired in order). */
function align(olds: StepRecord[], news: StepRecord[]): { pair: Map<StepRecord, StepRecord>; removedBefore: Map<StepRecord, StepRecord[]> } {
  const n = olds.length;
  const m = news.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let a = n - 1; a >= 0; a--) for (let b = m - 1; b >= 0; b--) lcs[a]![b] = olds[a]!.title === news[b]!.title ? lcs[a + 1]![b + 1]! + 1 : Math.max(lcs[a + 1]![b]!, lcs[a]![b + 1]!);
  const pair = new Map<StepRecord, StepRecord>();
  const removedBefore = new Map<StepRecord, StepRecord[]>();
  let a = 0;
  let b = 0;
  let gapOld: StepRecord[] = [];
  let gapNew: StepRecord[] = [];
  const closeGap = (next: StepRecord | undefined) => {
    const k = Math.min(gapOld.length, gapNew.length);
    for (let x = 0; x < k; x++) pair.set(gapNew[x]!, gapOld[x]!);
    const removed = gapOld.slice(k);
    const to = gapNew[k] ?? next;
    if (removed.length && to) removedBefore.set(to, removed);
    gapOld = [];
    gapNew = [];
  };
  while (a < n || b < m) {
    if (a < n && b < m && olds[a]!.title === news[b]!.title) {
      closeGap(news[b]);
      pair.set(news[b]!, olds[a]!);
      a++;
      b++;
    } else if (b < m && (a >= n || lcs[a]![b + 1]! >= lcs[a + 1]![b]!)) gapNew.push(news[b++]!);
    else gapOld.push(olds[a++]!);
  }
  closeGap(undefined);
  return { pair, removedBefore };
}

function envDiff(a: unknown, b: unknown): CacheReason[] {
  const toMap = (v: unknown) => new Map((Array.isArray(v) ? (v as string[]) : []).map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const o = toMap(a);
  const n = toMap(b);
  const out: CacheReason[] = [];
  for (const name of [...new Set([...o.keys(), ...n.keys()])].sort()) {
    const ov = o.get(name);
    const nv = n.get(name);
    if (ov === nv) continue;
    const r: CacheReason = { kind: 'env', name, text: `build-arg/env ${name} changed: ${show(ov)} → ${show(nv)}` };
    if (ov !== undefined) r.old = ov;
    if (nv !== undefined) r.new = nv;
    out.push(r);
  }
  return out;
}

function list(paths: string[]): { paths: string[]; more?: number; text: string } {
  const shown = paths.slice(0, SHOW_FILES);
  const more = paths.length - shown.length;
  return { paths: shown, ...(more > 0 ? { more } : {}), text: `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}` };
}

function fileDiff(o: StepRecord, n: StepRecord): CacheReason[] {
  if (o.filesDigest === undefined || n.filesDigest === undefined || o.filesDigest === n.filesDigest) return [];
  if (!o.files || !n.files) return [{ kind: 'files', text: `context files changed (${n.filesCount ?? '?'} files: too many to list)` }];
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [p, v] of Object.entries(n.files)) {
    const before = o.files[p];
    if (before === undefined) added.push(p);
    else if (before !== v) changed.push(p);
  }
  for (const p of Object.keys(o.files)) if (!(p in n.files)) removed.push(p);
  const out: CacheReason[] = [];
  for (const [what, ps] of [['changed', changed], ['added', added], ['removed', removed]] as const) {
    if (!ps.length) continue;
    const l = list([...ps].sort());
    out.push({ kind: 'files', text: `files ${what}: ${l.text}`, name: what, paths: l.paths, ...(l.more ? { more: l.more } : {}) });
  }
  return out;
}

function opDiff(o: StepRecord, n: StepRecord): CacheReason[] {
  const out = envDiff(o.op.env, n.op.env);
  const titleChanged = o.title !== n.title;
  for (const k of [...new Set([...Object.keys(o.op), ...Object.keys(n.op)])]) {
    if (k === 'env' || k === 'kind' || (titleChanged && (k === 'args' || k === 'sources' || k === 'dest' || k === 'path'))) continue;
    const ov = o.op[k];
    const nv = n.op[k];
    if (JSON.stringify(ov) === JSON.stringify(nv)) continue;
    const name = FIELD_NAMES[k] ?? k;
    out.push({ kind: 'op', name, old: show(ov), new: show(nv), text: `${name} changed: ${show(ov)} → ${show(nv)}` });
  }
  return out;
}

const stepName = (s: StepRecord, total: Map<string, number>) => `[${s.stage} ${s.index + 1}/${total.get(s.stage) ?? s.index + 1}] ${clipText(s.title, 60)}`;

/**
 * Explains every step of a build against the previous record of the same Dockerfile and target: CACHED, or a
 * MISS with its reasons (first build; new/removed step; instruction text; base digest; build-arg/env; other
 * op fields; context files; a source stage; an earlier step of the chain; a missing cache entry; --no-cache).
 */
export function explain(prev: BuildRecord | undefined, cur: BuildRecord, decisions: Array<{ step: Step; label: string; cached: boolean }>, o: { noCache: boolean }): StepExplanation[] {
  const totals = new Map<string, number>();
  for (const s of cur.steps) totals.set(s.stage, Math.max(totals.get(s.stage) ?? 0, s.index + 1));
  const oldTotals = new Map<string, number>();
  for (const s of prev?.steps ?? []) oldTotals.set(s.stage, Math.max(oldTotals.get(s.stage) ?? 0, s.index + 1));
  const pair = new Map<StepRecord, StepRecord>();
  const removedBefore = new Map<StepRecord, StepRecord[]>();
  const stages = [...new Set(cur.steps.map((s) => s.stage))];
  for (const st of stages) {
    const a = align((prev?.steps ?? []).filter((s) => s.stage === st), cur.steps.filter((s) => s.stage === st));
    for (const [k, v] of a.pair) pair.set(k, v);
    for (const [k, v] of a.removedBefore) removedBefore.set(k, v);
  }
  const changed = (s: StepRecord) => pair.get(s)?.key !== s.key;
  const byPos = new Map(cur.steps.map((s) => [`${s.stage}\0${s.index}`, s]));
  const baseOf = new Map(cur.steps.filter((s) => s.base).map((s) => [s.stage, s.base!]));
  /** The first step of a stage's chain (following base stages) that differs from the last build. */
  const firstChange = (stage: string, before: number, seen = new Set<string>()): StepRecord | undefined => {
    const b = baseOf.get(stage);
    if (b?.kind === 'stage' && !seen.has(b.stage)) {
      seen.add(b.stage);
      const up = firstChange(b.stage, totals.get(b.stage) ?? 0, seen);
      if (up) return up;
    }
    for (let x = 0; x < before; x++) {
      const s = byPos.get(`${stage}\0${x}`);
      if (s && changed(s)) return s;
    }
    return undefined;
  };
  const out: StepExplanation[] = [];
  const recordOf = new Map(cur.steps.map((s) => [s.id, s]));
  for (const d of decisions) {
    const r = recordOf.get(d.step.id);
    if (d.cached || !r) {
      out.push({ ...d, reasons: [] });
      continue;
    }
    out.push({ ...d, reasons: reasonsFor(r) });
  }
  return out;

  function reasonsFor(r: StepRecord): CacheReason[] {
    if (o.noCache) return [{ kind: 'no-cache', text: 'cache not used (--no-cache)' }];
    if (!prev) return [{ kind: 'first-build', text: 'first build of this Dockerfile and target' }];
    const reasons: CacheReason[] = [];
    if (prev.epoch !== cur.epoch) reasons.push({ kind: 'epoch', name: 'SOURCE_DATE_EPOCH', old: show(prev.epoch), new: show(cur.epoch), text: `SOURCE_DATE_EPOCH changed: ${show(prev.epoch)} → ${show(cur.epoch)}` });
    for (const gone of removedBefore.get(r) ?? []) reasons.push({ kind: 'removed-step', step: stepName(gone, oldTotals), text: `step removed before this one: ${stepName(gone, oldTotals)}` });
    const old = pair.get(r);
    if (!old) {
      reasons.push({ kind: 'new-step', text: 'new step (not in the last build)' });
      return reasons;
    }
    if (old.title !== r.title) reasons.push({ kind: 'instruction', old: old.title, new: r.title, text: `instruction changed: ${show(old.title)} → ${show(r.title)}` });
    if (r.base && JSON.stringify(old.base) !== JSON.stringify(r.base)) {
      const desc = (b: StepRecord['base']) => (!b ? '(none)' : b.kind === 'image' ? `${b.name}@${b.digest}` : b.kind === 'stage' ? `stage ${b.stage}` : 'scratch');
      reasons.push({ kind: 'base', old: desc(old.base), new: desc(r.base), text: `base image changed: ${desc(old.base)} → ${desc(r.base)}` });
    }
    if (old.op.kind !== r.op.kind) reasons.push({ kind: 'op', name: 'kind', old: String(old.op.kind), new: String(r.op.kind), text: `step kind changed: ${String(old.op.kind)} → ${String(r.op.kind)}` });
    else reasons.push(...opDiff(old, r));
    reasons.push(...fileDiff(old, r));
    for (const [label, key] of Object.entries(r.sources ?? {})) {
      if (old.sources?.[label] === undefined || old.sources[label] === key) continue;
      const first = firstChange(label, totals.get(label) ?? 0);
      reasons.push({ kind: 'source', name: label, ...(first ? { step: stepName(first, totals) } : {}), text: `source stage ${label} changed${first ? ` (first change: ${stepName(first, totals)})` : ''}` });
    }
    const first = firstChange(r.stage, r.index);
    if (old.parentKey !== r.parentKey && !(r.index === 0 && r.base?.kind === 'image') && (first || !removedBefore.has(r))) {
      reasons.push({ kind: 'parent', ...(first ? { step: stepName(first, totals) } : {}), text: first ? `an earlier step changed: ${stepName(first, totals)}` : 'an earlier step changed' });
    }
    if (reasons.length) return reasons;
    if (old.key === r.key) return [{ kind: 'missing', text: 'cache entry missing (pruned, or last built with --no-cache): same inputs as the last build' }];
    return [{ kind: 'unknown', text: 'cache key changed by an input the record does not show (a RUN --mount source, an ADD URL, a --from image)' }];
  }
}

export interface ExplainBuildInput extends Omit<RecordInput, 'previous'> {
  root: string;
  noCache: boolean;
  /** Compute explanations (else only the record is kept up to date). */
  explain: boolean;
}

/** After a build: updates the Dockerfile+target's record and, when asked, explains every step against the old one. */
export function recordAndExplain(i: ExplainBuildInput): StepExplanation[] | undefined {
  const file = recordPath(i.root, i.dockerfile, i.target);
  // Same step keys as the recorded build: the record would come out the same. A no-op rebuild checks that
  // with one small read (`.keys`) instead of reading and rebuilding the record (~15 ms with big file maps).
  const keysFile = `${file}.keys`;
  const keys = sha256(JSON.stringify([i.epoch ?? null, ...i.traces.map((t) => t.key)]));
  if (!i.explain && readFileIfExists(keysFile)?.toString() === keys && fs.existsSync(file)) return undefined;
  const previous = readRecord(file);
  const cur = makeRecord({ ...i, statCache: i.statCache ?? contextStatCache(i.root, i.context), ...(previous ? { previous } : {}) });
  if (!sameRecord(previous, cur)) writeRecord(file, cur);
  writeFileAtomic(keysFile, keys, { durable: false });
  if (!i.explain) return undefined;
  const order = new Map<Step, number>();
  for (const s of i.graph.stages) for (const st of s.steps) order.set(st, order.size);
  const decisions = [...i.traces].sort((a, b) => (order.get(a.step) ?? 0) - (order.get(b.step) ?? 0)).map((t) => ({ step: t.step, label: t.label, cached: t.cached }));
  return explain(previous, cur, decisions, { noCache: i.noCache });
}
