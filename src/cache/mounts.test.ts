import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheMountsDir, pruneCacheMounts } from './mounts.js';

test('cache mounts live in <root>/cache-mounts and prune removes them all', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-cm-'));
  try {
    fs.mkdirSync(path.join(cacheMountsDir(root), 'ab', '0'), { recursive: true });
    pruneCacheMounts(root);
    assert.ok(!fs.existsSync(cacheMountsDir(root)));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
