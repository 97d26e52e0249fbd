import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsbuildError, ensureDir, isErrno, ownerAlive, processStartTime, removeTree, readDirIfExists } from '../util/index.js';
import type { ContainerSpec } from './spec.js';

/** A published port: host address and port to a container port. */
export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

/** What a container was created with: fixed for its life (start/restart reuse it). */
export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageId: string;
  created: string;
  /** Overlay lower dir names relative to `snapshotsDir`, topmost first. */
  lowers: string[];
  snapshotsDir: string;
  /** 'runtime': the OCI runtime mounts the rootfs in the container's namespace; absent: mounted on the host. */
  rootfsMount?: 'runtime';
  /** The runtime spec inputs; `rootfs` is the container's own merged dir. */
  spec: ContainerSpec;
  network: 'host' | 'none' | 'private';
  ports: PortMapping[];
  autoRemove: boolean;
  stopSignal: string;
  stopTimeout: number;
  /** User-visible mounts (binds, tmpfs, anonymous volumes) for inspect. */
  mountsInfo: Array<{ type: string; source: string; destination: string; rw: boolean }>;
}

/** Where a container is in its life; written by whoever supervises it. */
export interface ContainerState {
  status: 'created' | 'running' | 'exited';
  pid?: number;
  supervisor?: { pid: number; start?: string };
  slirpPid?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  error?: string;
  /** Ports actually published (host ports of -P filled in). */
  ports?: PortMapping[];
}

/** Paths of one container's state directory `<root>/containers/<id>/`. */
export function containerPaths(root: string, id: string) {
  // one join, then plain concatenation: this runs several times per `run`, and each join normalises
  const dir = path.join(root, 'containers', id);
  return {
    dir,
    record: `${dir}/record.json`,
    state: `${dir}/state.json`,
    log: `${dir}/log`,
    upper: `${dir}/rw/upper`,
    work: `${dir}/rw/work`,
    merged: `${dir}/merged`,
    bundle: `${dir}/bundle`,
    netns: `${dir}/netns`,
    /** Short and outside the store: a unix socket path must stay under 108 bytes. */
    apiSocket: `/run/tsbuild/slirp/${id.slice(0, 24)}.sock`,
    pidFile: `${dir}/pid`,
    volumes: `${dir}/volumes`,
  };
}

const namesDir = (root: string) => path.join(root, 'containers', '.names');

/** Reserves a container name atomically; a taken name is a clear error and reserves nothing. */
export function reserveName(root: string, name: string, id: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new TsbuildError('TSB_USAGE', `invalid container name "${name}"`, { hint: 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed' });
  ensureDir(namesDir(root));
  try {
    fs.writeFileSync(path.join(namesDir(root), name), id, { flag: 'wx' });
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e;
    const owner = fs.readFileSync(path.join(namesDir(root), name), 'utf8');
    throw new TsbuildError('TSB_CONTAINER_START', `the container name "${name}" is already in use by container ${owner.slice(0, 12)}`, {
      hint: `remove that container (tsbuild rm -f ${name}) or choose another name`,
    });
  }
}

/** Frees a name (only when it still points at `id`). */
export function releaseName(root: string, name: string, id: string): void {
  const p = path.join(namesDir(root), name);
  try {
    if (fs.readFileSync(p, 'utf8') === id) fs.unlinkSync(p);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}

export function readRecord(root: string, id: string): ContainerRecord {
  return JSON.parse(fs.readFileSync(containerPaths(root, id).record, 'utf8')) as ContainerRecord;
}

/**
 * Replaces a file atomically (temp file + rename) without fsync: container records and states describe live
 * processes and mounts, which do not survive a power loss either, and each fsync costs milliseconds.
 */
function replaceFile(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

export function writeRecord(root: string, r: ContainerRecord): void {
  replaceFile(containerPaths(root, r.id).record, JSON.stringify(r, null, 1));
}

/** The state file, or undefined when the container is gone (removed meanwhile). */
export function readState(root: string, id: string): ContainerState | undefined {
  try {
    return JSON.parse(fs.readFileSync(containerPaths(root, id).state, 'utf8')) as ContainerState;
  } catch (e) {
    if (isErrno(e, 'ENOENT') || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

export function writeState(root: string, id: string, s: ContainerState): void {
  replaceFile(containerPaths(root, id).state, JSON.stringify(s));
}

/** This process as a supervisor (pid + kernel start time, to tell it from a reused pid). */
export function selfAsSupervisor(): { pid: number; start?: string } {
  const start = processStartTime(process.pid);
  return start === undefined ? { pid: process.pid } : { pid: process.pid, start };
}

/** True when the state says running and its supervisor process is still alive. */
export function supervisorAlive(s: ContainerState | undefined): boolean {
  return !!s?.supervisor && ownerAlive(s.supervisor.pid, s.supervisor.start);
}

/** Ids of all containers in the store, oldest first. */
export function listContainers(root: string): string[] {
  const names = readDirIfExists(path.join(root, 'containers'));
  const ids = names.filter((n) => /^[0-9a-f]{64}$/.test(n) && fs.existsSync(containerPaths(root, n).record));
  const created = new Map(ids.map((id) => [id, readRecord(root, id).created]));
  return ids.sort((a, b) => created.get(a)!.localeCompare(created.get(b)!));
}

/** Finds a container by name, full id or unique id prefix. */
export function lookupContainer(root: string, ref: string): string {
  try {
    const id = fs.readFileSync(path.join(namesDir(root), ref), 'utf8');
    if (fs.existsSync(containerPaths(root, id).record)) return id;
  } catch (e) {
    if (!isErrno(e, 'ENOENT') && !isErrno(e, 'EINVAL') && !isErrno(e, 'ENAMETOOLONG')) throw e;
  }
  const matches = /^[0-9a-f]{1,64}$/.test(ref) ? listContainers(root).filter((id) => id.startsWith(ref)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new TsbuildError('TSB_USAGE', `container id prefix "${ref}" is ambiguous`);
  throw new TsbuildError('TSB_RUN_FAILED', `no such container: ${ref}`);
}

/**
 * Removes a container's state dir and name (the caller has unmounted everything). The dir is renamed into
 * `<root>/trash/` (one syscall); a later command's emptyTrash deletes it off the hot path.
 */
export function removeContainerState(root: string, r: Pick<ContainerRecord, 'id' | 'name'>): void {
  releaseName(root, r.name, r.id);
  const dir = containerPaths(root, r.id).dir;
  const trash = path.join(root, 'trash');
  const target = path.join(trash, `container.${r.id.slice(0, 16)}.${Date.now().toString(36)}`);
  try {
    fs.renameSync(dir, target);
    return;
  } catch (e) {
    if (isErrno(e, 'ENOENT') && !fs.existsSync(dir)) return;
    if (!isErrno(e, 'ENOENT')) {
      removeTree(dir);
      return;
    }
  }
  ensureDir(trash);
  try {
    fs.renameSync(dir, target);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) removeTree(dir);
  }
}
