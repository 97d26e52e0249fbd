/**
 * Phase timestamps for `tsbuild run` when TSBUILD_TRACE is set: `trace(label)` records the milliseconds since
 * this process started (node start-up included), printed to stderr at exit. Kept in memory until then: the
 * first write to process.stderr builds its stream (several ms), which would distort the phase it lands in.
 * Costs one env lookup when off.
 */
import * as fs from 'node:fs';

const on = !!process.env.TSBUILD_TRACE;
let last = 0;
const lines: string[] = [];
if (on) {
  process.on('exit', () => {
    trace('exit');
    fs.writeSync(2, lines.join(''));
  });
}

export function trace(label: string): void {
  if (!on) return;
  const now = process.uptime() * 1000; // not perf_hooks: loading it costs ~2 ms
  lines.push(`[trace] ${now.toFixed(1).padStart(7)} ms  +${(now - last).toFixed(1).padStart(6)}  ${label}\n`);
  last = now;
}
