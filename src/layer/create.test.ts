import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { rootOrSkip } from '../../test/helpers/tars.js';
import { getXattr, mknodBatch, setXattrBatch } from '../sys/index.js';
import { isTsbuildError } from '../util/index.js';
import { applyLayer, createLayerStream, listLayerEntries } from './index.js';

const skip = rootOrSkip('createLayerStream tests need root (whiteouts, trusted.* xattrs)');
const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');

/** An upper dir as overlayfs leaves it, made by hand. */
function fakeUpper(): string {
  const up = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-upper-'));
  fs.mkdirSync(path.join(up, 'etc/opq'), { recursive: true });
  fs.mkdirSync(path.join(up, 'b-dir'));
  fs.writeFileSync(path.join(up, 'etc/opq/new'), 'new');
  fs.writeFileSync(path.join(up, 'etc/z'), 'z'.repeat(70_000));
  fs.writeFileSync(path.join(up, 'etc/a'), 'a');
  fs.linkSync(path.join(up, 'etc/a'), path.join(up, 'b-dir/hard'));
  fs.symlinkSync('../etc/a', path.join(up, 'b-dir/sym'));
  fs.writeFileSync(path.join(up, 'suid'), '#!');
  fs.chownSync(path.join(up, 'suid'), 12, 34);
  fs.chmodSync(path.join(up, 'suid'), 0o4711);
  mknodBatch([
    { path: path.join(up, 'etc/gone'), type: 'c', major: 0, minor: 0, mode: 0 },
    { path: path.join(up, 'b-dir/gone2'), type: 'c', major: 0, minor: 0, mode: 0 },
    { path: path.join(up, 'tty'), type: 'c', major: 5, minor: 0, mode: 0o620 },
    { path: path.join(up, 'fifo'), type: 'p', major: 0, minor: 0, mode: 0o600 },
  ]);
  fs.linkSync(path.join(up, 'etc/gone'), path.join(up, 'etc/gone-shared')); // overlayfs shares whiteout inodes
  setXattrBatch([
    { path: path.join(up, 'etc/opq'), name: 'trusted.overlay.opaque', value: Buffer.from('y') },
    { path: path.join(up, 'etc'), name: 'trusted.overlay.origin', value: Buffer.from([1, 2]) },
    { path: path.join(up, 'suid'), name: 'security.capability', value: cap },
    { path: path.join(up, 'etc/a'), name: 'user.note', value: Buffer.from([0xff, 0x00]) },
  ]);
  fs.utimesSync(path.join(up, 'etc/a'), 1_000_000_000, 1_000_000_000);
  return up;
}

test('createLayerStream: sorted entries, whiteouts, opaque, hardlinks, xattrs, gzip, diffID', { skip }, async () => {
  const up = fakeUpper();
  try {
    const { stream, diffId } = createLayerStream(up, { gzipLevel: 1 });
    const gz = await buffer(stream);
    const plain = zlib.gunzipSync(gz);
    assert.equal(await diffId, `sha256:${createHash('sha256').update(plain).digest('hex')}`);
    const entries = await listLayerEntries(Readable.from([gz]));
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.deepEqual(entries.map((e) => e.name), [
      'b-dir/', 'b-dir/.wh.gone2', 'b-dir/hard', 'b-dir/sym',
      'etc/', 'etc/.wh.gone', 'etc/.wh.gone-shared', 'etc/a', 'etc/opq/', 'etc/opq/.wh..wh..opq', 'etc/opq/new', 'etc/z',
      'fifo', 'suid', 'tty',
    ]);
    assert.deepEqual(byName.get('b-dir/hard'), { ...byName.get('b-dir/hard')!, type: 'file', size: 1 });
    assert.deepEqual([byName.get('etc/a')!.type, byName.get('etc/a')!.linkname], ['link', 'b-dir/hard']);
    assert.equal(byName.get('etc/.wh.gone')!.type, 'file', 'shared whiteout inodes are not hardlinks');
    assert.equal(byName.get('etc/.wh.gone-shared')!.type, 'file');
    assert.equal(byName.get('etc/')!.xattrs, undefined, 'trusted.overlay.* never emitted');
    assert.equal(byName.get('etc/opq/')!.xattrs, undefined);
    assert.deepEqual(byName.get('b-dir/hard')!.xattrs, { 'user.note': Buffer.from([0xff, 0x00]) });
    assert.deepEqual(byName.get('b-dir/sym')!.linkname, '../etc/a');
    const suid = byName.get('suid')!;
    assert.deepEqual([suid.mode, suid.uid, suid.gid, suid.xattrs?.['security.capability']], [0o4711, 12, 34, cap]);
    assert.deepEqual([byName.get('tty')!.type, byName.get('tty')!.devmajor, byName.get('tty')!.mode], ['char', 5, 0o620]);
    assert.equal(byName.get('fifo')!.type, 'fifo');
    assert.equal(byName.get('etc/z')!.content, undefined, 'content only for small files');
    assert.equal(byName.get('etc/opq/new')!.content?.toString(), 'new');

    const again = createLayerStream(up, { gzipLevel: 9 });
    await buffer(again.stream);
    assert.equal(await again.diffId, await diffId, 'reproducible diffID');

    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-roundtrip-'));
    try {
      const r = await applyLayer(Readable.from([gz]), dest, { mode: 'overlay' });
      assert.equal(r.diffId, await diffId);
      assert.deepEqual(getXattr(path.join(dest, 'suid'), 'security.capability'), cap);
      assert.equal(fs.lstatSync(path.join(dest, 'suid')).mode & 0o7777, 0o4711);
      assert.equal(fs.lstatSync(path.join(dest, 'b-dir/hard')).mtimeMs, 1_000_000_000_000);
      assert.deepEqual(getXattr(path.join(dest, 'etc/opq'), 'trusted.overlay.opaque'), Buffer.from('y'));
      assert.equal(fs.lstatSync(path.join(dest, 'etc/gone')).rdev, 0);
    } finally {
      fs.rmSync(dest, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(up, { recursive: true, force: true });
  }
});

test('createLayerStream refuses overlay redirect/metacopy uppers and honours abort', { skip }, async () => {
  const up = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-upper-'));
  try {
    fs.writeFileSync(path.join(up, 'big'), Buffer.alloc(8 << 20, 7));
    const ac = new AbortController();
    const { stream, diffId } = createLayerStream(up, { signal: ac.signal });
    ac.abort();
    await assert.rejects(buffer(stream), (e: unknown) => isTsbuildError(e, 'TSB_CANCELLED'));
    await assert.rejects(diffId);
    fs.mkdirSync(path.join(up, 'moved'));
    setXattrBatch([{ path: path.join(up, 'moved'), name: 'trusted.overlay.redirect', value: Buffer.from('/orig') }]);
    assert.throws(() => createLayerStream(up), (e: unknown) => isTsbuildError(e, 'TSB_NOT_IMPLEMENTED'));
  } finally {
    fs.rmSync(up, { recursive: true, force: true });
  }
});
