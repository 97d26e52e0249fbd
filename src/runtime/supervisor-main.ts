/**
 * Entry of a detached container supervisor (bin/tsbuild-supervisor.cjs ROOT ID): runs the container to its end.
 * fd 3 is a pipe to the launching tsbuild: one JSON line, `{"ok":true}` or `{"error":..., "code":...}`.
 */
import * as fs from 'node:fs';
import { TsbuildError } from '../util/index.js';
import { supervise } from './supervisor.js';

const [root, id] = process.argv.slice(2);
// A supervisor outlives its terminal; stop and kill reach the container through the runtime instead.
for (const s of ['SIGINT', 'SIGHUP', 'SIGTERM', 'SIGPIPE'] as const) process.on(s, () => {});
const report = (msg: object) => {
  try {
    fs.writeSync(3, `${JSON.stringify(msg)}\n`);
    fs.closeSync(3);
  } catch {
    // the launcher is gone: nobody to tell
  }
};
supervise({
  root: root!,
  id: id!,
  onReady: (e) => report(e === undefined ? { ok: true } : { error: e instanceof Error ? e.message : String(e), code: e instanceof TsbuildError ? e.code : undefined, hint: e instanceof TsbuildError ? e.hint : undefined }),
}).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`supervisor: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
