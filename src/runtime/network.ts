import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { TsbuildError, execCapture, unlinkIfExists } from '../util/index.js';
import { unmount } from '../sys/index.js';
import type { PortMapping } from './state.js';

/** Parses `-p [IP:][HOST:]CTR[/tcp|udp]` (HOST may be empty or absent: a free port is picked at start). */
export function parsePublish(spec: string): PortMapping {
  const m = /^(?:(?:\[?([0-9a-fA-F.:]+?)\]?):)?(?:(\d*):)?(\d+)(?:\/(tcp|udp))?$/.exec(spec);
  if (!m) throw new TsbuildError('TSB_USAGE', `invalid port specification "${spec}"`, { hint: 'use [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]' });
  let [, ip, host, ctr, proto] = m;
  if (ip !== undefined && host === undefined && !ip.includes('.') && !ip.includes(':')) [ip, host] = [undefined, ip];
  const port = (s: string | undefined) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new TsbuildError('TSB_USAGE', `invalid port "${s}" in "${spec}"`);
    return n;
  };
  return { hostIp: ip ?? '0.0.0.0', hostPort: host ? port(host) : 0, containerPort: port(ctr), proto: (proto ?? 'tcp') as 'tcp' | 'udp' };
}

/** Makes a persistent network namespace at `file` (a bind mount of the nsfs inode). */
export function createNetns(file: string): void {
  fs.writeFileSync(file, '');
  const r = execCapture('unshare', [`--net=${file}`, 'true']);
  if (r.code !== 0) throw new TsbuildError('TSB_NETWORK', `could not create a network namespace: ${r.stderr.trim()}`);
}

/** Unmounts and removes a namespace file made by createNetns (a missing one is fine). */
export function removeNetns(file: string): void {
  if (!fs.existsSync(file)) return;
  unmount(file);
  unlinkIfExists(file);
}

/** A running slirp4netns: user-mode networking for the namespace, with host port forwards. */
export interface Slirp {
  pid: number;
  /** Closing it makes slirp4netns exit (also when this process dies: the exit fd is a socket). */
  stop(): void;
}

/** Starts slirp4netns on `netnsFile` (outbound access through the host, DNS at 10.0.2.3) and waits until it is ready. */
export async function startSlirp(netnsFile: string, apiSocket: string): Promise<Slirp> {
  fs.mkdirSync(path.dirname(apiSocket), { recursive: true, mode: 0o700 });
  fs.rmSync(apiSocket, { force: true });
  let child: ChildProcess;
  try {
    child = spawn('slirp4netns', ['--configure', '--mtu=65520', '--disable-host-loopback', '--netns-type=path', '--api-socket', apiSocket, '--ready-fd=3', '--exit-fd=4', netnsFile, 'tap0'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
  } catch (e) {
    throw new TsbuildError('TSB_NETWORK', 'could not start slirp4netns', { hint: 'apt-get install slirp4netns', cause: e });
  }
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  await new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(new TsbuildError('TSB_NETWORK', `could not start slirp4netns: ${e.message}`, { hint: 'apt-get install slirp4netns', cause: e })));
    child.on('exit', () => reject(new TsbuildError('TSB_NETWORK', `slirp4netns failed: ${err.trim()}`)));
    (child.stdio[3] as net.Socket).once('data', () => resolve());
  });
  child.removeAllListeners('exit');
  child.stderr!.destroy();
  (child.stdio[3] as net.Socket).destroy();
  const exitFd = child.stdio[4] as net.Socket;
  child.unref();
  exitFd.unref();
  return { pid: child.pid!, stop: () => exitFd.destroy() };
}

/** A free port on the host address (for -P and `-p CTR`); the kernel picks it. */
export function freePort(hostIp: string, proto: 'tcp' | 'udp'): Promise<number> {
  if (proto === 'udp') return Promise.resolve(20000 + Math.floor(Math.random() * 40000));
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, hostIp === '0.0.0.0' ? undefined : hostIp, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Asks slirp4netns (through its API socket) to forward a host port; a port in use is a clear error. */
export async function addPortForward(apiSocket: string, p: PortMapping): Promise<void> {
  const reply = await new Promise<string>((resolve, reject) => {
    const c = net.connect(apiSocket);
    let data = '';
    c.on('data', (b) => (data += b.toString()));
    c.on('end', () => resolve(data));
    c.on('error', reject);
    c.write(JSON.stringify({ execute: 'add_hostfwd', arguments: { proto: p.proto, host_addr: p.hostIp, host_port: p.hostPort, guest_port: p.containerPort } }));
    c.end();
  });
  const r = JSON.parse(reply) as { error?: { desc?: string } };
  if (r.error) {
    throw new TsbuildError('TSB_CONTAINER_START', `cannot publish ${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}: ${r.error.desc ?? 'refused'} (is the port already in use?)`);
  }
}

/** `0.0.0.0:8080->80/tcp` as docker ps shows ports. */
export function formatPort(p: PortMapping): string {
  return `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`;
}
