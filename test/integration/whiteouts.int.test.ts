import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { listLayerEntries } from '../../src/layer/index.js';
import { makeContext, mountsUnder, removeStore, requireSandbox, storeWithBusybox, tempDir, tsbuild } from '../helpers/env.js';

const DOCKERFILE = `FROM busybox
COPY data /data
RUN rm /data/del.txt \\
 && rm -rf /data/dir && mkdir /data/dir && echo new > /data/dir/c \\
 && rm /data/f2d && mkdir /data/f2d && echo inner > /data/f2d/inner \\
 && rm -rf /data/d2f && echo now-a-file > /data/d2f \\
 && rm -rf /data/deldir \\
 && echo changed > /data/keep-changed.txt
`;

const EXPECTED_TREE = [
  '/data', '/data/d2f', '/data/dir', '/data/dir/c', '/data/f2d', '/data/f2d/inner', '/data/keep-changed.txt', '/data/keep.txt',
];

let root = '';
let ctx = '';
before(() => {
  if (process.getuid?.() !== 0) return;
  root = storeWithBusybox();
  ctx = makeContext({
    Dockerfile: DOCKERFILE,
    'data/keep.txt': 'keep',
    'data/keep-changed.txt': 'old',
    'data/del.txt': 'delete me',
    'data/dir/a': 'a',
    'data/dir/b': 'b',
    'data/f2d': 'file that becomes a dir',
    'data/d2f/x': 'dir that becomes a file',
    'data/deldir/y': 'y',
  });
});
after(() => {
  if (root) removeStore(root);
  if (ctx) fs.rmSync(ctx, { recursive: true, force: true });
});

test('RUN deleting and replacing lower-layer files yields whiteouts, opaque dirs and type swaps', async (t) => {
  if (!requireSandbox(t)) return;
  const b = tsbuild(root, ['build', '-t', 'wh:1', ctx]);
  assert.equal(b.code, 0, b.stderr);
  const [info] = JSON.parse(tsbuild(root, ['inspect', 'wh:1']).stdout);
  const last = info.Manifest.layers[info.Manifest.layers.length - 1].digest as string;
  const entries = await listLayerEntries(fs.createReadStream(path.join(root, 'blobs/sha256', last.slice(7))));
  const names = entries.map((e) => e.name.replace(/\/$/, ''));
  assert.deepEqual([...names].sort(), names, 'entries are sorted');
  assert.ok(names.includes('data/.wh.del.txt'), 'deleted file -> whiteout');
  assert.ok(names.includes('data/.wh.deldir'), 'deleted dir -> whiteout');
  assert.ok(names.includes('data/dir/.wh..wh..opq'), 'recreated dir -> opaque marker');
  assert.ok(names.includes('data/dir/c'));
  assert.ok(!names.some((n) => n.startsWith('data/dir/a') || n.startsWith('data/dir/b')));
  const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
  assert.equal(byName.get('data/f2d')?.type, 'dir', 'file -> dir');
  assert.equal(byName.get('data/d2f')?.type, 'file', 'dir -> file');
  assert.equal(byName.get('data/d2f')?.content?.toString(), 'now-a-file\n');
  assert.equal(byName.get('data/keep-changed.txt')?.content?.toString(), 'changed\n');
  assert.ok(!names.includes('data/keep.txt'), 'unchanged files are not in the layer');
  const wh = byName.get('data/.wh.del.txt')!;
  assert.equal(wh.type, 'file');
  assert.equal(wh.size, 0);

  // The container sees the merged result.
  const run = tsbuild(root, ['run', '--rm', 'wh:1', 'find', '/data']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n').sort(), EXPECTED_TREE);

  // And the flattened export agrees (layers applied with whiteouts honoured).
  const out = tempDir('tsb-local-');
  const exp = tsbuild(root, ['build', '--output', `type=local,dest=${out}`, ctx]);
  assert.equal(exp.code, 0, exp.stderr);
  const walk = (d: string, rel = ''): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const r = `${rel}/${e.name}`;
    return e.isDirectory() ? [r, ...walk(path.join(d, e.name), r)] : [r];
  });
  assert.deepEqual(walk(path.join(out, 'data'), '/data').concat('/data').sort(), EXPECTED_TREE);
  assert.equal(fs.readFileSync(path.join(out, 'data/d2f'), 'utf8'), 'now-a-file\n');
  assert.ok(!fs.existsSync(path.join(out, 'data/.wh.del.txt')));
  fs.rmSync(out, { recursive: true, force: true });
  assert.deepEqual(mountsUnder(root), []);
});
