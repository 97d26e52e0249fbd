import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsbuildError, ensureDir, isErrno, unlinkIfExists } from '../util/index.js';
import { mountOverlay, mountsUnder, unmount } from '../sys/index.js';
import { openLogWriter } from './logs.js';
import { addPortForward, createNetns, freePort, removeNetns, startSlirp, type Slirp } from './network.js';
import { RUNC_ROOT, deleteContainer, runtimePath } from './runc.js';
import { layerDirs } from './layerview.js';
import { buildRuntimeSpec } from './spec.js';
import { trace } from './trace.js';
import { containerPaths, readRecord, readState, removeContainerState, selfAsSupervisor, writeRecord, writeState, type ContainerRecord, type ContainerState } from './state.js';

export interface SuperviseOptions {
  root: string;
  id: string;
  /** In the foreground the container's stdio is this process's; otherwise output goes to the log only. */
  foreground?: { stdin: boolean };
  /** Called once: when the container process has started, or with the reason it could not. */
  onReady?: (error?: unknown) => void;
  /**
   * A container this process has just created and not yet written to disk: its record and first state are
   * written once the runtime has been started, while it sets the container up (runc takes ~35 ms of wall time
   * on another process), instead of before.
   */
  created?: ContainerRecord;
  /** Called once the runtime has been spawned (or could not be): work that can overlap the container's start; its errors are ignored. */
  onSpawned?: () => void;
}

/** Mounts the container's rootfs (its image layers under its own kept rw layer) unless already mounted. */
export function mountRootfs(root: string, rec: ContainerRecord): string {
  const p = containerPaths(root, rec.id);
  if (mountsUnder(p.merged, fs.readFileSync('/proc/self/mountinfo', 'utf8')).includes(p.merged)) return p.merged;
  for (const d of [p.upper, p.work, p.merged]) ensureDir(d, 0o755);
  mountOverlay({ lower: rec.lowers, upper: p.upper, work: p.work, target: p.merged, cwd: rec.snapshotsDir });
  return p.merged;
}

/**
 * Undoes what a start set up: runtime state, network namespace, rootfs mount (each step tolerates "already
 * gone"). `hostMounts: false` is the word of the caller that started the container: nothing of it was mounted
 * on the host (rootfs mounted by the runtime, no network namespace file), so the mount table is not read.
 */
export function cleanupContainer(root: string, id: string, slirpPid?: number, o: { hostMounts?: boolean } = {}): void {
  const p = containerPaths(root, id);
  if (fs.existsSync(path.join(RUNC_ROOT, id))) deleteContainer(id);
  if (slirpPid) {
    try {
      process.kill(slirpPid, 'SIGKILL');
    } catch (e) {
      if (!isErrno(e, 'ESRCH')) throw e;
    }
  }
  removeNetns(p.netns);
  unlinkIfExists(p.apiSocket);
  if (o.hostMounts === false) return;
  for (const mp of mountsUnder(p.dir, fs.readFileSync('/proc/self/mountinfo', 'utf8'))) unmount(mp);
}

async function setupNetwork(root: string, rec: ContainerRecord, st: ContainerState): Promise<{ slirp?: Slirp; netns?: string }> {
  if (rec.network !== 'private') return {};
  const p = containerPaths(root, rec.id);
  createNetns(p.netns);
  const slirp = await startSlirp(p.netns, p.apiSocket);
  st.slirpPid = slirp.pid;
  st.ports = [];
  try {
    for (const port of rec.ports) {
      const hostPort = port.hostPort || (await freePort(port.hostIp, port.proto));
      const actual = { ...port, hostPort };
      await addPortForward(p.apiSocket, actual);
      st.ports.push(actual);
    }
  } catch (e) {
    slirp.stop();
    throw e;
  }
  return { slirp, netns: p.netns };
}

function spawnRuntime(rec: ContainerRecord, bundle: string, pidFile: string, fg: SuperviseOptions['foreground']): ChildProcess {
  const args = ['--root', RUNC_ROOT, 'run', '--pid-file', pidFile, '--bundle', bundle, rec.id];
  if (rec.spec.terminal && fg) return spawn(runtimePath(), args, { stdio: 'inherit' });
  if (rec.spec.terminal) {
    // runc relays a pty only from a terminal of its own: `script` gives it one and logs the output.
    const cmd = [runtimePath(), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  }
  // A process group of its own: signals reach the container only through this process (forwarded once).
  return spawn(runtimePath(), args, { stdio: [fg?.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: !!fg });
}

function waitForStart(child: ChildProcess, pidFile: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const read = () => {
      // most polls find no file yet: a stat that does not throw spares building an ENOENT error each time
      if (!fs.statSync(pidFile, { throwIfNoEntry: false })) return undefined;
      try {
        const pid = Number(fs.readFileSync(pidFile, 'utf8'));
        return pid > 0 ? pid : undefined;
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw e;
        return undefined;
      }
    };
    const timer = setInterval(() => {
      const pid = read();
      if (pid !== undefined) done(pid);
    }, 4);
    const done = (pid?: number) => {
      clearInterval(timer);
      child.off('exit', onExit);
      resolve(pid);
    };
    // A container can start and exit between two polls: the pid file tells that it did start.
    const onExit = () => done(read());
    child.on('exit', onExit);
  });
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Runs a created container until it exits, as its supervisor: sets up its network and rootfs, holds its stdio
 * and writes its log, records its state and exit code, and cleans up (or removes it, with --rm) at the end.
 * Resolves with the exit code (128+n when killed by signal n).
 */
export async function supervise(o: SuperviseOptions): Promise<number> {
  const rec = o.created ?? readRecord(o.root, o.id);
  const p = containerPaths(o.root, o.id);
  const st: ContainerState = { ...(o.created ? {} : readState(o.root, o.id) ?? {}), status: 'created', supervisor: selfAsSupervisor() };
  delete st.exitCode;
  delete st.error;
  // A container created by this process is written to disk once, after the runtime has started (or failed).
  let unsaved = !!o.created;
  // best effort: onSpawned's work is not the container's, and must not fail a container that runs
  let spawned = () => {
    spawned = () => {};
    try {
      o.onSpawned?.();
    } catch {
      // the next command that opens the store does it again
    }
    trace('onSpawned');
  };
  const save = () => {
    if (unsaved) writeRecord(o.root, rec);
    unsaved = false;
  };
  if (!o.created) writeState(o.root, o.id, st);
  trace('supervise: read record, write state');
  let slirp: Slirp | undefined;
  let child: ChildProcess;
  const log = openLogWriter(p.log);
  let early = '';
  let forward: ((sig: NodeJS.Signals) => void) | undefined;
  try {
    const inRuntime = rec.rootfsMount === 'runtime';
    if (inRuntime) for (const d of [p.upper, p.work, p.merged]) ensureDir(d, 0o755);
    else mountRootfs(o.root, rec);
    const net = await setupNetwork(o.root, rec, st);
    slirp = net.slirp;
    ensureDir(p.bundle);
    const spec = {
      ...rec.spec,
      rootfs: p.merged,
      ...(inRuntime ? { rootfsOverlay: { lower: layerDirs(rec.snapshotsDir, rec.lowers), upper: p.upper, work: p.work } } : {}),
      network: net.netns ? { netnsPath: net.netns } : rec.spec.network,
    };
    fs.writeFileSync(path.join(p.bundle, 'config.json'), JSON.stringify(buildRuntimeSpec(spec)));
    if (!o.created) unlinkIfExists(p.pidFile);
    trace('config.json');
    child = spawnRuntime(rec, p.bundle, p.pidFile, o.foreground);
    trace('spawned runtime');
    if (unsaved) {
      // before any event-loop turn: no signal handler or exit path runs before the container is on disk
      save();
      writeState(o.root, o.id, st);
      trace('record, state');
    }
    // Forward from the moment runc exists: the container may print (and be signalled) before its pid file is read.
    forward = (sig: NodeJS.Signals) => child.kill(sig);
    if (o.foreground) for (const s of FORWARDED) process.on(s, forward);
    const sink = (stream: 'stdout' | 'stderr') => (b: Buffer) => {
      log.write(stream, b);
      if (st.status === 'created') early += b.toString();
      if (o.foreground) (stream === 'stdout' ? process.stdout : process.stderr).write(b);
    };
    child.stdout?.on('data', sink('stdout'));
    child.stderr?.on('data', sink('stderr'));
    const piped = !!(o.foreground?.stdin && child.stdin && !rec.spec.terminal);
    if (piped) process.stdin.pipe(child.stdin!);
    const closed = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, sig) => resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)));
    });
    spawned();
    const pid = await waitForStart(child, p.pidFile);
    trace('pid file');
    if (pid === undefined) {
      await closed.catch(() => 1);
      throw new TsbuildError('TSB_CONTAINER_START', `the OCI runtime could not start the container: ${early.trim().split('\n').slice(-3).join('; ') || 'no output'}`);
    }
    Object.assign(st, { status: 'running', pid, startedAt: new Date().toISOString() });
    writeState(o.root, o.id, st);
    trace('state running');
    o.onReady?.();
    const code = await closed;
    trace('runtime exited');
    if (o.foreground) for (const s of FORWARDED) process.off(s, forward);
    forward = undefined;
    if (piped) process.stdin.unpipe();
    finish(o.root, rec, st, slirp, log, code);
    trace('finish');
    return code;
  } catch (e) {
    if (forward) for (const s of FORWARDED) process.off(s, forward);
    save();
    finish(o.root, rec, { ...st, error: e instanceof Error ? e.message : String(e) }, slirp, log, 125);
    spawned();
    if (!o.onReady) throw e;
    o.onReady(e);
    return 125;
  }
}

function finish(root: string, rec: ContainerRecord, st: ContainerState, slirp: Slirp | undefined, log: { close(): void }, code: number): void {
  slirp?.stop();
  log.close();
  // This process set the container up: with the rootfs mounted by the runtime and no network namespace
  // file, it knows that nothing was mounted on the host.
  cleanupContainer(root, rec.id, st.slirpPid, rec.rootfsMount === 'runtime' && rec.network !== 'private' ? { hostMounts: false } : {});
  trace('cleanupContainer');
  if (rec.autoRemove) return removeContainerState(root, rec);
  delete st.pid;
  delete st.slirpPid;
  delete st.supervisor;
  writeState(root, rec.id, { ...st, status: 'exited', exitCode: code, finishedAt: new Date().toISOString() });
}
