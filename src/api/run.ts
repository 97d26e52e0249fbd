import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveImage } from '../image/index.js';
import { ensureSnapshots } from '../ops/index.js';
import { resolveUser, runContainer } from '../runtime/index.js';
import { TsbuildError, isErrno, resolveInRoot } from '../util/index.js';
import { imageLayers, openWorkspace } from './env.js';

export interface RunOptions {
  root: string;
  image: string;
  /** Arguments after the image name; replace the image's CMD. */
  cmd: string[];
  entrypoint?: string;
  env: string[];
  interactive: boolean;
  tty: boolean;
  network: 'host' | 'none';
  user?: string;
  workdir?: string;
  signal: AbortSignal;
}

/** Docker's rule: --entrypoint replaces ENTRYPOINT and drops the image CMD; arguments replace CMD. */
export function containerArgs(config: { Entrypoint?: string[] | null; Cmd?: string[] | null }, cmd: string[], entrypoint?: string): string[] {
  const ep = entrypoint !== undefined ? (entrypoint === '' ? [] : [entrypoint]) : config.Entrypoint ?? [];
  const args = cmd.length > 0 ? cmd : entrypoint !== undefined ? [] : config.Cmd ?? [];
  return [...ep, ...args];
}

/** Merges `-e K=V` / `-e K` (taken from this process's environment) over the image's Env. */
export function mergeEnv(imageEnv: string[], overrides: string[]): string[] {
  const m = new Map<string, string>();
  for (const kv of imageEnv) {
    const eq = kv.indexOf('=');
    m.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? '' : kv.slice(eq + 1));
  }
  for (const kv of overrides) {
    const eq = kv.indexOf('=');
    if (eq < 0) {
      const v = process.env[kv];
      if (v !== undefined) m.set(kv, v);
    } else m.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return [...m].map(([k, v]) => `${k}=${v}`);
}

function findExecutable(rootfs: string, cmd: string, env: string[]): boolean {
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const candidates = cmd.includes('/') ? [cmd] : pathVar.split(':').map((d) => path.posix.join(d, cmd));
  return candidates.some((c) => {
    try {
      return fs.statSync(resolveInRoot(rootfs, c, { followFinal: true })).isFile();
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return false;
      throw e;
    }
  });
}

/** Runs a command in a new container from an image, in the foreground; resolves with its exit code. */
export async function run(o: RunOptions): Promise<number> {
  const ws = openWorkspace(o.root);
  try {
    const img = await resolveImage(ws.store, o.image);
    const layers = imageLayers(img);
    await ensureSnapshots({ store: ws.store, snapshots: ws.snapshots, signal: o.signal }, layers);
    const cfg = img.config.config ?? {};
    const args = containerArgs(cfg, o.cmd, o.entrypoint);
    if (args.length === 0) throw new TsbuildError('TSB_USAGE', 'no command specified', { hint: 'the image has no CMD or ENTRYPOINT: give a command after the image name' });
    const active = ws.snapshots.prepare(layers.map((l) => l.diffId));
    try {
      const env = mergeEnv(cfg.Env ?? [], o.env);
      if (!env.some((e) => e.startsWith('PATH='))) env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
      if (!findExecutable(active.merged, args[0]!, env)) {
        throw new TsbuildError('TSB_CONTAINER_START', `exec: "${args[0]}": executable file not found in $PATH`);
      }
      const user = resolveUser(active.merged, o.user ?? cfg.User ?? '');
      if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);
      if (o.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
      const id = `tsr-${randomBytes(6).toString('hex')}`;
      const bundle = ws.session.tempDir('bundle');
      const hosts = path.join(bundle, 'hosts');
      fs.writeFileSync(hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${id.slice(4, 16)}\n`);
      const mounts = [{ destination: '/etc/hosts', source: hosts, type: 'bind' as const, options: ['rbind', 'ro'] }];
      if (o.network === 'host' && fs.existsSync('/etc/resolv.conf')) {
        mounts.push({ destination: '/etc/resolv.conf', source: '/etc/resolv.conf', type: 'bind', options: ['rbind', 'ro'] });
      }
      const { exitCode } = await runContainer({
        id,
        bundleDir: bundle,
        spec: { rootfs: active.merged, args, env, cwd: o.workdir ?? (cfg.WorkingDir || '/'), user, network: o.network, hostname: id.slice(4, 16), terminal: o.tty, mounts },
        io: { stdin: o.interactive || o.tty ? 'inherit' : 'null', output: 'inherit' },
        signal: o.signal,
        onStart: (cid) => ws.session.addContainer(cid),
      });
      return exitCode;
    } finally {
      active.unmount();
    }
  } finally {
    ws.close();
  }
}
