import * as fs from 'node:fs';
import { TsbuildError, execCapture } from '../util/index.js';

const found = new Map<string, string>();

/** mount(8)/umount(8) by absolute path: a bare name makes every spawn walk $PATH (shims and all) first. */
function bin(name: 'mount' | 'umount'): string {
  let p = found.get(name);
  if (p === undefined) {
    p = ['/usr/bin/', '/bin/', '/usr/sbin/', '/sbin/'].map((d) => d + name).find((c) => fs.existsSync(c)) ?? name;
    found.set(name, p);
  }
  return p;
}

export interface OverlayOptions {
  /** Lower dirs, topmost first (overlayfs order). Relative paths resolve against `cwd`. */
  lower: string[];
  upper?: string;
  work?: string;
  target: string;
  /** Working directory of the mount call: lets long lower lists use short relative paths. */
  cwd?: string;
  /**
   * overlayfs `volatile` (Linux 5.10+): no syncs of the upper dir, so unmounting does not flush what a step
   * wrote (~50 ms for a 100 MB COPY here). Only for throwaway work dirs: after a crash the upper is discarded.
   * Kernels without it get the mount without it.
   */
  volatile?: boolean;
}

let volatileUnsupported = false;

/** Mounts an overlay filesystem (needs root). Read-only when no upper is given (then 2+ lowers are required). */
export function mountOverlay(o: OverlayOptions): void {
  const opts = [`lowerdir=${o.lower.join(':')}`];
  if (o.upper) opts.push(`upperdir=${o.upper}`, `workdir=${o.work}`, 'redirect_dir=off', 'metacopy=off');
  if (!o.upper) opts.push('ro');
  const volatile = !!o.upper && !!o.volatile && !volatileUnsupported;
  let r = execCapture(bin('mount'), ['-t', 'overlay', 'overlay', '-o', [...opts, ...(volatile ? ['volatile'] : [])].join(','), o.target], { cwd: o.cwd });
  if (r.code !== 0 && volatile) {
    volatileUnsupported = true;
    r = execCapture(bin('mount'), ['-t', 'overlay', 'overlay', '-o', opts.join(','), o.target], { cwd: o.cwd });
  }
  if (r.code !== 0) {
    throw new TsbuildError('TSB_MOUNT_FAILED', `overlay mount on ${o.target} failed: ${r.stderr.trim()}`, {
      hint: 'tsbuild needs root and a kernel with overlayfs',
    });
  }
}

/** Mounts `source` on `target` with a bind mount (read-only when asked). */
export function bindMount(source: string, target: string, options: { readonly?: boolean } = {}): void {
  const r = execCapture(bin('mount'), ['--bind', source, target]);
  if (r.code !== 0) throw new TsbuildError('TSB_MOUNT_FAILED', `bind mount of ${source} failed: ${r.stderr.trim()}`);
  if (options.readonly) {
    const ro = execCapture(bin('mount'), ['-o', 'remount,bind,ro', target]);
    if (ro.code !== 0) throw new TsbuildError('TSB_MOUNT_FAILED', `read-only remount of ${target} failed: ${ro.stderr.trim()}`);
  }
}

/** Unmounts `target`; a target that is not mounted is fine. Falls back to a lazy detach when busy. */
export function unmount(target: string): void {
  const r = execCapture(bin('umount'), [target]);
  if (r.code === 0 || /not mounted|no mount point|No such file/.test(r.stderr)) return;
  const lazy = execCapture(bin('umount'), ['-l', target]);
  if (lazy.code !== 0 && !/not mounted|no mount point/.test(lazy.stderr)) {
    throw new TsbuildError('TSB_MOUNT_FAILED', `umount ${target} failed: ${r.stderr.trim()}`);
  }
}

/** Mount points currently under `prefix` (deepest first), read from /proc/self/mountinfo. */
export function mountsUnder(prefix: string, mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const mp = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === prefix || mp.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}
