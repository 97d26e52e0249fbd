import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DeviceNode {
  path: string;
  /** 'c' char device, 'b' block device, 'p' fifo. */
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  /** Permission bits (0o7777), set exactly (not masked by umask). */
  mode: number;
}

// Node has no mknod(2): one shell per batch loops over coreutils mknod. mknod(2) never follows a final
// symlink (it fails with EEXIST), so callers only have to make sure the parents are real directories.
const SCRIPT =
  'while [ $# -gt 0 ]; do ' +
  'if [ "$3" = p ]; then mknod -m "$1" -- "$2" p || exit 1; ' +
  'else mknod -m "$1" -- "$2" "$3" "$4" "$5" || exit 1; fi; shift 5; done';
const BATCH = 2000;

/** Creates device nodes and fifos (absolute paths, parents must exist) with one shell per 2000 nodes; throws on the first failure. */
export function mknodBatch(nodes: DeviceNode[]): void {
  for (let i = 0; i < nodes.length; i += BATCH) {
    const args: string[] = [];
    for (const n of nodes.slice(i, i + BATCH)) {
      if (!path.isAbsolute(n.path) || n.path.includes('\0')) throw new Error(`mknod path must be absolute: ${JSON.stringify(n.path)}`);
      if (!['c', 'b', 'p'].includes(n.type)) throw new Error(`invalid node type ${String(n.type)}`);
      for (const v of [n.major, n.minor, n.mode]) {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`invalid mknod number ${v} for ${n.path}`);
      }
      args.push('0' + (n.mode & 0o777).toString(8), n.path, n.type, String(n.major), String(n.minor));
    }
    const r = spawnSync('sh', ['-c', SCRIPT, 'sh', ...args], { maxBuffer: 16 * 1024 * 1024 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`mknod failed: ${r.stderr.toString('utf8').trim()}`);
  }
  // coreutils mknod only takes permission bits; the node was just created, so chmod here cannot meet a symlink.
  for (const n of nodes) if (n.mode & 0o7000) fs.chmodSync(n.path, n.mode & 0o7777);
}
