import * as fs from 'node:fs';
import * as path from 'node:path';
import { isErrno, pidAlive, processStartTime } from '../util/index.js';

const PID_IN_NAME = /-(\d+)-(?:(\d+)-)?[0-9a-f]+$/;

/** Decides whether a temp entry's writer is gone: exactly by pid + start time when the name carries both
 * (`<kind>-<pid>-<start>-<hex>`, tmp/), else by a dead pid or an mtime older than `maxAge` (pid reuse). */
function abandoned(m: RegExpExecArray, mtime: number, now: number, maxAge: number): boolean {
  const pid = Number(m[1]);
  if (m[2] !== undefined) return processStartTime(pid) !== m[2];
  return (pid !== process.pid && !pidAlive(pid)) || now - mtime > maxAge;
}

/** Removes leftovers of killed writers under a store root: temp blobs and work dirs in tmp/, index temp files,
 * prepared lock dirs. Safe to run while other processes write: live writers' entries are kept. */
export function cleanTemp(root: string, opts: { maxAgeMs?: number; now?: number } = {}): number {
  const maxAge = opts.maxAgeMs ?? 30 * 60_000;
  const now = opts.now ?? Date.now();
  let removed = 0;
  const scan = (dir: string, accept: (name: string) => boolean) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return;
      throw e;
    }
    for (const name of names) {
      const m = PID_IN_NAME.exec(name);
      if (!accept(name) || !m) continue;
      const file = path.join(dir, name);
      let mtime: number;
      try {
        mtime = fs.lstatSync(file).mtimeMs;
      } catch (e) {
        if (isErrno(e, 'ENOENT')) continue;
        throw e;
      }
      if (abandoned(m, mtime, now, maxAge)) {
        fs.rmSync(file, { recursive: true, force: true });
        removed++;
      }
    }
  };
  scan(path.join(root, 'tmp'), () => true);
  scan(root, (n) => n.startsWith('.tmp-'));
  scan(path.join(root, 'locks'), (n) => n.startsWith('.tmp-'));
  return removed;
}
