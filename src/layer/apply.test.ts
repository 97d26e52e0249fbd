import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { buildTar, hostileTars, rootOrSkip, snapshotTree } from '../../test/helpers/tars.js';
import { isTsbuildError } from '../util/index.js';
import { getXattr } from '../sys/index.js';
import { applyLayer } from './index.js';
import { encodeHeader, padding, TRAILER, type TarHeader } from './tar-format.js';

const skip = rootOrSkip('applyLayer tests need root (chown, mknod, trusted.* xattrs)');

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-apply-'));
}

/** A tar from our own encoder (for PAX xattrs with binary values). */
function ownTar(entries: Array<TarHeader & { content?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(encodeHeader({ ...e, size: e.content?.length ?? 0 }));
    if (e.content) parts.push(e.content, Buffer.alloc(padding(e.content.length)));
  }
  return Buffer.concat([...parts, TRAILER]);
}

const passwd = { content: fs.readFileSync('/etc/passwd'), mtime: fs.statSync('/etc/passwd').mtimeMs };

for (const mode of ['overlay', 'flatten'] as const) {
  test(`hostile layers never touch anything outside destDir (${mode})`, { skip }, async () => {
    const base = tmp();
    try {
      const outside = path.join(base, 'outside');
      fs.mkdirSync(outside);
      fs.writeFileSync(path.join(outside, 'target'), 'original');
      fs.utimesSync(outside, 1234, 1234);
      const dest = path.join(base, 'a', 'b', 'dest');
      const depth = dest.split('/').length + 2;
      const before = snapshotTree(outside);
      for (const c of hostileTars(outside, depth)) {
        fs.mkdirSync(dest, { recursive: true });
        const data = await buildTar(c.entries);
        const p = applyLayer(Readable.from([data]), dest, { mode });
        if (c.unsafe) {
          await assert.rejects(p, (e: unknown) => isTsbuildError(e, 'TSB_TAR_UNSAFE') && /unsafe layer entry: \S/.test((e as Error).message), c.name);
        } else {
          await p.catch((e: unknown) => assert.fail(`${c.name}: ${String(e)}`));
        }
        fs.rmSync(dest, { recursive: true });
        assert.deepEqual(snapshotTree(outside), before, `${c.name} changed something outside destDir`);
        assert.deepEqual([fs.readdirSync(base).sort(), fs.readdirSync(path.join(base, 'a')), fs.readdirSync(path.dirname(dest))], [['a', 'outside'], ['b'], []], c.name);
        assert.deepEqual(fs.readFileSync('/etc/passwd'), passwd.content);
        assert.equal(fs.statSync('/etc/passwd').mtimeMs, passwd.mtime);
      }
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
}

test('hostile names land inside destDir, root-scoped', { skip }, async () => {
  const base = tmp();
  try {
    const outside = path.join(base, 'outside');
    fs.mkdirSync(outside);
    const dest = path.join(base, 'dest');
    fs.mkdirSync(dest);
    const cases = hostileTars(outside, 20);
    for (const name of ['symlink to / then through it', 'symlink to outside then through it', 'file then dir then child', 'dir becomes symlink to outside after a child']) {
      await applyLayer(Readable.from([await buildTar(cases.find((c) => c.name === name)!.entries)]), dest, { mode: 'flatten' });
    }
    const inside = path.join(dest, outside);
    assert.equal(fs.readFileSync(path.join(inside, 'via-root'), 'utf8'), 'pwned');
    assert.equal(fs.readFileSync(path.join(inside, 'via-abs'), 'utf8'), 'pwned');
    assert.equal(fs.readFileSync(path.join(inside, 'late'), 'utf8'), 'pwned');
    assert.ok(fs.lstatSync(path.join(inside, 'dev')).isFIFO());
    assert.equal(fs.lstatSync(path.join(inside, 'dir')).mode & 0o7777, 0o777);
    assert.ok(fs.lstatSync(path.join(dest, 'p')).isDirectory());
    assert.equal(fs.readFileSync(path.join(dest, 'p/child'), 'utf8'), 'c');
    assert.equal(fs.readlinkSync(path.join(dest, 'd')), outside);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('metadata: owners, setuid, mtimes, hardlinks, devices, binary xattrs, diffID', { skip }, async () => {
  const dest = tmp();
  try {
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const t = 1_500_000_000;
    const data = ownTar([
      { name: 'bin/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: t },
      { name: 'bin/ping', type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 0, mtime: t, content: Buffer.from('ELF'), xattrs: { 'security.capability': cap, 'user.bin': Buffer.from([0, 0xff, 0x0a, 0x3d]) } },
      { name: 'bin/ping2', type: 'link', linkname: 'bin/ping', mode: 0, uid: 0, gid: 0, size: 0, mtime: t },
      { name: 'home/u/', type: 'dir', mode: 0o1770, uid: 1000, gid: 1001, size: 0, mtime: t + 5 },
      { name: 'home/u/l', type: 'symlink', linkname: '/nowhere', mode: 0o777, uid: 1000, gid: 1001, size: 0, mtime: t + 7 },
      { name: 'dev/null', type: 'char', mode: 0o666, uid: 0, gid: 5, size: 0, mtime: t, devmajor: 1, devminor: 3 },
      { name: 'dev/sda', type: 'block', mode: 0o660, uid: 0, gid: 6, size: 0, mtime: t, devmajor: 8, devminor: 0 },
      { name: 'run/fifo', type: 'fifo', mode: 0o2600, uid: 7, gid: 7, size: 0, mtime: t },
    ]);
    const gz = zlib.gzipSync(data);
    const r = await applyLayer(Readable.from([gz.subarray(0, 7), gz.subarray(7)]), dest, { mode: 'overlay' });
    assert.equal(r.diffId, `sha256:${createHash('sha256').update(data).digest('hex')}`);
    const ping = fs.lstatSync(path.join(dest, 'bin/ping'));
    assert.equal(ping.mode & 0o7777, 0o4755);
    assert.equal(ping.nlink, 2);
    assert.equal(fs.lstatSync(path.join(dest, 'bin/ping2')).ino, ping.ino);
    assert.equal(ping.mtimeMs, t * 1000);
    assert.deepEqual(getXattr(path.join(dest, 'bin/ping'), 'security.capability'), cap);
    assert.deepEqual(getXattr(path.join(dest, 'bin/ping'), 'user.bin'), Buffer.from([0, 0xff, 0x0a, 0x3d]));
    const home = fs.lstatSync(path.join(dest, 'home/u'));
    assert.deepEqual([home.mode & 0o7777, home.uid, home.gid, home.mtimeMs], [0o1770, 1000, 1001, (t + 5) * 1000]);
    const l = fs.lstatSync(path.join(dest, 'home/u/l'));
    assert.deepEqual([l.uid, l.gid, l.mtimeMs, fs.readlinkSync(path.join(dest, 'home/u/l'))], [1000, 1001, (t + 7) * 1000, '/nowhere']);
    const nul = fs.lstatSync(path.join(dest, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.deepEqual([nul.rdev, nul.mode & 0o7777, nul.gid], [0x103, 0o666, 5]);
    assert.ok(fs.lstatSync(path.join(dest, 'dev/sda')).isBlockDevice());
    const fifo = fs.lstatSync(path.join(dest, 'run/fifo'));
    assert.deepEqual([fifo.isFIFO(), fifo.mode & 0o7777, fifo.uid], [true, 0o2600, 7]);
    assert.equal(fs.lstatSync(path.join(dest, 'home')).mode & 0o7777, 0o755, 'implicit parents are 0755');
  } finally {
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('whiteouts: overlay mode makes overlay whiteouts, flatten mode deletes (OCI opaque rules)', { skip }, async () => {
  const base = tmp();
  try {
    const layer = await buildTar([
      { name: 'a/', type: 'directory' },
      { name: 'a/-early', content: 'same layer, before the marker' },
      { name: 'a/.wh..wh..opq', content: '' },
      { name: 'a/keep', content: 'same layer, after the marker' },
      { name: 'b/.wh.gone', content: '' },
      { name: 'b/.wh.gonedir', content: '' },
      { name: 'b/.wh..wh.plnk', content: '' },
    ]);
    const ov = path.join(base, 'ov');
    fs.mkdirSync(ov);
    await applyLayer(Readable.from([layer]), ov, { mode: 'overlay' });
    assert.deepEqual(getXattr(path.join(ov, 'a'), 'trusted.overlay.opaque'), Buffer.from('y'));
    for (const w of ['b/gone', 'b/gonedir']) {
      const st = fs.lstatSync(path.join(ov, w));
      assert.ok(st.isCharacterDevice() && st.rdev === 0, w);
    }
    assert.deepEqual(fs.readdirSync(ov).sort(), ['a', 'b'], 'no whiteout template left behind');
    assert.deepEqual(fs.readdirSync(path.join(ov, 'b')).sort(), ['gone', 'gonedir']);

    const fl = path.join(base, 'fl');
    fs.mkdirSync(path.join(fl, 'a/lowerdir'), { recursive: true });
    fs.writeFileSync(path.join(fl, 'a/lower'), 'x');
    fs.writeFileSync(path.join(fl, 'a/lowerdir/f'), 'x');
    fs.mkdirSync(path.join(fl, 'b/gonedir/deep'), { recursive: true });
    fs.writeFileSync(path.join(fl, 'b/gone'), 'x');
    fs.writeFileSync(path.join(fl, 'b/stays'), 'x');
    await applyLayer(Readable.from([layer]), fl, { mode: 'flatten' });
    assert.deepEqual(fs.readdirSync(path.join(fl, 'a')).sort(), ['-early', 'keep']);
    assert.deepEqual(fs.readdirSync(path.join(fl, 'b')).sort(), ['stays']);
    assert.equal(getXattr(path.join(fl, 'a'), 'trusted.overlay.opaque'), undefined);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('trusted.overlay.* xattrs in a tar are dropped', { skip }, async () => {
  const dest = tmp();
  try {
    const data = ownTar([{ name: 'd/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, xattrs: { 'trusted.overlay.opaque': Buffer.from('y'), 'trusted.overlay.redirect': Buffer.from('/x'), 'user.ok': Buffer.from('1') } }]);
    await applyLayer(Readable.from([data]), dest, { mode: 'overlay' });
    assert.equal(getXattr(path.join(dest, 'd'), 'trusted.overlay.opaque'), undefined);
    assert.equal(getXattr(path.join(dest, 'd'), 'trusted.overlay.redirect'), undefined);
    assert.deepEqual(getXattr(path.join(dest, 'd'), 'user.ok'), Buffer.from('1'));
  } finally {
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('corrupt, truncated and unsupported archives fail with TSB_TAR_INVALID', { skip }, async () => {
  const dest = tmp();
  try {
    const good = await buildTar([{ name: 'f', content: 'hello' }]);
    const bad = Buffer.from(good);
    bad[10] = 0x41;
    const inval = (e: unknown): boolean => isTsbuildError(e, 'TSB_TAR_INVALID');
    await assert.rejects(applyLayer(Readable.from([bad]), dest, { mode: 'flatten' }), inval);
    await assert.rejects(applyLayer(Readable.from([good.subarray(0, 600)]), dest, { mode: 'flatten' }), inval);
    await assert.rejects(applyLayer(Readable.from([zlib.gzipSync(good).subarray(0, 30)]), dest, { mode: 'flatten' }), inval);
    await assert.rejects(applyLayer(Readable.from([Buffer.from('not a tar at all, definitely not'.repeat(20))]), dest, { mode: 'flatten' }), inval);
  } finally {
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('an aborted signal cancels with TSB_CANCELLED', { skip }, async () => {
  const dest = tmp();
  try {
    const ac = new AbortController();
    const big = await buildTar([{ name: 'f', content: Buffer.alloc(4 << 20) }]);
    const src = new Readable({ read() {} });
    src.push(big.subarray(0, 1 << 20));
    const p = applyLayer(src, dest, { mode: 'flatten', signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, (e: unknown) => isTsbuildError(e, 'TSB_CANCELLED'));
  } finally {
    fs.rmSync(dest, { recursive: true, force: true });
  }
});
