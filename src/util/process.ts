import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isErrno } from './errors.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a helper program to completion, capturing output; never throws for a non-zero exit. */
export function execCapture(cmd: string, args: string[], options: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): ExecResult {
  const r = spawnSync(cmd, args, { input: options.input, cwd: options.cwd, env: options.env, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? 128 + (r.signal ? 1 : 0), stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/** Async variant of execCapture. */
export function execAsync(cmd: string, args: string[], options: SpawnOptions & { input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin!.end(options.input ?? '');
  });
}

/** True when a process with this pid exists (signal 0 probe). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The kernel start time of a process (field 22 of /proc/PID/stat), to tell a live owner from a reused pid. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ESRCH')) return undefined;
    throw e;
  }
}

/** True when the process that recorded (pid, startTime) is still the one running. */
export function ownerAlive(pid: number, startTime: string | undefined): boolean {
  const now = processStartTime(pid);
  return now !== undefined && (startTime === undefined || now === startTime);
}
