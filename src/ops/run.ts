import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunOp } from '../graph/index.js';
import { sha256 } from '../oci/index.js';
import { RUNTIME_MOUNT_POINTS, resolveUser, runContainer } from '../runtime/index.js';
import { TsbuildError, isErrno, mkdirAllInRoot, resolveInRoot } from '../util/index.js';
import { withWritableLayer, type Untouched } from './layers.js';
import type { ExecContext, OpHandler } from './types.js';

const TAIL_LINES = 10;
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

/** Paths the runtime creates as mount stubs when missing: remembered so they never land in the layer. */
function missingStubs(rootfs: string): string[] {
  const missing: string[] = [];
  for (const p of ['/etc', ...ETC_FILES, ...RUNTIME_MOUNT_POINTS]) {
    try {
      fs.lstatSync(resolveInRoot(rootfs, p));
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
      missing.push(p);
    }
  }
  return missing;
}

/** Existing parents of the stubs: their metadata, to put back once the stubs are gone. */
function stubParents(rootfs: string, stubs: string[]): Untouched[] {
  const parents = new Set(stubs.map((s) => path.posix.dirname(s)).filter((p) => p !== '/' && !stubs.includes(p)));
  const out: Untouched[] = [];
  for (const p of parents) {
    try {
      out.push({ path: p, stat: fs.lstatSync(resolveInRoot(rootfs, p)) });
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }
  return out;
}

function removeStubs(rootfs: string, stubs: string[], parents: Untouched[]): void {
  for (const p of [...stubs].sort((a, b) => b.length - a.length)) {
    const host = resolveInRoot(rootfs, p);
    try {
      const st = fs.lstatSync(host);
      if (st.isDirectory()) fs.rmdirSync(host);
      else if (st.size === 0) fs.unlinkSync(host);
    } catch (e) {
      if (!isErrno(e, 'ENOENT') && !isErrno(e, 'ENOTEMPTY')) throw e;
    }
  }
  for (const p of parents) {
    const host = resolveInRoot(rootfs, p.path);
    const now = fs.lstatSync(host);
    if (now.isDirectory() && Math.floor(now.mtimeMs) !== Math.floor(p.stat.mtimeMs)) fs.lutimesSync(host, p.stat.atime, p.stat.mtime);
  }
}

export const runHandler: OpHandler<RunOp> = {
  async cacheKey(op, input) {
    return sha256(JSON.stringify(['run/v2', input.parentKey, op]));
  },
  exec(op, input, ctx) {
    return withWritableLayer(ctx, input.layers, (rootfs) => runIn(rootfs, op, ctx), { keepEmpty: true });
  },
};

async function runIn(rootfs: string, op: RunOp, ctx: ExecContext): Promise<Untouched[]> {
  const user = resolveUser(rootfs, op.user);
  const stubs = missingStubs(rootfs);
  const parents = stubParents(rootfs, stubs);
  mkdirAllInRoot(rootfs, op.cwd, { uid: user.uid, gid: user.gid });
  const bundle = ctx.session.tempDir('bundle');
  const id = `tsb-${randomBytes(6).toString('hex')}`;
  const hostname = id.slice(0, 16);
  const files: Record<string, string> = { '/etc/hosts': hostsFile(hostname), '/etc/resolv.conf': resolvConf(op.network), '/etc/hostname': `${hostname}\n` };
  const mounts = Object.entries(files).map(([dest, content]) => {
    const src = path.join(bundle, path.basename(dest));
    fs.writeFileSync(src, content);
    return { destination: dest, source: src, type: 'bind' as const, options: ['rbind', 'ro'] };
  });
  const tail: string[] = [];
  let partial = '';
  const keepTail = (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    tail.push(...lines);
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
  };
  const env = op.env.some((e) => e.startsWith('HOME=')) ? op.env : [...op.env, `HOME=${user.home}`];
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
    removeStubs(rootfs, stubs, parents);
  }
  if (exitCode !== 0) {
    if (partial) tail.push(partial);
    const shown = op.args.join(' ');
    throw new TsbuildError('TSB_RUN_FAILED', `process "${shown}" did not complete successfully: exit code: ${exitCode}`, { details: tail.slice(-TAIL_LINES) });
  }
  return parents;
}
