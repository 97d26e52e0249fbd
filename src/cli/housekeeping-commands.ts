import { du, prune } from '../api/prune.js';
import { TsbuildError } from '../util/index.js';
import { flag, opt, parseArgs } from './args.js';
import type { Io } from './commands.js';
import { formatSize } from './render.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };
const DURATIONS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

/** "10GB", "512MiB", "100m" -> bytes (docker's size syntax, case-insensitive). */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new TsbuildError('TSB_USAGE', `invalid size "${v}"`, { hint: 'use a number with B, KB, MB, GB (or KiB, MiB, GiB)' });
  return Math.floor(Number(m[1]) * unit);
}

/** "24h", "90m", "1h30m", "7d" -> milliseconds. */
export function parseDuration(v: string): number {
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== v) throw new TsbuildError('TSB_USAGE', `invalid duration "${v}"`, { hint: 'use e.g. 24h, 90m, 7d' });
  return parts.reduce((n, p) => n + Number(p[1]) * DURATIONS[p[2]!]!, 0);
}

/** tsbuild du: what the store holds by kind, and what prune would free. */
export async function duCommand(argv: string[], io: Io): Promise<number> {
  parseArgs(argv, []);
  const u = await du(io.root);
  io.out(
    [
      'TYPE          COUNT   SIZE       RECLAIMABLE',
      `Images        ${String(u.images.count).padEnd(7)} ${formatSize(u.images.bytes).padEnd(10)} 0B`,
      `Build cache   ${String(u.buildCache.records).padEnd(7)} ${formatSize(u.buildCache.bytes).padEnd(10)} ${formatSize(u.buildCache.reclaimableBytes)}`,
      `Snapshots     ${String(u.snapshots.count).padEnd(7)} ${formatSize(u.snapshots.bytes).padEnd(10)} -`,
    ].join('\n') + '\n',
  );
  return 0;
}

/** tsbuild prune [--all] [--keep-storage SIZE] [--filter until=DURATION] */
export async function pruneCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'all', short: 'a' }, { long: 'keep-storage', value: true }, { long: 'filter', value: true, multiple: true }, { long: 'force', short: 'f' }]);
  const o: Parameters<typeof prune>[1] = { all: flag(p, 'all') };
  const keep = opt(p, 'keep-storage');
  if (keep !== undefined) o.keepBytes = parseSize(keep);
  for (const f of p.options.get('filter') ?? []) {
    const [k, v = ''] = f.split('=', 2);
    if (k !== 'until') throw new TsbuildError('TSB_USAGE', `unsupported filter "${f}"`, { hint: 'use --filter until=24h' });
    o.olderThanMs = parseDuration(v);
  }
  const r = await prune(io.root, o);
  io.out(`Deleted ${r.records} build cache records, ${r.blobs} blobs, ${r.snapshots} snapshots\nTotal reclaimed space: ${formatSize(r.bytes)}\n`);
  return 0;
}
