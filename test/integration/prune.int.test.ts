import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { du, prune } from '../../src/api/index.js';
import { REPO, makeContext, removeStore, requireSandbox, storeWithBusybox, tsbuild } from '../helpers/env.js';

let root = '';
before(() => {
  if (process.getuid?.() === 0) root = storeWithBusybox();
});
after(() => root && removeStore(root));

const hello = path.join(REPO, 'fixtures/hello');
const runs = (tag: string) => tsbuild(root, ['run', '--rm', tag]).stdout.includes('from a tsbuild image');
const blobCount = () => fs.readdirSync(path.join(root, 'blobs/sha256')).length;

test('prune drops build cache no image uses, --all drops all of it, images keep working', async (t) => {
  if (!requireSandbox(t)) return;
  assert.equal(tsbuild(root, ['build', '-q', '-t', 'hello:1', hello]).code, 0);
  assert.equal(tsbuild(root, ['build', '-q', '-t', 'hello:2', '--build-arg', 'GREETING=Bye', hello]).code, 0);
  assert.equal(tsbuild(root, ['rmi', 'hello:2']).code, 0);
  const before = await du(root);
  assert.ok(before.buildCache.records >= 8, `records: ${before.buildCache.records}`);
  assert.ok(before.buildCache.reclaimableBytes > 0);
  const blobsBefore = blobCount();

  const r = await prune(root, { graceMs: 0 });
  assert.ok(r.records > 0 && r.blobs > 0, JSON.stringify(r));
  assert.ok(blobCount() < blobsBefore);
  assert.ok(runs('hello:1'), 'the named image still runs');
  const again = tsbuild(root, ['build', '-t', 'hello:1', hello]);
  assert.match(again.stderr, /CACHED \[stage-1 3\/3\] RUN/, 'steps inside a named image stay cached');

  const all = await prune(root, { all: true, graceMs: 0 });
  assert.ok(all.records > 0);
  assert.equal((await du(root)).buildCache.records, 0);
  assert.ok(runs('hello:1'));
  const cold = tsbuild(root, ['build', '-t', 'hello:1', hello]);
  assert.doesNotMatch(cold.stderr, /CACHED/, 'nothing cached after prune --all');
});

test('prune while a build runs keeps what the build uses', async (t) => {
  if (!requireSandbox(t)) return;
  const ctx = makeContext({ Dockerfile: 'FROM busybox\nRUN echo one > /one\nRUN echo started && sleep 1.5\nRUN cat /one > /two\n', 'x': 'x' });
  assert.equal(tsbuild(root, ['build', '-q', ctx]).code, 0, 'warm the cache for the first step');
  const child = spawn(path.join(REPO, 'bin/tsbuild'), ['--root', root, 'build', '--progress', 'plain', '--no-cache', '-t', 'during:1', ctx], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b) => (err += b));
  const done = new Promise<number | null>((resolve) => child.on('exit', resolve));
  while (!/\n#\d+ [\d.]+ started\n/.test(err)) await new Promise((r) => setTimeout(r, 50));
  await prune(root, { all: true, graceMs: 0 });
  assert.equal(await done, 0, err);
  assert.equal(tsbuild(root, ['run', '--rm', 'during:1', 'cat', '/two']).stdout, 'one\n');
  fs.rmSync(ctx, { recursive: true, force: true });
});
