/** Generates OCI runtime spec (config.json) documents with Docker's default confinement. */

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface ExtraMount {
  destination: string;
  source: string;
  /** `overlay` takes lowerdir/upperdir/workdir (host paths) in `options`: a throwaway writable view. */
  type: 'bind' | 'tmpfs' | 'overlay';
  options: string[];
}

export interface ContainerSpec {
  rootfs: string;
  /**
   * When set, the runtime mounts this overlay on `rootfs` (an empty dir) itself, inside the container's
   * mount namespace: nothing is mounted on the host, so nothing needs unmounting after.
   */
  rootfsOverlay?: { lower: string[]; upper: string; work: string };
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
  /** `host` shares the host's; `none` a fresh empty one; a path joins that network namespace file. */
  network: 'host' | 'none' | { netnsPath: string };
  hostname: string;
  terminal?: boolean;
  readonlyRootfs?: boolean;
  /** Bind mounts for /etc/hosts, /etc/resolv.conf, /etc/hostname and user mounts. */
  mounts?: ExtraMount[];
  /** Replaces Docker's default capability set (after --cap-add/--cap-drop). */
  capabilities?: string[];
  /** cgroup limits; with them the container gets its own cgroup at `cgroupsPath`. */
  resources?: Resources;
  cgroupsPath?: string;
}

/** `docker run` resource limits, in the units of the OCI spec. */
export interface Resources {
  memoryBytes?: number;
  /** Memory + swap (set it to `memoryBytes` for no swap, where the host accounts swap). */
  memorySwapBytes?: number;
  /** CPU quota in microseconds per 100 ms period (`--cpus 0.5` = 50000). */
  cpuQuota?: number;
  pidsLimit?: number;
}

function linuxResources(r: Resources | undefined): object {
  const out: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (!r) return out;
  if (r.memoryBytes !== undefined) out.memory = { limit: r.memoryBytes, ...(r.memorySwapBytes !== undefined ? { swap: r.memorySwapBytes } : {}) };
  if (r.cpuQuota !== undefined) out.cpu = { quota: r.cpuQuota, period: 100000 };
  if (r.pidsLimit !== undefined) out.pids = { limit: r.pidsLimit };
  return out;
}

/** Mount data is one page: longer lowerdir lists need a host mount with relative names (sys/mount.ts). */
export const MAX_OVERLAY_DATA = 4000;

/** The options of an overlay mounted by the runtime on "/" (absolute lower paths, topmost first). */
export function overlayRootOptions(o: { lower: string[]; upper: string; work: string }): string[] {
  return [`lowerdir=${o.lower.join(':')}`, `upperdir=${o.upper}`, `workdir=${o.work}`, 'redirect_dir=off', 'metacopy=off'];
}

function overlayRootMount(o: { lower: string[]; upper: string; work: string }): object {
  return { destination: '/', type: 'overlay', source: 'overlay', options: overlayRootOptions(o) };
}

/** Docker's default capability set. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Mount points the runtime itself sets up inside every container. */
export const RUNTIME_MOUNT_POINTS = ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys'];

/** Builds an OCI runtime-spec 1.0 config for one container. */
export function buildRuntimeSpec(s: ContainerSpec): object {
  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (s.network === 'none') namespaces.push({ type: 'network' });
  else if (s.network !== 'host') namespaces.push({ type: 'network', path: s.network.netnsPath });
  const caps = s.capabilities ?? DEFAULT_CAPABILITIES;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: s.terminal ?? false,
      user: { uid: s.user.uid, gid: s.user.gid, additionalGids: s.user.additionalGids ?? [] },
      args: s.args,
      env: s.env,
      cwd: s.cwd,
      capabilities: {
        bounding: caps,
        effective: s.user.uid === 0 ? caps : [],
        permitted: s.user.uid === 0 ? caps : [],
      },
      noNewPrivileges: false,
    },
    root: { path: s.rootfs, readonly: s.readonlyRootfs ?? false },
    hostname: s.hostname,
    mounts: [
      ...(s.rootfsOverlay ? [overlayRootMount(s.rootfsOverlay)] : []),
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      s.network === 'host'
        ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
        : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ...(s.mounts ?? []).map((m) => ({ destination: m.destination, type: m.type, source: m.source, options: m.options })),
    ],
    linux: {
      ...(s.cgroupsPath ? { cgroupsPath: s.cgroupsPath } : {}),
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      resources: linuxResources(s.resources),
    },
  };
}
