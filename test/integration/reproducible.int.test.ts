import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { REPO, busyboxRootfsTar, removeStore, requireSandbox, tempDir, tsbuild } from '../helpers/env.js';

const stores: string[] = [];
after(() => stores.forEach(removeStore));

/** Copies fixtures/hello to a fresh dir: new file times, as a fresh checkout on another runner has. */
function freshContext(): string {
  const dir = tempDir('tsb-repro-ctx-');
  fs.cpSync(path.join(REPO, 'fixtures/hello'), dir, { recursive: true, preserveTimestamps: false });
  return dir;
}

test('with SOURCE_DATE_EPOCH, builds on two stores from fresh copies give byte-identical images', async (t) => {
  if (!requireSandbox(t)) return;
  const env = { SOURCE_DATE_EPOCH: '1700000000' };
  const digests: string[] = [];
  for (let i = 0; i < 2; i++) {
    const root = tempDir('tsb-repro-');
    stores.push(root);
    assert.equal(tsbuild(root, ['import', busyboxRootfsTar(), 'busybox:latest'], { env }).code, 0);
    if (i === 1) await new Promise((r) => setTimeout(r, 1100)); // a later second: unclamped times would differ
    const ctx = freshContext();
    const b = tsbuild(root, ['build', '-t', 'hello:repro', ctx], { env });
    fs.rmSync(ctx, { recursive: true, force: true });
    assert.equal(b.code, 0, b.stderr);
    const [info] = JSON.parse(tsbuild(root, ['inspect', 'hello:repro']).stdout);
    digests.push(info.Digest);
    assert.equal(info.Config.created, '2023-11-14T22:13:20.000Z');
    for (const h of info.Config.history) assert.ok(Date.parse(h.created) <= 1700000000 * 1000, `history time clamped: ${h.created}`);
  }
  assert.equal(digests[0], digests[1], 'same manifest digest');

  // Without the epoch, a rebuild from a fresh copy on a third store differs (times are real).
  const root = tempDir('tsb-repro-');
  stores.push(root);
  assert.equal(tsbuild(root, ['import', busyboxRootfsTar(), 'busybox:latest'], { env }).code, 0);
  const ctx = freshContext();
  assert.equal(tsbuild(root, ['build', '-t', 'hello:repro', ctx]).code, 0);
  fs.rmSync(ctx, { recursive: true, force: true });
  assert.notEqual(JSON.parse(tsbuild(root, ['inspect', 'hello:repro']).stdout)[0].Digest, digests[0]);
});
