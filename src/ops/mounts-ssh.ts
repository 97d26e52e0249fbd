import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsbuildError, execAsync, isErrno } from '../util/index.js';

/** A unix socket for the container, forwarding every connection to a host ssh agent; close() tears it down. */
export interface SshForward {
  socket: string;
  close(): Promise<void>;
}

const MAX_SOCKET_PATH = 100;

/** A directory for sockets whose paths fit in sun_path (108 bytes): the session dir when short enough, else /tmp. */
function socketDir(preferred: string): { dir: string; own: boolean } {
  if (path.join(preferred, 'agent.sock').length < MAX_SOCKET_PATH) return { dir: preferred, own: false };
  return { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-ssh-')), own: true };
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return false;
    throw e;
  }
}

async function waitForSocket(p: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (isSocket(p)) return;
    if (child.exitCode !== null) break;
    await sleep(10);
  }
  throw new TsbuildError('TSB_SSH_AGENT', `ssh-agent did not start (socket ${p} missing)`);
}

/** Starts `ssh-agent -D -a SOCK` and loads the key files into it. */
async function startAgent(dir: string, keys: string[], id: string): Promise<{ socket: string; stop: () => void }> {
  const socket = path.join(dir, 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (e) => reject(new TsbuildError('TSB_SSH_AGENT', `--ssh ${id}: cannot start ssh-agent: ${e.message}`, { hint: 'install openssh-client', cause: e }))),
  );
  const stop = () => {
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
  };
  try {
    await Promise.race([waitForSocket(socket, child), failed]);
    for (const key of keys) {
      const env = { ...process.env, SSH_AUTH_SOCK: socket, SSH_ASKPASS: '', DISPLAY: '' };
      const r = await execAsync('ssh-add', [key], { env });
      if (r.code !== 0) throw new TsbuildError('TSB_SSH_AGENT', `--ssh ${id}: ssh-add ${key} failed: ${r.stderr.trim()}`, { hint: 'keys with a passphrase need a running agent: --ssh default=$SSH_AUTH_SOCK' });
    }
  } catch (e) {
    stop();
    throw e;
  }
  return { socket, stop };
}

/**
 * Exposes `--ssh ID=paths` to a container as a socket with BuildKit's ownership and mode: an agent socket is
 * proxied; key files are loaded into a private ssh-agent started for this RUN.
 */
export async function forwardSsh(o: { id: string; paths: string[]; dir: string; mode: number; uid: number; gid: number }): Promise<SshForward> {
  const { dir, own } = socketDir(o.dir);
  const sockets = o.paths.filter(isSocket);
  if (sockets.length > 0 && (sockets.length > 1 || o.paths.length > 1)) {
    throw new TsbuildError('TSB_USAGE', `--ssh ${o.id}: give one agent socket or key files, not both`);
  }
  for (const p of o.paths) {
    if (!isSocket(p) && !fs.existsSync(p)) throw new TsbuildError('TSB_SSH_AGENT', `--ssh ${o.id}: ${p} does not exist`);
  }
  const agent = sockets.length === 1 ? undefined : await startAgent(dir, o.paths, o.id);
  const upstream = sockets[0] ?? agent!.socket;
  const socket = path.join(dir, 'forward.sock');
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const u = net.connect(upstream);
    conns.add(c).add(u);
    const end = () => {
      c.destroy();
      u.destroy();
      conns.delete(c);
      conns.delete(u);
    };
    c.on('error', end).on('close', end);
    u.on('error', end).on('close', end);
    c.pipe(u).pipe(c);
  });
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, () => resolve()));
    fs.chmodSync(socket, o.mode);
    fs.chownSync(socket, o.uid, o.gid);
  } catch (e) {
    server.close();
    agent?.stop();
    throw e;
  }
  return {
    socket,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent?.stop();
      fs.rmSync(socket, { force: true });
      if (own) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
