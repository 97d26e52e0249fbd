import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveImage } from '../image/index.js';
import { digestHex, type Digest } from '../oci/index.js';
import * as rt from '../runtime/index.js';
import { ensureDir, isErrno, randomBytes, resolveInRoot, TsbuildError } from '../util/index.js';
import { imageLayers, openWorkspaceTidyLater } from './env.js';

/** `tsbuild run` options (docker run's names). */
export interface RunOptions {
  root: string;
  image: string;
  /** Arguments after the image name; replace the image's CMD. */
  cmd: string[];
  entrypoint?: string;
  env: string[];
  envFiles?: string[];
  interactive: boolean;
  tty: boolean;
  /** Default: host, or private when ports are published. */
  network?: 'host' | 'none' | 'private';
  user?: string;
  workdir?: string;
  signal: AbortSignal;
  detach?: boolean;
  name?: string;
  rm?: boolean;
  volumes?: string[];
  tmpfs?: string[];
  mounts?: string[];
  readOnly?: boolean;
  hostname?: string;
  memory?: string;
  cpus?: string;
  pidsLimit?: number;
  capAdd?: string[];
  capDrop?: string[];
  init?: boolean;
  stopSignal?: string;
  stopTimeout?: number;
  publish?: string[];
  publishAll?: boolean;
}

/** The container's command could not run: 127 not found, 126 not executable (docker's exit codes). */
export class CommandNotRunnableError extends TsbuildError {
  constructor(message: string, readonly exitStatus: 126 | 127) {
    super('TSB_CONTAINER_START', message);
  }
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

/** Checks that the command exists and is executable in the rootfs, as docker reports 127 / 126. */
function checkExecutable(view: rt.LayerView, cmd: string, env: string[], cwd: string): void {
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const candidates = cmd.includes('/') ? [path.posix.resolve(cwd, cmd)] : pathVar.split(':').map((d) => path.posix.join(d, cmd));
  let found = false;
  for (const c of candidates) {
    const e = view.lookup(c, { followFinal: true });
    if (!e) continue;
    if (e.st.isFile() && (e.st.mode & 0o111) !== 0) return;
    found = true;
  }
  if (found) throw new CommandNotRunnableError(`exec: "${cmd}": permission denied (not an executable file)`, 126);
  throw new CommandNotRunnableError(`exec: "${cmd}": executable file not found in $PATH`, 127);
}

/** Overlay lower names for image layers, topmost first, as short `l/` links where the snapshotter made them. */
function lowerNames(snapshotsDir: string, diffIds: Digest[], emptyDir: string): string[] {
  const hexes = [...new Set(diffIds.map((d) => digestHex(d)).reverse())];
  if (hexes.length === 0) {
    ensureDir(emptyDir, 0o755);
    return [emptyDir];
  }
  return hexes.map((hex) => {
    try {
      if (fs.readlinkSync(path.join(snapshotsDir, 'l', hex.slice(0, 16))) === `../${hex}`) return `l/${hex.slice(0, 16)}`;
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    return hex;
  });
}

function hostsFile(hostname: string, network: string): string {
  const self = network === 'private' ? '10.0.2.100' : '127.0.1.1';
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${self}\t${hostname}\n`;
}

function initBinary(): string {
  for (const p of ['/usr/bin/tini-static', '/usr/local/bin/tini-static', '/usr/libexec/docker/docker-init', '/usr/bin/docker-init']) if (fs.existsSync(p)) return p;
  throw new TsbuildError('TSB_CONTAINER_START', '--init needs a static tini on the host', { hint: 'apt-get install tini (it ships /usr/bin/tini-static)' });
}

function resources(o: RunOptions): rt.Resources | undefined {
  const r: rt.Resources = {};
  if (o.memory !== undefined) {
    r.memoryBytes = rt.parseBytes(o.memory);
    const swapAccounted = fs.existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes') || fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
    if (swapAccounted && fs.readFileSync('/proc/swaps', 'utf8').trim().split('\n').length > 1) r.memorySwapBytes = r.memoryBytes;
  }
  if (o.cpus !== undefined) r.cpuQuota = rt.parseCpus(o.cpus);
  if (o.pidsLimit !== undefined) r.pidsLimit = o.pidsLimit;
  return Object.keys(r).length > 0 ? r : undefined;
}

function userMounts(o: RunOptions): rt.ExtraMount[] {
  return [...(o.volumes ?? []).map(rt.parseVolume), ...(o.tmpfs ?? []).map(rt.parseTmpfs), ...(o.mounts ?? []).map(rt.parseMount)];
}

/** Anonymous volumes for the image's VOLUMEs not covered by a user mount, seeded with the image's content. */
function imageVolumes(merged: string, volumesDir: string, volumes: string[], taken: Set<string>): rt.ExtraMount[] {
  return volumes.filter((v) => !taken.has(path.posix.normalize(v))).map((v, i) => {
    const dir = path.join(volumesDir, String(i));
    ensureDir(dir, 0o755);
    const src = resolveInRoot(merged, v, { followFinal: true });
    if (fs.existsSync(src)) fs.cpSync(src, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    return { type: 'bind', source: dir, destination: path.posix.normalize(v), options: ['rbind', 'rprivate', 'rw'] };
  });
}

/** Creates a container from an image: its state dir, name, kept rw layer and record. Undoes it all on failure. */
export async function createContainer(o: RunOptions): Promise<string> {
  const { root, rec, tidy } = await prepareContainer(o);
  try {
    tidy();
    rt.writeRecord(root, rec);
    rt.writeState(root, rec.id, { status: 'created' });
  } catch (e) {
    rt.cleanupContainer(root, rec.id);
    rt.removeContainerState(root, rec);
    throw e;
  }
  rt.trace('record, state');
  return rec.id;
}

/**
 * Sets a container up from an image (state dir, name, files for /etc, the record in memory) without writing
 * its record: the caller writes it, or hands it to the supervisor, which does so once the runtime runs.
 * Undoes it all on failure.
 */
async function prepareContainer(o: RunOptions): Promise<{ root: string; rec: rt.ContainerRecord; tidy: () => void }> {
  const network = o.network ?? ((o.publish?.length ?? 0) > 0 || o.publishAll ? 'private' : 'host');
  if (network !== 'private' && ((o.publish?.length ?? 0) > 0 || o.publishAll)) throw new TsbuildError('TSB_USAGE', `ports cannot be published with --network ${network}`, { hint: 'use --network private (the default when -p is given)' });
  const ports = (o.publish ?? []).map(rt.parsePublish);
  const mounts = userMounts(o);
  const env0 = [...(o.envFiles ?? []).flatMap(rt.parseEnvFile), ...o.env];
  const stopSignal = rt.normalizeSignal(o.stopSignal ?? 'SIGTERM');
  rt.trace('createContainer');
  const { ws, tidy } = openWorkspaceTidyLater(o.root);
  rt.trace('openWorkspace');
  const root = ws.root;
  const id = randomBytes(32).toString('hex');
  const name = o.name ?? `tsb_${id.slice(0, 12)}`;
  let reserved = false;
  const p = rt.containerPaths(root, id);
  try {
    // the store is trusted here (blobs are verified when written): no node:crypto load on the run path
    const img = await resolveImage(ws.store, o.image, { verify: false });
    rt.trace('resolveImage');
    const layers = imageLayers(img);
    // The layer-unpacking code (tar, compression) loads only when a layer has no snapshot yet.
    if (!layers.every((l) => ws.snapshots.hasLayer(l.diffId))) {
      const { ensureSnapshots } = await import('../ops/index.js');
      await ensureSnapshots({ store: ws.store, snapshots: ws.snapshots, signal: o.signal }, layers);
    }
    rt.trace('ensureSnapshots');
    const cfg = img.config.config ?? {};
    let args = containerArgs(cfg, o.cmd, o.entrypoint);
    if (args.length === 0) throw new TsbuildError('TSB_USAGE', 'no command specified', { hint: 'the image has no CMD or ENTRYPOINT: give a command after the image name' });
    rt.reserveName(root, name, id);
    reserved = true;
    ensureDir(p.dir);
    const rec: rt.ContainerRecord = {
      id, name, image: o.image, imageId: img.digest, created: new Date().toISOString(),
      lowers: lowerNames(ws.snapshots.dir, layers.map((l) => l.diffId), path.join(p.dir, 'empty')), snapshotsDir: ws.snapshots.dir,
      spec: undefined as unknown as rt.ContainerSpec, network, ports, autoRemove: o.rm ?? false,
      stopSignal: o.stopSignal !== undefined ? stopSignal : rt.normalizeSignal(cfg.StopSignal ?? 'SIGTERM'), stopTimeout: o.stopTimeout ?? 10,
      mountsInfo: [],
    };
    if (o.publishAll) for (const k of Object.keys(cfg.ExposedPorts ?? {})) rec.ports.push(rt.parsePublish(k));
    rt.trace('reserve name, dirs');
    // The runtime mounts the rootfs in the container's namespace, and the checks below read the layers
    // directly (runtime/layerview.ts), unless image volumes must be filled from the merged tree first or the
    // layer list is too long for one mount call with absolute paths.
    const imageVolumeList = Object.keys(cfg.Volumes ?? {});
    const lowerDirs = rt.layerDirs(rec.snapshotsDir, rec.lowers);
    const inRuntime = imageVolumeList.length === 0 && rt.overlayRootOptions({ lower: lowerDirs, upper: p.upper, work: p.work }).join(',').length <= rt.MAX_OVERLAY_DATA;
    let merged: string | undefined;
    if (inRuntime) rec.rootfsMount = 'runtime';
    else merged = rt.mountRootfs(root, rec);
    const view = new rt.LayerView(merged ? [merged] : lowerDirs);
    rt.trace('rootfs');
    const env = mergeEnv(cfg.Env ?? [], env0);
    if (!env.some((e) => e.startsWith('PATH='))) env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const cwd = o.workdir ?? (cfg.WorkingDir || '/');
    checkExecutable(view, args[0]!, env, cwd);
    const user = rt.resolveUser(view, o.user ?? cfg.User ?? '');
    if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);
    if (o.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
    const hostname = o.hostname ?? id.slice(0, 12);
    fs.writeFileSync(path.join(p.dir, 'hosts'), hostsFile(hostname, network));
    fs.writeFileSync(path.join(p.dir, 'hostname'), `${hostname}\n`);
    const sys: rt.ExtraMount[] = [
      { destination: '/etc/hosts', source: path.join(p.dir, 'hosts'), type: 'bind', options: ['rbind', 'ro'] },
      { destination: '/etc/hostname', source: path.join(p.dir, 'hostname'), type: 'bind', options: ['rbind', 'ro'] },
    ];
    if (network === 'private') fs.writeFileSync(path.join(p.dir, 'resolv.conf'), 'nameserver 10.0.2.3\n');
    else if (network === 'host' && fs.existsSync('/etc/resolv.conf')) fs.copyFileSync('/etc/resolv.conf', path.join(p.dir, 'resolv.conf'));
    if (network !== 'none') sys.push({ destination: '/etc/resolv.conf', source: path.join(p.dir, 'resolv.conf'), type: 'bind', options: ['rbind', 'ro'] });
    const taken = new Set(mounts.map((m) => m.destination));
    const vols = merged ? imageVolumes(merged, p.volumes, imageVolumeList, taken) : [];
    if (o.init) {
      sys.push({ destination: '/sbin/docker-init', source: initBinary(), type: 'bind', options: ['rbind', 'ro'] });
      args = ['/sbin/docker-init', '--', ...args];
    }
    rt.trace('checkExecutable, user, etc files');
    const res = resources(o);
    rec.spec = {
      rootfs: p.merged, args, env, cwd, user, network: network === 'host' ? 'host' : 'none', hostname, terminal: o.tty,
      readonlyRootfs: o.readOnly ?? false, mounts: [...sys, ...vols, ...mounts],
      ...(o.capAdd?.length || o.capDrop?.length ? { capabilities: rt.applyCapabilities(o.capAdd ?? [], o.capDrop ?? []) } : {}),
      ...(res ? { resources: res, cgroupsPath: `/tsbuild/${id.slice(0, 32)}` } : {}),
    };
    rec.mountsInfo = [...vols, ...mounts].map((m) => ({ type: m.type === 'bind' && m.source.startsWith(p.volumes) ? 'volume' : m.type, source: m.source, destination: m.destination, rw: !m.options.includes('ro') }));
    return { root, rec, tidy };
  } catch (e) {
    rt.cleanupContainer(root, id);
    if (reserved) rt.removeContainerState(root, { id, name });
    else fs.rmSync(p.dir, { recursive: true, force: true });
    try {
      tidy();
    } catch {
      // the failure to report is the one above; the next command tidies up
    }
    throw e;
  } finally {
    ws.close();
    rt.trace('ws.close');
  }
}

/** Creates and starts a container: detached (resolves once it runs) or in the foreground (resolves with its exit code). */
export async function runContainerFromImage(o: RunOptions, onCreated?: (id: string) => void): Promise<{ id: string; exitCode?: number }> {
  // In the foreground the supervisor is this process: it writes the record once runc is on its way.
  const prepared = o.detach ? undefined : await prepareContainer(o);
  const created = prepared?.rec;
  const id = created?.id ?? (await createContainer(o));
  onCreated?.(id);
  const root = path.resolve(o.root);
  // A container whose first start fails (a busy port, a runtime error) is removed: nothing is left behind.
  try {
    if (o.detach) {
      await rt.launchDetached(root, id);
      return { id };
    }
    return { id, exitCode: await rt.supervise({ root, id, foreground: { stdin: o.interactive || o.tty }, ...(prepared ? { created: prepared.rec, onSpawned: prepared.tidy } : {}) }) };
  } catch (e) {
    removeIfPresent(root, id, created);
    throw e;
  }
}

function removeIfPresent(root: string, id: string, created?: rt.ContainerRecord): void {
  if (!created && !fs.existsSync(rt.containerPaths(root, id).record)) return;
  rt.cleanupContainer(root, id);
  rt.removeContainerState(root, created ?? rt.readRecord(root, id));
}

/** Runs a command in a new container from an image, in the foreground; resolves with its exit code. */
export async function run(o: RunOptions): Promise<number> {
  return (await runContainerFromImage({ ...o, rm: o.rm ?? true })).exitCode ?? 0;
}
