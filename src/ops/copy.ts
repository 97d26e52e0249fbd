import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  NO_IGNORE, compilePatterns, contextPrewalk, type EntryStat, contextStatCache, contextWalkMemo, digestSelection, hashFile, rememberListing, selectSources, type Listing,
  type SelectedSource, type SourceRoot, type WalkFilter,
} from '../context/index.js';
import type { CopyOp, LayerInfo } from '../graph/index.js';
import { sha256 } from '../oci/index.js';
import { TsbuildError, readFileInRoot } from '../util/index.js';
import { extractArchive, isArchive } from './archive.js';
import { parseChmod } from './copy-chmod.js';
import { CopyTracker, lineageKey, materialize, readCopyRecord, writeCopyRecord, type CopyRecord } from './copy-reuse.js';
import { copyEntry, placeSource, type CopyOptions, type Owner } from './copy-tree.js';
import { download, type Download } from './fetch.js';
import { viewLayers, withWritableLayer } from './layers.js';
import type { ExecContext, OpHandler, StepInput } from './types.js';

const isHttp = (s: string) => /^https?:\/\//.test(s);

function lookup(file: Buffer | undefined, name: string): string[] | undefined {
  for (const line of (file?.toString('utf8') ?? '').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return f;
  }
  return undefined;
}

/**
 * Resolves `--chown=user[:group]` as BuildKit does: "root" or a number is an id (a numeric user alone gives
 * gid = uid); a user name gives its uid and primary gid from the rootfs' /etc/passwd; a group name its gid
 * from /etc/group. Unlike BuildKit's code (which silently falls back to 0), and as its reference documents,
 * an unknown name fails.
 */
export function resolveChown(rootfs: string, spec: string): Owner {
  const [u = '', g] = spec.split(':', 2);
  const id = (s: string) => (s === 'root' ? 0 : /^\d+$/.test(s) ? Number(s) : undefined);
  let uid = id(u);
  let gid = uid;
  if (uid === undefined) {
    const entry = lookup(readFileInRoot(rootfs, '/etc/passwd'), u);
    if (!entry) throw new TsbuildError('TSB_USER_UNKNOWN', `unable to find user ${u}: no matching entries in passwd file`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (g !== undefined && g !== '') {
    gid = id(g);
    if (gid === undefined) {
      const entry = lookup(readFileInRoot(rootfs, '/etc/group'), g);
      if (!entry) throw new TsbuildError('TSB_USER_UNKNOWN', `unable to find group ${g}: no matching entries in group file`);
      gid = Number(entry[2]);
    }
  }
  return { uid, gid: gid! };
}

async function withSourceRoot<T>(op: CopyOp, ctx: ExecContext, fn: (root: SourceRoot) => Promise<T>): Promise<T> {
  if (op.from.kind === 'context') return fn(ctx.context);
  const layers = op.from.kind === 'stage' ? await ctx.stageLayers(op.from.stage) : op.from.image.layers;
  const view = await viewLayers(ctx, layers);
  try {
    const label = op.from.kind === 'stage' ? `stage ${op.from.stage}` : `image ${op.from.image.name}`;
    return await fn({ dir: view.path, ignore: NO_IGNORE, label, keepOwner: true });
  } finally {
    view.release();
  }
}

/** One local source as BuildKit's llb.Copy sees it: what to copy, how to filter it. */
interface LocalItem { sel: SelectedSource; filter: WalkFilter; name: string }

/** Expands the local (non-URL) sources of a COPY/ADD: wildcards, --parents pivots, --exclude. */
function localItems(root: SourceRoot, op: CopyOp): LocalItem[] {
  const exclude = op.exclude?.length ? compilePatterns(op.exclude) : undefined;
  const out: LocalItem[] = [];
  for (const src of op.sources.filter((s) => !(op.add && isHttp(s)))) {
    if (op.parents) {
      const cut = src.indexOf('/./');
      const pivot = cut < 0 ? '/' : src.slice(0, cut);
      const pattern = path.posix.normalize(`/${cut < 0 ? src : src.slice(cut + 3)}`).slice(1);
      const [sel] = selectSources(root, [pivot]);
      if (!/[*?[]/.test(pivot + pattern)) selectSources(root, [path.posix.join(pivot, pattern)]);
      out.push({ sel: sel!, filter: { include: compilePatterns([pattern === '' ? '**' : pattern]), ...(exclude ? { exclude } : {}) }, name: '' });
      continue;
    }
    for (const sel of selectSources(root, [src], { allowEmptyWildcard: true })) {
      if (exclude && sel.wildcardBase !== undefined) {
        const rel = sel.wildcardBase === '' ? sel.rel : sel.rel.slice(sel.wildcardBase.length + 1);
        if (exclude.ignored(rel)) continue;
      }
      out.push({ sel, filter: exclude ? { exclude } : {}, name: path.posix.basename(sel.rel) || '/' });
    }
  }
  return out;
}

async function urlDownloads(op: CopyOp, ctx: ExecContext): Promise<Download[]> {
  if (!op.add) return [];
  return Promise.all(op.sources.filter(isHttp).map((u) => download(ctx.session, u, op.checksum, ctx.signal)));
}

export const copyHandler: OpHandler<CopyOp> = {
  async cacheKey(op, input, ctx) {
    const { from, ...rest } = op;
    const source = from.kind === 'context'
      ? await withSourceRoot(op, ctx, async (root) => {
        // an unchanged context (same prewalk as the build that computed it) keeps its digest: no walk
        const memo = contextWalkMemo(ctx.store.root, root);
        const memoKey = sha256(JSON.stringify(['walkmemo/v1', op.sources, op.add ?? false, op.parents ?? false, op.exclude ?? [], root.ignore.patterns, root.keepOwner]));
        const known = memo?.get(memoKey);
        if (known !== undefined) return known;
        const cache = contextStatCache(ctx.store.root, root);
        const listing: Listing = [];
        const items = localItems(root, op);
        const tree = items.some((i) => i.sel.stat.isDirectory()) ? contextPrewalk(root.dir) : undefined;
        const parts = items.map((i) => digestSelection(root, [i.sel], i.filter, cache, listing, tree));
        rememberListing(op, listing);
        cache.save();
        const digest = sha256(JSON.stringify(parts));
        memo?.set(memoKey, digest);
        return digest;
      })
      : from.kind === 'stage' ? await ctx.stageKey(from.stage) : from.image.id;
    const urls = (await urlDownloads(op, ctx)).map((d) => [d.digest, d.mtime?.getTime() ?? null]);
    return sha256(JSON.stringify(['copy/v3', input.parentKey, rest, from.kind, source, urls]));
  },
  async exec(op, input, ctx) {
    const urls = await urlDownloads(op, ctx);
    return withSourceRoot(op, ctx, async (root) => {
      const items = localItems(root, op);
      const owner = await ownerFor(op, input, ctx);
      const lowers = op.link ? [] : input.layers;
      const inputs = (rootfs: string): Inputs => ({ items, urls, owner: owner ?? (op.chown ? resolveChown(rootfs, op.chown) : undefined) });
      const key = incrementalKey(op, input, items, urls);
      if (key === undefined) {
        return withWritableLayer(ctx, lowers, (rootfs) => copyInto(rootfs, ctx, root, inputs(rootfs), op), { keepEmpty: true, ...(op.add ? {} : { xattrs: false }) });
      }
      const cache = contextStatCache(ctx.store.root, root);
      const digest = (rel: string, host: string, st: EntryStat) => cache.digest(rel, host, st, hashFile);
      const tree = contextPrewalk(root.dir);
      const attempt = async (donor: CopyRecord | undefined) => {
        let track: CopyTracker | undefined;
        const finish = (upper: string) => materialize(ctx.snapshots.layerPath(donor!.layer), donor!, upper, track!, ctx.session.tempDir('reuse'));
        const layer = await withWritableLayer(ctx, lowers, (rootfs) => {
          track = new CopyTracker(rootfs, donor);
          return copyInto(rootfs, ctx, root, inputs(rootfs), op, { track, digest, ...(tree ? { tree } : {}) });
        }, { keepEmpty: true, xattrs: false, ...(donor ? { donor: { diffId: donor.layer, finish } } : {}) });
        return { layer: layer!, files: track!.files };
      };
      const donor = readCopyRecord(ctx.store.root, key);
      let made: { layer: LayerInfo; files: Record<string, string> } | undefined;
      if (donor && ctx.snapshots.hasLayer(donor.layer)) {
        ctx.session.retain([donor.layer]);
        try {
          made = await attempt(donor);
        } catch (e) {
          if (ctx.signal.aborted) throw e;
          // the donor's files changed what the copy saw (or left a whiteout): copy from scratch
        }
      }
      made ??= await attempt(undefined);
      cache.save();
      writeCopyRecord(ctx.store.root, key, { layer: made.layer.diffId, files: made.files });
      return made.layer;
    });
  },
};

/**
 * The lineage key under which an incremental COPY (copy-reuse.ts) finds its donor, or undefined when the
 * COPY is not one that can be rebuilt from its previous layer: only directory sources from the build
 * context (a file source's placement depends on what is at its destination), no ADD, URLs or heredocs, and
 * a numeric --chown (a name is looked up in the rootfs, which the donor could change).
 */
function incrementalKey(op: CopyOp, input: StepInput, items: LocalItem[], urls: Download[]): string | undefined {
  if (op.from.kind !== 'context' || op.add || op.heredocs?.length || urls.length > 0) return undefined;
  if (items.length === 0 || !items.every((i) => i.sel.stat.isDirectory())) return undefined;
  if (op.chown !== undefined && !/^\d+(:\d+)?$/.test(op.chown)) return undefined;
  const { from, ...rest } = op;
  return lineageKey(input.parentKey, [from.kind, rest]);
}

/** With --link the copy runs on an empty tree; names in --chown are still looked up in the parent's rootfs. */
async function ownerFor(op: CopyOp, input: StepInput, ctx: ExecContext): Promise<Owner | undefined> {
  if (!op.link || op.chown === undefined) return undefined;
  const view = await viewLayers(ctx, input.layers);
  try {
    return resolveChown(view.path, op.chown);
  } finally {
    view.release();
  }
}

interface Inputs { items: LocalItem[]; urls: Download[]; owner: Owner | undefined }

async function copyInto(rootfs: string, ctx: ExecContext, root: SourceRoot, inp: Inputs, op: CopyOp, reuse?: CopyOptions['reuse']): Promise<void> {
  const dest = path.posix.resolve('/', op.cwd, op.dest);
  const dirSyntax = op.dest === '.' || op.dest.endsWith('/') || op.dest.endsWith('/.');
  const chmod = op.chmod !== undefined ? parseChmod(op.chmod) : undefined;
  const o: CopyOptions = { owner: inp.owner, chmod, keepOwner: root.keepOwner, inodes: new Map(), ...(reuse ? { reuse } : {}) };
  const place = { rootfs, dest, dirSyntax };
  for (const item of inp.items) {
    const { sel } = item;
    if (op.add && root.label === 'build context' && sel.stat.isFile() && (await isArchive(sel.host))) {
      const scratch = ctx.session.tempDir('unpack');
      await extractArchive(sel.host, scratch);
      const st = fs.lstatSync(scratch);
      // The archive's entries keep their owners unless --chown is given; --chmod does not apply (BuildKit's unpack).
      placeSource(place, { host: scratch, stat: st, name: '', dirContents: true, walk: { root: { ...root, dir: scratch, ignore: NO_IGNORE }, filter: {} } },
        { ...o, chmod: undefined, keepOwner: true }, { forceDir: true });
      continue;
    }
    placeSource(place, { host: sel.host, stat: sel.stat, name: item.name, dirContents: true, walk: { root, filter: item.filter, sel } }, o);
  }
  for (const d of inp.urls) {
    const st = fs.statSync(d.file);
    copyEntry.file(place, { host: d.file, stat: st, name: d.name, mode: 0o600, mtime: d.mtime ?? new Date(0) }, o);
  }
  if (op.heredocs?.length) {
    const dir = ctx.session.tempDir('heredoc');
    for (const [i, h] of op.heredocs.entries()) {
      const file = path.join(dir, String(i));
      fs.writeFileSync(file, h.content, { mode: 0o644 });
      const st = fs.statSync(file);
      copyEntry.file(place, { host: file, stat: st, name: path.posix.basename(h.name), mode: 0o644, mtime: new Date(0) }, o);
    }
  }
}
