import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsbuildError, execCapture } from '../util/index.js';
import { buildRuntimeSpec, type ContainerSpec } from './spec.js';

/** Where runc keeps container state for tsbuild (separate from other runc users). */
export const RUNC_ROOT = '/run/tsbuild/runc';

export interface ProcessIO {
  /** 'inherit' hands the terminal to the container (tsbuild run); otherwise stdin is /dev/null. */
  stdin: 'inherit' | 'null';
  /** Receives output chunks; 'inherit' writes straight to this process's stdout/stderr. */
  output: 'inherit' | ((stream: 'stdout' | 'stderr', chunk: Buffer) => void);
}

export interface RunOptions {
  id: string;
  bundleDir: string;
  spec: ContainerSpec;
  io: ProcessIO;
  signal?: AbortSignal;
  /** Called once runc has been started, before the container exits (journal the id for crash recovery). */
  onStart?: (id: string) => void;
}

let runtimeBinary: string | undefined;

/**
 * The OCI runtime binary: $TSBUILD_RUNTIME when set; else crun where the host has a unified cgroup v2
 * hierarchy (crun refuses hybrid v1 set-ups, and is ~3x faster to start), else runc.
 */
export function runtimePath(): string {
  if (runtimeBinary) return runtimeBinary;
  const unifiedCgroups = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  const candidates = process.env.TSBUILD_RUNTIME ? [process.env.TSBUILD_RUNTIME] : unifiedCgroups ? ['crun', 'runc'] : ['runc'];
  for (const c of candidates) {
    const found = findInPath(c);
    if (found) return (runtimeBinary = found);
  }
  throw new TsbuildError('TSB_RUNTIME_UNAVAILABLE', `OCI runtime not found (tried ${candidates.join(', ')})`, {
    hint: 'install runc (apt-get install runc), or set TSBUILD_RUNTIME to an OCI runtime binary',
  });
}

function findInPath(cmd: string): string | undefined {
  const dirs = cmd.includes('/') ? [''] : (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const d of dirs) {
    const p = d === '' ? cmd : path.join(d, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/** Runs one container to completion with runc; resolves with its exit code (128+n when killed by signal n). */
export function runContainer(o: RunOptions): Promise<{ exitCode: number }> {
  fs.mkdirSync(o.bundleDir, { recursive: true });
  fs.writeFileSync(path.join(o.bundleDir, 'config.json'), JSON.stringify(buildRuntimeSpec(o.spec)));
  const runc = runtimePath();
  if (o.signal?.aborted) return Promise.reject(new TsbuildError('TSB_CANCELLED', 'cancelled'));
  return new Promise((resolve, reject) => {
    const child = spawn(runc, ['--root', RUNC_ROOT, 'run', '--bundle', o.bundleDir, o.id], {
      stdio: [o.io.stdin === 'inherit' ? 'inherit' : 'ignore', o.io.output === 'inherit' ? 'inherit' : 'pipe', o.io.output === 'inherit' ? 'inherit' : 'pipe'],
    });
    o.onStart?.(o.id);
    const sink = o.io.output;
    if (typeof sink === 'function') {
      child.stdout!.on('data', (b: Buffer) => sink('stdout', b));
      child.stderr!.on('data', (b: Buffer) => sink('stderr', b));
    }
    // The container may not exist yet when the abort comes: keep killing until runc returns.
    let killer: NodeJS.Timeout | undefined;
    const abort = () => {
      killContainer(o.id);
      killer = setInterval(() => killContainer(o.id), 200);
    };
    o.signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (e) => {
      clearInterval(killer);
      o.signal?.removeEventListener('abort', abort);
      reject(new TsbuildError('TSB_CONTAINER_START', `could not start ${runc}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, sig) => {
      clearInterval(killer);
      o.signal?.removeEventListener('abort', abort);
      // runc removes a container that exits normally; after a kill or a runc failure, make sure.
      if (o.signal?.aborted || code !== 0) deleteContainer(o.id);
      if (o.signal?.aborted) return reject(new TsbuildError('TSB_CANCELLED', 'cancelled'));
      resolve({ exitCode: code ?? 128 + (sig ? 9 : 0) });
    });
  });
}

/** Sends SIGKILL to a container's processes (ignores containers that are already gone). */
export function killContainer(id: string): void {
  execCapture(runtimePath(), ['--root', RUNC_ROOT, 'kill', '--all', id, 'KILL']);
}

/** Force-deletes a container's runtime state (ignores containers that are already gone). */
export function deleteContainer(id: string): void {
  execCapture(runtimePath(), ['--root', RUNC_ROOT, 'delete', '--force', id]);
}

/** Sends a signal (name like TERM or SIGTERM, or a number) to a container's init, or with `all` to all its processes. */
export function signalContainer(id: string, signal: string, all = false): boolean {
  const sig = /^\d+$/.test(signal) ? signal : signal.toUpperCase().replace(/^SIG/, '');
  return execCapture(runtimePath(), ['--root', RUNC_ROOT, 'kill', ...(all ? ['--all'] : []), id, sig]).code === 0;
}

/** The runtime's view of a container: running, created, stopped, paused, or undefined when it has none. */
export function containerStatus(id: string): string | undefined {
  const r = execCapture(runtimePath(), ['--root', RUNC_ROOT, 'state', id]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { status: string }).status;
}
