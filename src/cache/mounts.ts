import * as fs from 'node:fs';
import * as path from 'node:path';

// RUN --mount=type=cache dirs live in `<root>/cache-mounts/<key>/<n>/` (made and leased by src/ops/mounts-cache.ts,
// which ops owns because ops may not import cache); this module names the dir for reporting and pruning.

/** Where a store keeps its cache mounts. */
export function cacheMountsDir(root: string): string {
  return path.join(root, 'cache-mounts');
}

/** Deletes every cache mount of a store (like `docker builder prune --filter type=exec.cachemount`). */
export function pruneCacheMounts(root: string): void {
  fs.rmSync(cacheMountsDir(root), { recursive: true, force: true });
}
