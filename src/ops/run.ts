import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunOp } from '../graph/index.js';
import { sha256 } from '../oci/index.js';
import { RUNTIME_MOUNT_POINTS, resolveUser, runContainer, type ExtraMount } from '../runtime/index.js';
import { isErrno, lstatIfExists, mkdirAllInRoot, randomBytes, resolveInRoot, TsbuildError } from '../util/index.js';
import { withWritableLayer, type Untouched } from './layers.js';
import { mountsCacheKey, withMounts, type PreparedMounts } from './mounts.js';
import type { ExecContext, OpHandler } from './types.js';

const TAIL_LINES = 20;
const ETC_FILES = ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname'];

function hostsFile(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`;
}

function resolvConf(network: 'host' | 'none'): string {
  if (network === 'none') return '';
  try {
    return fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 'nameserver 127.0.0.1\n';
    throw e;
  }
}

/** `/a/b/c` -> [`/a`, `/a/b`, `/a/b/c`]. */
function prefixes(p: string): string[] {
  const parts = p.split('/').filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

/** The container path a host path inside rootfs stands for. */
function inRoot(rootfs: string, host: string): string {
  return `/${path.relative(rootfs, host).split(path.sep).join('/')}`;
}

interface StubPlan {
  /** Paths the runtime will create as mount points (missing now), to remove after the run. */
  stubs: string[];
  /** Existing direct parents of stubs: their times are put back once the stubs are gone. */
  parents: Untouched[];
  /** Existing dirs on the way to mount points (deepest first): dropped from the upper dir if only copied up. */
  untouched: Untouched[];
}

/**
 * Every mount point of the run (runtime ones, /etc files, RUN --mount targets) and all their ancestors: the
 * missing ones become stubs that never land in the layer; existing dirs are remembered so that overlayfs
 * copy-ups caused only by mounting are pruned.
 */
function planStubs(rootfs: string, targets: string[]): StubPlan {
  const stubs = new Set<string>();
  const existing = new Map<string, fs.Stats>();
  for (const t of ['/etc', ...ETC_FILES, ...RUNTIME_MOUNT_POINTS, ...targets]) {
    for (const p of prefixes(t)) {
      if (stubs.has(p)) continue;
      if (lstatIfExists(resolveInRoot(rootfs, p)) === undefined) {
        stubs.add(p);
        continue;
      }
      const host = resolveInRoot(rootfs, p, { followFinal: true });
      const st = lstatIfExists(host);
      if (st?.isDirectory() && host !== rootfs) existing.set(inRoot(rootfs, host), st);
    }
  }
  const parents: Untouched[] = [];
  for (const s of stubs) {
    const parent = path.posix.dirname(s);
    if (parent === '/' || stubs.has(parent)) continue;
    const host = resolveInRoot(rootfs, parent, { followFinal: true });
    const st = lstatIfExists(host);
    if (st?.isDirectory() && host !== rootfs && !parents.some((u) => u.path === inRoot(rootfs, host))) parents.push({ path: inRoot(rootfs, host), stat: st });
  }
  const untouched = [...existing].map(([p, stat]) => ({ path: p, stat })).sort((a, b) => b.path.length - a.path.length);
  return { stubs: [...stubs], parents, untouched };
}

function removeStubs(rootfs: string, plan: StubPlan): void {
  for (const p of [...plan.stubs].sort((a, b) => b.length - a.length)) {
    const host = resolveInRoot(rootfs, p);
    try {
      const st = fs.lstatSync(host);
      if (st.isDirectory()) fs.rmdirSync(host);
      else if (st.size === 0) fs.unlinkSync(host);
    } catch (e) {
      if (!isErrno(e, 'ENOENT') && !isErrno(e, 'ENOTEMPTY')) throw e;
    }
  }
  for (const p of plan.parents) {
    const host = resolveInRoot(rootfs, p.path);
    const now = fs.lstatSync(host);
    if (now.isDirectory() && Math.floor(now.mtimeMs) !== Math.floor(p.stat.mtimeMs)) fs.lutimesSync(host, p.stat.atime, p.stat.mtime);
  }
}

export const runHandler: OpHandler<RunOp> = {
  async cacheKey(op, input, ctx) {
    // Mounts count by definition and bound content; secret values and agent sockets never enter the key.
    const keyed = op.mounts ? { ...op, mounts: await mountsCacheKey(op.mounts, ctx) } : op;
    return sha256(JSON.stringify(['run/v2', input.parentKey, keyed]));
  },
  exec(op, input, ctx) {
    return withWritableLayer(ctx, input.layers, (rootfs) => withMounts(op, ctx, (prepared) => runIn(rootfs, op, ctx, prepared)), { keepEmpty: true });
  },
};

/** Replaces or adds `NAME=value` entries. */
function withEnv(env: string[], extra: string[]): string[] {
  const names = new Set(extra.map((e) => e.slice(0, e.indexOf('='))));
  return [...env.filter((e) => !names.has(e.slice(0, e.indexOf('=')))), ...extra];
}

async function runIn(rootfs: string, op: RunOp, ctx: ExecContext, prepared: PreparedMounts): Promise<Untouched[]> {
  const user = resolveUser(rootfs, op.user);
  const plan = planStubs(rootfs, prepared.targets);
  mkdirAllInRoot(rootfs, op.cwd, { uid: user.uid, gid: user.gid });
  const bundle = ctx.session.tempDir('bundle');
  const id = `tsb-${randomBytes(6).toString('hex')}`;
  const hostname = id.slice(0, 16);
  const files: Record<string, string> = { '/etc/hosts': hostsFile(hostname), '/etc/resolv.conf': resolvConf(op.network), '/etc/hostname': `${hostname}\n` };
  const mounts = Object.entries(files).map(([dest, content]) => {
    const src = path.join(bundle, path.basename(dest));
    fs.writeFileSync(src, content);
    return { destination: dest, source: src, type: 'bind' as const, options: ['rbind', 'ro'] } as ExtraMount;
  });
  if (op.script) {
    const pipes = path.join(bundle, 'pipes');
    fs.mkdirSync(pipes);
    fs.writeFileSync(path.join(pipes, op.script.name), op.script.content, { mode: 0o755 });
    mounts.push({ destination: '/dev/pipes', source: pipes, type: 'bind', options: ['rbind', 'ro'] });
  }
  mounts.push(...prepared.mounts);
  const tail: string[] = [];
  let partial = '';
  const keepTail = (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    tail.push(...lines);
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
  };
  const env = withEnv(op.env.some((e) => e.startsWith('HOME=')) ? op.env : [...op.env, `HOME=${user.home}`], prepared.env);
  let exitCode: number;
  try {
    ({ exitCode } = await runContainer({
      id,
      bundleDir: bundle,
      spec: { rootfs, args: op.args, env, cwd: op.cwd, user, network: op.network, hostname, mounts },
      io: { stdin: 'null', output: (s, c) => { keepTail(c); ctx.onOutput(s, c); } },
      signal: ctx.signal,
      onStart: (cid) => ctx.session.addContainer(cid),
    }));
  } finally {
    ctx.session.removeContainer(id);
    fs.rmSync(bundle, { recursive: true, force: true }); // config.json may hold secret env values
    removeStubs(rootfs, plan);
  }
  if (exitCode !== 0) {
    if (partial) tail.push(partial);
    const shown = op.args.join(' ');
    throw new TsbuildError('TSB_RUN_FAILED', `process "${shown}" did not complete successfully: exit code: ${exitCode}`, { details: tail.slice(-TAIL_LINES) });
  }
  return [...plan.untouched, ...plan.parents.filter((p) => !plan.untouched.some((u) => u.path === p.path))];
}
