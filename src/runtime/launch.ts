import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { TsbuildError, type ErrorCode } from '../util/index.js';
import { containerPaths } from './state.js';

/** The package root (where bin/ lives), found from this file whether bundled (dist/) or not (dist/src/runtime/). */
function packageRoot(): string {
  let dir = path.dirname(new URL(import.meta.url).pathname);
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('tsbuild package root not found');
    dir = up;
  }
  return dir;
}

/**
 * Starts a created container under a detached supervisor process (own session, stdio to a file) and resolves
 * once the container runs; rejects with the supervisor's reason when it could not start it.
 */
export async function launchDetached(root: string, id: string): Promise<void> {
  const out = fs.openSync(path.join(containerPaths(root, id).dir, 'supervisor.log'), 'a');
  const child = spawn(process.execPath, [path.join(packageRoot(), 'bin', 'tsbuild-supervisor.cjs'), root, id], {
    detached: true,
    stdio: ['ignore', out, out, 'pipe'],
  });
  fs.closeSync(out);
  const pipe = child.stdio[3] as Readable;
  const reply = await new Promise<string>((resolve, reject) => {
    let data = '';
    pipe.on('data', (b: Buffer) => (data += b.toString()));
    pipe.on('end', () => resolve(data));
    pipe.on('error', reject);
    child.on('error', reject);
  });
  pipe.destroy();
  child.unref();
  const msg = JSON.parse(reply.trim() || '{"error":"the supervisor exited before starting the container (see supervisor.log)"}') as { ok?: boolean; error?: string; code?: ErrorCode; hint?: string };
  if (!msg.ok) throw new TsbuildError(msg.code ?? 'TSB_CONTAINER_START', msg.error ?? 'could not start the container', msg.hint ? { hint: msg.hint } : {});
}
