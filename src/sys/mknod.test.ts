import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { rootOrSkip } from '../../test/helpers/tars.js';
import { mknodBatch } from './index.js';

const skip = rootOrSkip('mknod tests need root');

test('mknodBatch creates char/block devices and fifos with exact modes', { skip }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-mknod-'));
  try {
    const nodes = Array.from({ length: 30 }, (_, i) => ({ path: path.join(root, `n ${i}\n`), type: 'c' as const, major: 1, minor: i, mode: 0o600 }));
    mknodBatch([
      ...nodes,
      { path: path.join(root, 'wh'), type: 'c', major: 0, minor: 0, mode: 0 },
      { path: path.join(root, 'blk'), type: 'b', major: 8, minor: 1, mode: 0o660 },
      { path: path.join(root, 'fifo'), type: 'p', major: 0, minor: 0, mode: 0o4777 },
      { path: path.join(root, 'big'), type: 'c', major: 300, minor: 70000, mode: 0o644 },
    ]);
    assert.equal(fs.readdirSync(root).length, 34);
    const n7 = fs.lstatSync(path.join(root, 'n 7\n'));
    assert.deepEqual([n7.isCharacterDevice(), n7.rdev, n7.mode & 0o7777], [true, 0x107, 0o600]);
    const wh = fs.lstatSync(path.join(root, 'wh'));
    assert.deepEqual([wh.isCharacterDevice(), wh.rdev], [true, 0]);
    assert.ok(fs.lstatSync(path.join(root, 'blk')).isBlockDevice());
    const fifo = fs.lstatSync(path.join(root, 'fifo'));
    assert.deepEqual([fifo.isFIFO(), fifo.mode & 0o7777], [true, 0o4777]);
    const big = fs.lstatSync(path.join(root, 'big'), { bigint: true });
    assert.equal(big.rdev, (300n << 8n) | (70000n & 0xffn) | ((70000n >> 8n) << 20n));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('mknodBatch never follows a final symlink and reports failures', { skip }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-mknod-'));
  try {
    fs.symlinkSync(path.join(root, 'target'), path.join(root, 'link'));
    assert.throws(() => mknodBatch([{ path: path.join(root, 'link'), type: 'p', major: 0, minor: 0, mode: 0o644 }]), /mknod failed/);
    assert.equal(fs.existsSync(path.join(root, 'target')), false);
    assert.throws(() => mknodBatch([{ path: 'rel', type: 'p', major: 0, minor: 0, mode: 0o644 }]), /absolute/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
