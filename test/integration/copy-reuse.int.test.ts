import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { du, prune } from '../../src/api/index.js';
import { busyboxRootfsTar, removeStore, requireSandbox, tempDir, tsbuild } from '../helpers/env.js';

// Incremental COPY (src/ops/copy-reuse.ts): a COPY that misses is rebuilt from its previous layer. These
// tests hold it to a fresh copy's result: after each change to the context, the layer built incrementally
// on one store must be byte-identical (same diffID) to the layer a new, empty store builds.

const stores: string[] = [];
after(() => stores.forEach(removeStore));

// Build times are clamped to the epoch; the context's own times (2001-2003) stay below it and count.
const env = { SOURCE_DATE_EPOCH: '1600000000' };
const OLD = new Date('2001-02-03T04:05:06Z');

function newStore(): string {
  const root = tempDir('tsb-reuse-');
  stores.push(root);
  const r = tsbuild(root, ['import', busyboxRootfsTar(), 'busybox:latest'], { env });
  assert.equal(r.code, 0, r.stderr);
  return root;
}

function put(ctx: string, rel: string, content: string, mode = 0o644): void {
  const p = path.join(ctx, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  fs.chmodSync(p, mode);
}

/** Sets every entry's times to `OLD` except those listed (so only chosen times differ between steps). */
function settle(ctx: string, keep: Set<string> = new Set()): void {
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(ctx, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      if (!keep.has(r)) fs.lutimesSync(path.join(ctx, r), OLD, OLD);
    }
  };
  walk('');
}

/** Builds and returns the COPY layer's diffID and its snapshot dir in the store. */
function copyLayer(root: string, ctx: string): { diffId: string; dir: string } {
  const b = tsbuild(root, ['build', '-t', 'reuse:1', ctx], { env });
  assert.equal(b.code, 0, b.stderr);
  const [info] = JSON.parse(tsbuild(root, ['inspect', 'reuse:1']).stdout);
  const diffId: string = info.Config.rootfs.diff_ids[2];
  return { diffId, dir: path.join(root, 'snapshots', diffId.slice('sha256:'.length)) };
}

test('an incremental COPY gives the layer a fresh copy gives, through edits, touches, chmods, removals, additions and type changes', async (t) => {
  if (!requireSandbox(t)) return;
  const ctx = tempDir('tsb-reuse-ctx-');
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox:latest\nWORKDIR /app\nCOPY . /app/\nRUN ls -lR /app > /listing.txt\n');
  put(ctx, 'a.txt', 'alpha\n');
  for (let i = 1; i <= 20; i++) put(ctx, `src/x/${i}.txt`, `x${i}\n`.repeat(i * 50));
  for (let i = 1; i <= 5; i++) put(ctx, `src/y/${i}.txt`, `y${i}\n`);
  put(ctx, 'bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  fs.symlinkSync('a.txt', path.join(ctx, 'lnk'));
  settle(ctx);
  const inc = newStore();
  const first = copyLayer(inc, ctx);
  assert.equal(first.diffId, copyLayer(newStore(), ctx).diffId, 'first builds agree');

  const steps: Array<[string, () => Set<string> | void, boolean]> = [
    ['one file edited', () => put(ctx, 'src/x/3.txt', 'edited\n'), true],
    ['one file touched to another time, one chmodded', () => {
      fs.utimesSync(path.join(ctx, 'src/x/4.txt'), new Date('2003-01-01T00:00:00Z'), new Date('2003-01-01T00:00:00Z'));
      fs.chmodSync(path.join(ctx, 'src/x/5.txt'), 0o600);
      put(ctx, 'a.txt', 'alpha two\n');
      return new Set(['src/x/4.txt']);
    }, true],
    ['a dir and a file removed, a dir added', () => {
      fs.rmSync(path.join(ctx, 'src/y'), { recursive: true });
      fs.rmSync(path.join(ctx, 'src/x/6.txt'));
      put(ctx, 'src/z/new.txt', 'new\n');
    }, true],
    ['a file becomes a directory', () => {
      fs.rmSync(path.join(ctx, 'src/x/7.txt'));
      put(ctx, 'src/x/7.txt/inner.txt', 'inner\n');
    }, false],
    ['a symlink retargeted, an executable edited', () => {
      fs.rmSync(path.join(ctx, 'lnk'));
      fs.symlinkSync('src', path.join(ctx, 'lnk'));
      put(ctx, 'bin/tool', '#!/bin/sh\necho tool 2\n', 0o755);
    }, true],
  ];
  let last = first.diffId;
  for (const [what, change, reuses] of steps) {
    settle(ctx, change() ?? new Set());
    const before = (await du(inc)).snapshots.bytes;
    const got = copyLayer(inc, ctx);
    // du counts a shared (hardlinked) file once: an incremental layer adds about what changed, not the tree
    if (reuses) assert.ok((await du(inc)).snapshots.bytes - before < 20_000, `${what}: du counts shared files once`);
    assert.notEqual(got.diffId, last, `${what}: the COPY missed`);
    last = got.diffId;
    assert.equal(got.diffId, copyLayer(newStore(), ctx).diffId, `${what}: incremental layer equals a fresh one`);
    // an untouched file of the new layer shares its inode with the previous layer's (hardlink) when reused
    const nlink = fs.statSync(path.join(got.dir, 'app/src/x/1.txt')).nlink;
    if (reuses) assert.ok(nlink > 1, `${what}: unchanged files reused (nlink ${nlink})`);
  }

  // The container sees the latest context: what was removed is gone, what changed is new.
  const r = tsbuild(inc, ['run', '--rm', 'reuse:1', 'sh', '-c', 'cat /app/src/x/3.txt /app/src/x/7.txt/inner.txt /app/src/z/new.txt; ls /app/src; test ! -e /app/src/x/6.txt && echo gone; readlink /app/lnk']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'edited\ninner\nnew\nx\nz\ngone\nsrc\n');
  fs.rmSync(ctx, { recursive: true, force: true });
});

test('prune drops the incremental-COPY records of layers it removed', async (t) => {
  if (!requireSandbox(t)) return;
  const root = newStore();
  const ctx = tempDir('tsb-reuse-ctx-');
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox:latest\nCOPY . /data/\n');
  put(ctx, 'd/f.txt', 'f\n');
  const b = tsbuild(root, ['build', '-t', 'reuse:2', ctx]);
  assert.equal(b.code, 0, b.stderr);
  const records = path.join(root, 'copy-records');
  assert.equal(fs.readdirSync(records).length, 1, 'a record for the COPY');
  assert.equal(tsbuild(root, ['rmi', 'reuse:2']).code, 0);
  await prune(root, { all: true, graceMs: 0 });
  assert.deepEqual(fs.readdirSync(records), [], 'record removed with its layer');
  fs.rmSync(ctx, { recursive: true, force: true });
});
