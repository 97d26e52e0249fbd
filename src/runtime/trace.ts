/**
 * Phase timestamps for `tsbuild run` when TSBUILD_TRACE is set: `trace(label)` prints the milliseconds since
 * this process started (node start-up included) to stderr. Costs one env lookup when off.
 */

const on = !!process.env.TSBUILD_TRACE;
let last = 0;
if (on) process.on('exit', () => trace('exit'));

export function trace(label: string): void {
  if (!on) return;
  const now = process.uptime() * 1000; // not perf_hooks: loading it costs ~2 ms
  process.stderr.write(`[trace] ${now.toFixed(1).padStart(7)} ms  +${(now - last).toFixed(1).padStart(6)}  ${label}\n`);
  last = now;
}
