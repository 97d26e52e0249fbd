import * as fs from 'node:fs';
import * as path from 'node:path';
import { NO_IGNORE, digestSelection, selectSources, walkSource, type SourceRoot } from '../context/index.js';
import type { CopySource, RunMount, RunOp } from '../graph/index.js';
import { digestHex, sha256 } from '../oci/index.js';
import type { ExtraMount } from '../runtime/index.js';
import { TsbuildError, isErrno, resolveInRoot } from '../util/index.js';
import { viewLayers } from './layers.js';
import { acquireCacheMount } from './mounts-cache.js';
import { forwardSsh } from './mounts-ssh.js';
import type { ExecContext } from './types.js';

/** What a RUN's mounts add to its container: runtime mounts, environment, and the paths they occupy. */
export interface PreparedMounts {
  mounts: ExtraMount[];
  env: string[];
  /** Container paths mounted over (their stubs must not reach the layer). */
  targets: string[];
}

type Cleanup = () => void | Promise<void>;

/** Identity of a mount's source root in cache keys: context content, stage key, or image id. */
async function sourceIdentity(from: CopySource, source: string, ctx: ExecContext): Promise<string> {
  if (from.kind === 'stage') return ctx.stageKey(from.stage);
  if (from.kind === 'image') return from.image.id;
  return digestSelection(ctx.context, selectSources(ctx.context, [source || '/']));
}

/** The mounts' part of a RUN cache key: their definitions and bound content, never secret or agent values. */
export async function mountsCacheKey(mounts: RunMount[], ctx: ExecContext): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const m of mounts) {
    if (m.type === 'bind') {
      const { from, ...rest } = m;
      out.push({ ...rest, from: from.kind, content: await sourceIdentity(from, m.source, ctx) });
    } else if (m.type === 'cache') {
      const { from, ...rest } = m;
      out.push(from ? { ...rest, from: from.kind, seed: await sourceIdentity(from, m.source, ctx) } : rest);
    } else out.push(m);
  }
  return out;
}

/** Runs `fn` with a SourceRoot for a mount's `from` (the context, or a read-only view of a stage or image). */
async function withSourceRoot<T>(from: CopySource, ctx: ExecContext, cleanups: Cleanup[], fn: (root: SourceRoot) => Promise<T>): Promise<T> {
  if (from.kind === 'context') return fn(ctx.context);
  const layers = from.kind === 'stage' ? await ctx.stageLayers(from.stage) : from.image.layers;
  const view = await viewLayers(ctx, layers);
  cleanups.push(() => view.release());
  const label = from.kind === 'stage' ? `stage ${from.stage}` : `image ${from.image.name}`;
  return fn({ dir: view.path, ignore: NO_IGNORE, label, keepOwner: true });
}

/** Copies a source (file or tree, honouring the root's ignore rules) to `dest`, keeping modes and owners. */
function materialize(root: SourceRoot, source: string, dest: string): void {
  const [sel] = selectSources(root, [source || '/']);
  walkSource(root, sel!, (e) => {
    const target = e.rel === '' ? dest : path.join(dest, e.rel);
    const st = e.stat;
    if (st.isDirectory()) {
      if (e.rel !== '' || !fs.existsSync(target)) fs.mkdirSync(target, { recursive: true });
    } else if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(e.host), target);
    else if (st.isFile()) fs.copyFileSync(e.host, target);
    else return;
    if (!st.isSymbolicLink()) fs.chmodSync(target, st.mode & 0o7777);
    fs.lchownSync(target, root.keepOwner ? st.uid : 0, root.keepOwner ? st.gid : 0);
  });
}

function notFound(m: { target: string; source: string }, root: SourceRoot): TsbuildError {
  return new TsbuildError('TSB_MOUNT_SOURCE_MISSING', `failed to mount ${m.target}: "${m.source || '/'}": not found in ${root.label}`);
}

async function bindMount(m: Extract<RunMount, { type: 'bind' }>, ctx: ExecContext, cleanups: Cleanup[]): Promise<ExtraMount> {
  return withSourceRoot(m.from, ctx, cleanups, async (root) => {
    let host = resolveInRoot(root.dir, m.source || '/', { followFinal: true });
    let st: fs.Stats;
    try {
      st = fs.statSync(host);
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) throw notFound(m, root);
      throw e;
    }
    // The context minus .dockerignore'd files is what BuildKit sends; without ignore rules it is bound as it is.
    const filtered = root.ignore !== NO_IGNORE && st.isDirectory();
    if (filtered || (!m.readonly && (!st.isDirectory() || /[,:\\]/.test(host)))) {
      const copy = path.join(ctx.session.tempDir('bindsrc'), 'src');
      try {
        materialize(root, m.source, copy);
      } catch (e) {
        if (e instanceof TsbuildError && e.code === 'TSB_COPY_SOURCE_MISSING') throw notFound(m, root);
        throw e;
      }
      cleanups.push(() => fs.rmSync(path.dirname(copy), { recursive: true, force: true }));
      host = copy;
      if (!m.readonly) return { destination: m.target, source: host, type: 'bind', options: ['rbind'] };
    }
    if (m.readonly) return { destination: m.target, source: host, type: 'bind', options: ['rbind', 'ro'] };
    // Read-write: writes land in a throwaway overlay upper dir, discarded after the RUN (BuildKit's ForceNoOutput).
    const scratch = ctx.session.tempDir('bindrw');
    for (const d of ['upper', 'work']) fs.mkdirSync(path.join(scratch, d));
    cleanups.push(() => fs.rmSync(scratch, { recursive: true, force: true }));
    const options = [`lowerdir=${host}`, `upperdir=${scratch}/upper`, `workdir=${scratch}/work`];
    return { destination: m.target, source: 'overlay', type: 'overlay', options };
  });
}

type CacheMount = Extract<RunMount, { type: 'cache' }>;

function cacheKeyHex(m: CacheMount, seed: string | undefined): string {
  return digestHex(sha256(JSON.stringify(['cache-mount/v1', m.id, seed ?? null, m.from ? m.source : '', m.mode ?? null, m.uid ?? null, m.gid ?? null])));
}

async function cacheMount(m: CacheMount, ctx: ExecContext, cleanups: Cleanup[]): Promise<ExtraMount> {
  const seed = m.from ? await sourceIdentity(m.from, m.source, ctx) : undefined;
  const lease = await acquireCacheMount({
    root: ctx.store.root,
    key: cacheKeyHex(m, seed),
    private: m.sharing === 'private',
    lock: (name, fn) => ctx.store.withLock(name, fn, { timeoutMs: 600_000, signal: ctx.signal }),
    init: async (dir) => {
      if (m.from) {
        await withSourceRoot(m.from, ctx, cleanups, async (root) => {
          const sub = path.join(dir, path.posix.normalize(`/${m.source}`));
          if (sub !== dir) fs.mkdirSync(path.dirname(sub), { recursive: true });
          try {
            materialize(root, m.source, sub);
          } catch (e) {
            if (e instanceof TsbuildError && e.code === 'TSB_COPY_SOURCE_MISSING') throw notFound(m, root);
            throw e;
          }
        });
      }
      if (!m.from || !m.source) {
        fs.chmodSync(dir, m.mode ?? 0o755);
        fs.chownSync(dir, m.uid ?? 0, m.gid ?? 0);
      }
    },
  });
  cleanups.push(() => lease.release());
  let host = lease.dir;
  if (m.source && m.source !== '/') {
    host = resolveInRoot(lease.dir, m.source, { followFinal: true });
    fs.mkdirSync(host, { recursive: true, mode: 0o755 });
  }
  return { destination: m.target, source: host, type: 'bind', options: m.readonly ? ['rbind', 'ro'] : ['rbind'] };
}

function secretValue(m: Extract<RunMount, { type: 'secret' }>, ctx: ExecContext): Buffer | undefined {
  const src = ctx.secrets.get(m.id);
  let value: Buffer | undefined;
  if (src?.kind === 'file') {
    try {
      value = fs.readFileSync(src.path);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
      throw new TsbuildError('TSB_SECRET_MISSING', `secret ${m.id}: file ${src.path} not found`);
    }
  } else if (src?.kind === 'env') {
    const v = process.env[src.name];
    if (v !== undefined) value = Buffer.from(v);
  }
  if (value === undefined && m.required) {
    throw new TsbuildError('TSB_SECRET_MISSING', `secret ${m.id} not found`, { hint: `pass it with --secret id=${m.id},src=PATH or --secret id=${m.id},env=VAR` });
  }
  return value;
}

/**
 * Sets up a RUN's mounts, runs `fn` with them, and tears them down (views, scratch dirs, secret files,
 * agents, cache leases) whatever happens. `sharing=locked` caches are held under the store's inter-process
 * lock for the whole RUN (taken in sorted order, so two RUNs never deadlock).
 */
export async function withMounts<T>(op: RunOp, ctx: ExecContext, fn: (p: PreparedMounts) => Promise<T>): Promise<T> {
  const mounts = [...(op.mounts ?? [])];
  const locked = [...new Set(mounts.filter((m): m is CacheMount => m.type === 'cache' && m.sharing === 'locked').map((m) => m.id))].sort();
  const run = async (): Promise<T> => {
    const cleanups: Cleanup[] = [];
    const prepared: PreparedMounts = { mounts: [], env: [], targets: [] };
    try {
      let sshFirst: string | undefined;
      for (const m of mounts) {
        if (m.type === 'bind') prepared.mounts.push(await bindMount(m, ctx, cleanups));
        else if (m.type === 'cache') prepared.mounts.push(await cacheMount(m, ctx, cleanups));
        else if (m.type === 'tmpfs') {
          const options = ['nosuid', 'nodev', ...(m.size ? [`size=${m.size}`] : [])];
          prepared.mounts.push({ destination: m.target, source: 'tmpfs', type: 'tmpfs', options });
        } else if (m.type === 'secret') {
          const value = secretValue(m, ctx);
          if (value === undefined) continue;
          if (m.env !== undefined) prepared.env.push(`${m.env || m.id}=${value.toString('utf8')}`);
          if (m.target !== undefined) {
            const dir = ctx.session.tempDir('secret');
            const file = path.join(dir, 'value');
            fs.writeFileSync(file, value, { mode: 0o600 });
            fs.chmodSync(file, m.mode);
            fs.chownSync(file, m.uid, m.gid);
            cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
            prepared.mounts.push({ destination: m.target, source: file, type: 'bind', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
          }
        } else {
          sshFirst ??= m.target;
          const paths = ctx.ssh.get(m.id);
          if (!paths?.length) {
            if (m.required) throw new TsbuildError('TSB_SSH_MISSING', `no SSH key "${m.id}" forwarded from the client`, { hint: `pass it with --ssh ${m.id}[=SOCKET|KEY]` });
            continue;
          }
          const fwd = await forwardSsh({ id: m.id, paths, dir: ctx.session.tempDir('ssh'), mode: m.mode, uid: m.uid, gid: m.gid });
          cleanups.push(() => fwd.close());
          prepared.mounts.push({ destination: m.target, source: fwd.socket, type: 'bind', options: ['rbind'] });
        }
        if (m.type !== 'secret' || m.target !== undefined) prepared.targets.push(m.target!);
      }
      if (sshFirst !== undefined && !op.env.some((e) => e.startsWith('SSH_AUTH_SOCK='))) prepared.env.push(`SSH_AUTH_SOCK=${sshFirst}`);
      // Parents before children, as BuildKit sorts mounts by target.
      prepared.mounts.sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
      return await fn(prepared);
    } finally {
      for (const c of cleanups.reverse()) await c();
    }
  };
  let wrapped = run;
  for (const id of [...locked].reverse()) {
    const inner = wrapped;
    const name = `cache-lock-${digestHex(sha256(JSON.stringify(['cache-lock/v1', id]))).slice(0, 32)}`;
    wrapped = () => ctx.store.withLock(name, inner, { timeoutMs: 24 * 3600_000, signal: ctx.signal });
  }
  return wrapped();
}
