import * as fs from 'node:fs';
import * as path from 'node:path';
import { NO_IGNORE, digestSelection, selectSources, walkSource, type SelectedSource, type SourceRoot } from '../context/index.js';
import type { CopyOp } from '../graph/index.js';
import { sha256 } from '../oci/index.js';
import { resolveUser } from '../runtime/index.js';
import { TsbuildError, isErrno, mkdirAllInRoot, resolveInRoot } from '../util/index.js';
import { extractArchive, isArchive } from './archive.js';
import { viewLayers, withWritableLayer } from './layers.js';
import type { ExecContext, OpHandler } from './types.js';

interface Owner { uid: number; gid: number }

/** Resolves `--chown=user[:group]` against the destination rootfs; without a group, gid = uid (docker's rule). */
export function resolveChown(rootfs: string, spec: string): Owner {
  const [u = '', g] = spec.split(':', 2);
  const uid = /^\d+$/.test(u) ? Number(u) : resolveUser(rootfs, u).uid;
  if (g === undefined || g === '') return { uid, gid: uid };
  return { uid, gid: /^\d+$/.test(g) ? Number(g) : resolveUser(rootfs, `${/^\d+$/.test(u) ? 'root' : u}:${g}`).gid };
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

export const copyHandler: OpHandler<CopyOp> = {
  async cacheKey(op, input, ctx) {
    const { from, ...rest } = op;
    const source = from.kind === 'context'
      ? await withSourceRoot(op, ctx, async (root) => digestSelection(root, selectSources(root, op.sources)))
      : from.kind === 'stage' ? await ctx.stageKey(from.stage) : from.image.id;
    return sha256(JSON.stringify(['copy/v2', input.parentKey, rest, from.kind, source]));
  },
  exec(op, input, ctx) {
    return withSourceRoot(op, ctx, async (root) => {
      const selection = selectSources(root, op.sources);
      return withWritableLayer(ctx, input.layers, (rootfs) => copyInto(rootfs, root, selection, op), { keepEmpty: true });
    });
  },
};

async function copyInto(rootfs: string, root: SourceRoot, selection: SelectedSource[], op: CopyOp): Promise<void> {
  const dirSyntax = /(^|\/)\.?$/.test(op.dest) || op.dest.endsWith('/');
  const dest = path.posix.resolve(op.cwd, op.dest);
  if (selection.length > 1 && !dirSyntax) {
    throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `When using ${op.add ? 'ADD' : 'COPY'} with more than one source file, the destination must be a directory and end with a /`);
  }
  const owner = op.chown !== undefined ? resolveChown(rootfs, op.chown) : undefined;
  const mode = op.chmod !== undefined ? parseInt(op.chmod, 8) : undefined;
  const created = owner ?? { uid: 0, gid: 0 };
  for (const sel of selection) {
    if (sel.stat.isDirectory()) {
      copyTree(rootfs, root, sel, dest, { owner, mode, created });
    } else if (op.add && root.label === 'build context' && sel.stat.isFile() && (await isArchive(sel.host))) {
      const hostDest = mkdirAllInRoot(rootfs, dest, created);
      await extractArchive(sel.host, hostDest);
    } else {
      const existing = resolveInRoot(rootfs, dest, { followFinal: true });
      const intoDir = dirSyntax || isDir(existing);
      const target = intoDir ? path.posix.join(dest, path.posix.basename(sel.rel || sel.host)) : dest;
      mkdirAllInRoot(rootfs, path.posix.dirname(target), created);
      copyTree(rootfs, root, sel, target, { owner, mode, created });
    }
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return false;
    throw e;
  }
}

interface CopyOptions { owner: Owner | undefined; mode: number | undefined; created: Owner }

/** Copies a selected source (file, link or directory contents) to `dest` inside rootfs, root-scoped. */
function copyTree(rootfs: string, root: SourceRoot, sel: SelectedSource, dest: string, o: CopyOptions): void {
  const dirTimes: Array<[string, fs.Stats]> = [];
  walkSource(root, sel, (e) => {
    const target = e.rel === '' ? dest : path.posix.join(dest, e.rel);
    if (e.rel === '' && e.stat.isDirectory()) {
      const existed = isDir(resolveInRoot(rootfs, target, { followFinal: true }));
      const host = mkdirAllInRoot(rootfs, target, o.created);
      if (!existed) {
        applyMeta(host, e.stat, root, o);
        dirTimes.push([host, e.stat]);
      }
      return;
    }
    const host = resolveInRoot(rootfs, target);
    const st = e.stat;
    let existing: fs.Stats | undefined;
    try {
      existing = fs.lstatSync(host);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    if (st.isDirectory()) {
      if (existing && !existing.isDirectory()) fs.unlinkSync(host);
      if (!existing || !existing.isDirectory()) fs.mkdirSync(host);
      applyMeta(host, st, root, o);
      dirTimes.push([host, st]);
      return;
    }
    if (existing) fs.rmSync(host, { recursive: true, force: true });
    if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(e.host), host);
    else if (st.isFile()) fs.copyFileSync(e.host, host, fs.constants.COPYFILE_EXCL);
    else return; // sockets, fifos and devices are not copied
    applyMeta(host, st, root, o);
    fs.lutimesSync(host, st.atime, st.mtime);
  });
  for (const [host, st] of dirTimes.reverse()) fs.lutimesSync(host, st.atime, st.mtime);
}

function applyMeta(host: string, st: fs.Stats, root: SourceRoot, o: CopyOptions): void {
  const owner = o.owner ?? (root.keepOwner ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 });
  fs.lchownSync(host, owner.uid, owner.gid);
  if (!st.isSymbolicLink()) fs.chmodSync(host, o.mode ?? st.mode & 0o7777);
}
