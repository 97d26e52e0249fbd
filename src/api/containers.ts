import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as rt from '../runtime/index.js';
import { TsbuildError, isErrno, resolveInRoot } from '../util/index.js';
import { CommandNotRunnableError } from './run.js';

export { formatPort as formatPortMapping } from '../runtime/index.js';

/** A container as `ps` and `inspect` see it. */
export interface ContainerInfo {
  record: rt.ContainerRecord;
  state: rt.ContainerState;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads a container's state, settling what a dead supervisor left: a container still running keeps running
 * (stop/kill reach it through the runtime); one that is gone is cleaned up and marked exited.
 */
export function containerInfo(root: string, id: string): ContainerInfo | undefined {
  if (!fs.existsSync(rt.containerPaths(root, id).record)) return undefined;
  const record = rt.readRecord(root, id);
  let state = rt.readState(root, id) ?? { status: 'created' };
  if (state.status !== 'exited' && state.supervisor && !rt.supervisorAlive(state)) {
    const runtimeStatus = rt.containerStatus(id);
    if (runtimeStatus === 'running' || runtimeStatus === 'paused') return { record, state: { ...state, status: 'running' } };
    rt.cleanupContainer(root, id, state.slirpPid);
    if (record.autoRemove) {
      rt.removeContainerState(root, record);
      return undefined;
    }
    state = { status: 'exited', exitCode: state.exitCode ?? 255, finishedAt: new Date().toISOString(), error: 'the supervisor died', ...(state.startedAt ? { startedAt: state.startedAt } : {}) };
    rt.writeState(root, id, state);
  }
  return { record, state };
}

function get(root: string, ref: string): ContainerInfo {
  const info = containerInfo(root, rt.lookupContainer(root, ref));
  if (!info) throw new TsbuildError('TSB_RUN_FAILED', `no such container: ${ref}`);
  return info;
}

/** All containers (running only unless `all`), oldest first. */
export function listContainerInfos(root: string, all: boolean): ContainerInfo[] {
  return rt.listContainers(root).map((id) => containerInfo(root, id)).filter((c): c is ContainerInfo => !!c && (all || c.state.status === 'running'));
}

/** Waits until the container has exited; resolves with its exit code (undefined if it was removed meanwhile). */
export async function waitContainer(root: string, ref: string, timeoutMs = Infinity): Promise<number | undefined> {
  const id = rt.lookupContainer(root, ref);
  const end = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const info = containerInfo(root, id);
    if (!info) return undefined;
    if (info.state.status !== 'running' && !(info.state.status === 'created' && rt.supervisorAlive(info.state))) return info.state.exitCode;
    if (Date.now() > end) throw new TsbuildError('TSB_RUN_FAILED', `timed out waiting for container ${ref}`);
    await sleep(delay);
  }
}

/** Sends a signal to a running container's main process. */
export function killContainer(root: string, ref: string, signal = 'SIGKILL'): void {
  const { record, state } = get(root, ref);
  if (state.status !== 'running') throw new TsbuildError('TSB_RUN_FAILED', `container ${record.name} is not running`);
  if (!rt.signalContainer(record.id, rt.normalizeSignal(signal))) throw new TsbuildError('TSB_RUN_FAILED', `cannot signal container ${record.name}`);
}

/** Stops a container: its stop signal, then SIGKILL after the timeout (seconds); resolves once it has exited. */
export async function stopContainer(root: string, ref: string, timeout?: number): Promise<void> {
  const { record, state } = get(root, ref);
  if (state.status !== 'running') return;
  rt.signalContainer(record.id, record.stopSignal);
  try {
    await waitContainer(root, record.id, (timeout ?? record.stopTimeout) * 1000);
  } catch (e) {
    if (!(e instanceof TsbuildError)) throw e;
    rt.signalContainer(record.id, 'KILL', true);
    await waitContainer(root, record.id, 10_000);
  }
}

/** Removes a container (a running one only with `force`: it is killed first); nothing stays mounted. */
export async function removeContainer(root: string, ref: string, force: boolean): Promise<string> {
  const { record, state } = get(root, ref);
  if (state.status === 'running' || (state.status === 'created' && rt.supervisorAlive(state))) {
    if (!force) throw new TsbuildError('TSB_RUN_FAILED', `cannot remove running container ${record.name}`, { hint: 'stop it first, or use rm -f' });
    rt.signalContainer(record.id, 'KILL', true);
    await waitContainer(root, record.id, 10_000).catch((e: unknown) => {
      if (!(e instanceof TsbuildError)) throw e;
    });
  }
  const st = rt.readState(root, record.id);
  if (st?.supervisor && rt.supervisorAlive(st)) process.kill(st.supervisor.pid, 'SIGKILL');
  if (!fs.existsSync(rt.containerPaths(root, record.id).record)) return record.name;
  rt.cleanupContainer(root, record.id, st?.slirpPid);
  rt.removeContainerState(root, record);
  return record.name;
}

/** Starts a created or exited container again under a new supervisor; its rw layer is kept. */
export async function startContainer(root: string, ref: string): Promise<string> {
  const { record, state } = get(root, ref);
  if (state.status === 'running') return record.name;
  await rt.launchDetached(root, record.id);
  return record.name;
}

/** Stops (if running) and starts a container. */
export async function restartContainer(root: string, ref: string, timeout?: number): Promise<string> {
  await stopContainer(root, ref, timeout);
  return startContainer(root, ref);
}

/** The full record and state of a container, docker-inspect shaped. */
export function inspectContainer(root: string, ref: string): object {
  const { record: r, state: s } = get(root, ref);
  return {
    Id: r.id,
    Name: `/${r.name}`,
    Created: r.created,
    Image: r.imageId,
    State: { Status: s.status, Running: s.status === 'running', Pid: s.pid ?? 0, ExitCode: s.exitCode ?? 0, Error: s.error ?? '', StartedAt: s.startedAt ?? '', FinishedAt: s.finishedAt ?? '' },
    Config: { Image: r.image, Hostname: r.spec.hostname, Cmd: r.spec.args, Env: r.spec.env, WorkingDir: r.spec.cwd, Tty: r.spec.terminal ?? false, StopSignal: r.stopSignal, StopTimeout: r.stopTimeout, User: `${r.spec.user.uid}:${r.spec.user.gid}` },
    HostConfig: { NetworkMode: r.network, AutoRemove: r.autoRemove, ReadonlyRootfs: r.spec.readonlyRootfs ?? false, Resources: r.spec.resources ?? {}, CapAdd: r.spec.capabilities ?? null },
    NetworkSettings: { Ports: s.ports ?? r.ports, IPAddress: r.network === 'private' ? '10.0.2.100' : '' },
    Mounts: r.mountsInfo,
    LogPath: rt.containerPaths(root, r.id).log,
  };
}

/** Log records of a container; with `follow`, keeps calling `onRecord` until the container stops. */
export async function containerLogs(root: string, ref: string, o: { follow: boolean; tail?: number; onRecord: (r: rt.LogRecord) => void; signal?: AbortSignal }): Promise<void> {
  const id = rt.lookupContainer(root, ref);
  const file = rt.containerPaths(root, id).log;
  let { records, offset } = rt.readLog(file);
  if (o.tail !== undefined) records = o.tail === 0 ? [] : records.slice(-o.tail);
  records.forEach(o.onRecord);
  while (o.follow && !o.signal?.aborted) {
    const info = containerInfo(root, id);
    const running = info && (info.state.status === 'running' || rt.supervisorAlive(info.state));
    const next = rt.readLog(file, offset);
    next.records.forEach(o.onRecord);
    offset = next.offset;
    if (!running) return;
    await sleep(100);
  }
}

/** Options of `tsbuild exec`. */
export interface ExecOptions {
  cmd: string[];
  tty: boolean;
  interactive: boolean;
  detach?: boolean;
  env?: string[];
  user?: string;
  workdir?: string;
}

/** Runs a command in a running container (runc exec, foreground); resolves with its exit code. */
export async function execInContainer(root: string, ref: string, o: ExecOptions): Promise<number> {
  const { record, state } = get(root, ref);
  if (state.status !== 'running') throw new TsbuildError('TSB_CONTAINER_START', `container ${record.name} is not running`);
  // A rootfs the runtime mounted exists only in the container's mount namespace: read it through its init.
  const merged = record.rootfsMount === 'runtime' && state.pid ? `/proc/${state.pid}/root` : rt.containerPaths(root, record.id).merged;
  const env = [...record.spec.env];
  for (const kv of o.env ?? []) {
    const k = kv.split('=')[0]!;
    const i = env.findIndex((e) => e.split('=')[0] === k);
    const v = kv.includes('=') ? kv : process.env[k] !== undefined ? `${k}=${process.env[k]}` : undefined;
    if (v === undefined) continue;
    if (i >= 0) env[i] = v;
    else env.push(v);
  }
  const cwd = o.workdir ?? record.spec.cwd;
  const user = o.user !== undefined ? rt.resolveUser(merged, o.user) : record.spec.user;
  const proc = (rt.buildRuntimeSpec({ ...record.spec, args: o.cmd, env, cwd, user, terminal: o.tty }) as { process: object }).process;
  const procFile = path.join(rt.containerPaths(root, record.id).dir, `exec-${process.pid}-${Date.now()}.json`);
  fs.writeFileSync(procFile, JSON.stringify(proc));
  const bin = o.cmd[0] ?? '';
  if (!bin.includes('/')) {
    const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/bin:/bin';
    if (!pathVar.split(':').some((d) => existsIn(merged, path.posix.join(d, bin)))) {
      fs.rmSync(procFile, { force: true });
      throw new CommandNotRunnableError(`exec: "${bin}": executable file not found in $PATH`, 127);
    }
  }
  const args = ['--root', rt.RUNC_ROOT, 'exec', '--process', procFile, ...(o.detach ? ['--detach'] : []), record.id];
  const child = spawn(rt.runtimePath(), args, { stdio: [o.interactive || o.tty ? 'inherit' : 'ignore', 'inherit', 'inherit'] });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  for (const s of ['SIGTERM', 'SIGHUP'] as const) process.on(s, forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, sig) => resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)));
    });
  } finally {
    for (const s of ['SIGTERM', 'SIGHUP'] as const) process.off(s, forward);
    fs.rmSync(procFile, { force: true });
  }
}

function existsIn(rootfs: string, p: string): boolean {
  try {
    return fs.statSync(resolveInRoot(rootfs, p, { followFinal: true })).isFile();
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return false;
    throw e;
  }
}

/** Layer ids (hex) that containers in the store use: a prune must keep them. */
export function layersUsedByContainers(root: string): Set<string> {
  const out = new Set<string>();
  for (const id of rt.listContainers(root)) {
    for (const l of rt.readRecord(root, id).lowers) {
      const hex = l.startsWith('l/') ? path.basename(fs.realpathSync(path.join(rt.readRecord(root, id).snapshotsDir, l))) : path.basename(l);
      out.add(hex);
    }
  }
  return out;
}
