/** Human sizes like docker's: 1.2MB, 340kB. */
export function formatSize(n: number): string {
  if (n < 1000) return `${n}B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}MB`;
  return `${(n / 1e9).toFixed(2)}GB`;
}

/** Seconds with one decimal, as BuildKit shows step times. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** A fixed-width bar: `[=====>      ]`. */
export function bar(current: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  return `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (filled === width ? '=' : '>') : ''}${' '.repeat(width - filled)}]`;
}

/** The first `n` code points of `s` (terminal lines must not wrap, or redrawing miscounts). */
export function clip(s: string, n: number): string {
  const chars = Array.from(s);
  return chars.length <= n ? s : `${chars.slice(0, Math.max(0, n - 1)).join('')}…`;
}

/** Control characters a step's output may carry, made harmless for a redrawn line. */
export const printable = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');

/** Short digest for display: sha256:0123456789ab. */
export const shortDigest = (d: string): string => d.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]*$/, '$1');
