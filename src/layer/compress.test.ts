import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { buildTar } from '../../test/helpers/tars.js';
import { isTsbuildError } from '../util/index.js';
import { decompressed, gzipWithDiffId, listLayerEntries } from './index.js';

const hasZstd = spawnSync('zstd', ['--version']).status === 0;

test('decompressed passes plain tars through and gunzips gzip ones, however the input is chunked', async () => {
  const plain = await buildTar([{ name: 'a', content: 'x'.repeat(5000) }]);
  assert.deepEqual(await buffer(decompressed(Readable.from([plain]))), plain);
  const gz = zlib.gzipSync(plain);
  const oneByte = Readable.from([...gz].map((b) => Buffer.from([b])));
  assert.deepEqual(await buffer(decompressed(oneByte)), plain);
  assert.deepEqual(await buffer(decompressed(Readable.from([Buffer.from('ab')]))), Buffer.from('ab'));
  assert.deepEqual(await buffer(decompressed(Readable.from([]))), Buffer.alloc(0));
});

test('decompressed reports corrupt gzip as TSB_TAR_INVALID and forwards source errors', async () => {
  const gz = zlib.gzipSync(Buffer.alloc(100_000, 3));
  gz[gz.length - 20]! ^= 0xff;
  await assert.rejects(buffer(decompressed(Readable.from([gz]))), (e: unknown) => isTsbuildError(e, 'TSB_TAR_INVALID'));
  const failing = new Readable({ read() { this.destroy(new Error('disk on fire')); } });
  await assert.rejects(buffer(decompressed(failing)), /disk on fire/);
});

test('zstd layers: decoded with the zstd CLI when present, else TSB_NOT_IMPLEMENTED', async () => {
  const plain = await buildTar([{ name: 'z', content: 'zstd!' }]);
  if (!hasZstd) {
    await assert.rejects(buffer(decompressed(Readable.from([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0])]))), (e: unknown) => isTsbuildError(e, 'TSB_NOT_IMPLEMENTED'));
    return;
  }
  const z = spawnSync('zstd', ['-c', '-q'], { input: plain }).stdout;
  const entries = await listLayerEntries(Readable.from([z]));
  assert.equal(entries[0]?.content?.toString(), 'zstd!');
  await assert.rejects(buffer(decompressed(Readable.from([Buffer.concat([z.subarray(0, 8), Buffer.alloc(64, 9)])]))), (e: unknown) => isTsbuildError(e, 'TSB_TAR_INVALID'));
});

test('gzipWithDiffId: same diffID for plain and gzip input, output is gzip of the plain tar', async () => {
  const plain = await buildTar([{ name: 'f', content: 'hello' }, { name: 'd/', type: 'directory' }]);
  const want = `sha256:${createHash('sha256').update(plain).digest('hex')}`;
  for (const input of [plain, zlib.gzipSync(plain, { level: 9 })]) {
    const { stream, diffId } = gzipWithDiffId(Readable.from([input]), { gzipLevel: 1 });
    const out = await buffer(stream);
    assert.deepEqual([out[0], out[1]], [0x1f, 0x8b]);
    assert.deepEqual(zlib.gunzipSync(out), plain);
    assert.equal(await diffId, want);
  }
});
