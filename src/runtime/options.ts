import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsbuildError, isErrno } from '../util/index.js';
import { DEFAULT_CAPABILITIES, type ExtraMount } from './spec.js';

function hostSource(src: string, spec: string): string {
  if (!path.isAbsolute(src)) {
    throw new TsbuildError('TSB_USAGE', `invalid mount "${spec}": the host path must be absolute`, { hint: 'named volumes are not supported; give an absolute host path (e.g. "$PWD/dir")' });
  }
  try {
    fs.statSync(src);
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) throw new TsbuildError('TSB_MOUNT_SOURCE_MISSING', `invalid mount "${spec}": bind source path does not exist: ${src}`);
    throw e;
  }
  return path.resolve(src);
}

function containerTarget(dst: string, spec: string): string {
  if (!dst.startsWith('/')) throw new TsbuildError('TSB_USAGE', `invalid mount "${spec}": the container path must be absolute`);
  return path.posix.normalize(dst);
}

/** `-v HOST:CTR[:ro|rw]` as a bind mount; the host path must exist. */
export function parseVolume(spec: string): ExtraMount {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw new TsbuildError('TSB_USAGE', `invalid volume "${spec}"`, { hint: 'use -v /host/path:/container/path[:ro]' });
  const mode = parts[2] ?? 'rw';
  if (!mode.split(',').every((m) => ['ro', 'rw', 'z', 'Z'].includes(m))) throw new TsbuildError('TSB_USAGE', `invalid volume mode "${mode}" in "${spec}"`);
  const ro = mode.split(',').includes('ro');
  return { type: 'bind', source: hostSource(parts[0]!, spec), destination: containerTarget(parts[1]!, spec), options: ['rbind', 'rprivate', ro ? 'ro' : 'rw'] };
}

/** `--tmpfs /path[:opts]`. */
export function parseTmpfs(spec: string): ExtraMount {
  const colon = spec.indexOf(':');
  const dst = colon < 0 ? spec : spec.slice(0, colon);
  const opts = colon < 0 ? [] : spec.slice(colon + 1).split(',').filter(Boolean);
  return { type: 'tmpfs', source: 'tmpfs', destination: containerTarget(dst, spec), options: ['nosuid', 'nodev', 'noexec', ...opts] };
}

/** `--mount type=bind|tmpfs,source=,target=,readonly,tmpfs-size=,tmpfs-mode=`. */
export function parseMount(spec: string): ExtraMount {
  const kv = new Map<string, string>();
  for (const f of spec.split(',')) {
    const eq = f.indexOf('=');
    kv.set(eq < 0 ? f : f.slice(0, eq), eq < 0 ? 'true' : f.slice(eq + 1));
  }
  const type = kv.get('type') ?? 'volume';
  const dst = kv.get('target') ?? kv.get('destination') ?? kv.get('dst');
  if (!dst) throw new TsbuildError('TSB_USAGE', `invalid --mount "${spec}": target is required`);
  const ro = ['true', '1'].includes(kv.get('readonly') ?? kv.get('ro') ?? 'false');
  if (type === 'bind') {
    const src = kv.get('source') ?? kv.get('src');
    if (!src) throw new TsbuildError('TSB_USAGE', `invalid --mount "${spec}": source is required for a bind mount`);
    return { type: 'bind', source: hostSource(src, spec), destination: containerTarget(dst, spec), options: ['rbind', 'rprivate', ro ? 'ro' : 'rw'] };
  }
  if (type === 'tmpfs') {
    const opts = ['nosuid', 'nodev', 'noexec'];
    if (kv.has('tmpfs-size')) opts.push(`size=${parseBytes(kv.get('tmpfs-size')!)}`);
    if (kv.has('tmpfs-mode')) opts.push(`mode=${kv.get('tmpfs-mode')}`);
    if (ro) opts.push('ro');
    return { type: 'tmpfs', source: 'tmpfs', destination: containerTarget(dst, spec), options: opts };
  }
  throw new TsbuildError('TSB_USAGE', `unsupported --mount type "${type}"`, { hint: 'use type=bind or type=tmpfs' });
}

/** `512m`, `1g`, `1048576` (docker units: b, k, m, g, binary). */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(s.trim());
  if (!m) throw new TsbuildError('TSB_USAGE', `invalid size "${s}"`, { hint: 'use a number with an optional unit: b, k, m, g' });
  const mult = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!;
  return Math.floor(Number(m[1]) * mult);
}

/** `--cpus 1.5` as a CFS quota per 100 ms period. */
export function parseCpus(s: string): number {
  const n = Number(s);
  if (!(n > 0)) throw new TsbuildError('TSB_USAGE', `invalid --cpus "${s}"`, { hint: 'a positive number, e.g. 0.5' });
  return Math.round(n * 100000);
}

/** Every Linux capability runc knows (for --cap-add ALL). */
export const ALL_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
].map((c) => `CAP_${c}`);

const capName = (c: string) => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);

/** Docker's default capabilities with --cap-add / --cap-drop applied (ALL works in both). */
export function applyCapabilities(add: string[], drop: string[]): string[] {
  const all = ALL_CAPABILITIES;
  let caps = drop.some((c) => c.toUpperCase() === 'ALL') ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.map(capName).includes(c));
  if (add.some((c) => c.toUpperCase() === 'ALL')) caps = [...all];
  for (const c of add.filter((x) => x.toUpperCase() !== 'ALL').map(capName)) {
    if (!all.includes(c)) throw new TsbuildError('TSB_USAGE', `unknown capability "${c}"`);
    if (!caps.includes(c)) caps.push(c);
  }
  return caps;
}

/** Reads `--env-file` lines: K=V, K (from this environment), # comments and blank lines skipped. */
export function parseEnvFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new TsbuildError('TSB_USAGE', `env file ${file} not found`);
    throw e;
  }
  return text.split(/\r?\n/).map((l) => l.replace(/^\s+/, '')).filter((l) => l !== '' && !l.startsWith('#'));
}

/** A signal name or number as runc takes it (`SIGTERM`, `TERM`, `15`). */
export function normalizeSignal(s: string): string {
  if (/^\d+$/.test(s)) return s;
  const name = s.toUpperCase().replace(/^SIG/, '');
  if (!/^[A-Z0-9+-]+$/.test(name)) throw new TsbuildError('TSB_USAGE', `invalid signal "${s}"`);
  return `SIG${name}`;
}
