import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { applyLayer, createLayerStream, listLayerEntries } from '../../src/layer/index.js';
import { readXattrTree } from '../../src/sys/index.js';
import { rootOrSkip } from '../helpers/tars.js';

// `setcap cap_net_raw+ep`: vfs_cap_data v2, little endian: magic_etc 0x02000001 (VFS_CAP_REVISION_2 |
// VFS_CAP_FLAGS_EFFECTIVE), permitted[0] = 1 << 13 (CAP_NET_RAW), inheritable[0] and the upper words 0.
const CAP_NET_RAW = Buffer.from('0100000200200000000000000000000000000000', 'hex');

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function mountOverlay(lower: string, target: string, upper?: string, work?: string): boolean {
  const opts = [`lowerdir=${lower}`, ...(upper ? [`upperdir=${upper}`, `workdir=${work}`] : [])].join(',');
  return spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', opts, target]).status === 0;
}

function umount(target: string): void {
  spawnSync('umount', [target]);
}

function overlaySkip(): string | false {
  const notRoot = rootOrSkip('overlay integration tests need root');
  if (notRoot) return notRoot;
  const dir = fs.mkdtempSync('/tmp/tsb-ovl-probe-');
  try {
    for (const d of ['l', 'u', 'w', 'm']) fs.mkdirSync(path.join(dir, d));
    if (mountOverlay(path.join(dir, 'l'), path.join(dir, 'm'), path.join(dir, 'u'), path.join(dir, 'w'))) return false;
  } finally {
    umount(path.join(dir, 'm'));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (process.env.CI === 'true') throw new Error('overlayfs cannot be mounted (CI=true: not skipping)');
  return 'overlayfs cannot be mounted here';
}

/** The merged view as something comparable: type, mode, owner, mtime (s), size/content/target, xattrs. */
function view(root: string): Record<string, string> {
  const xattrs = readXattrTree(root);
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(rel ? path.join(root, rel) : root).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(root, r);
      const st = fs.lstatSync(p);
      const x = [...(xattrs.get(r) ?? [])].filter(([k]) => !k.startsWith('trusted.overlay.')).map(([k, v]) => `${k}=${v.toString('hex')}`).sort();
      let what = '';
      if (st.isFile()) what = `${st.size} ${fs.readFileSync(p, 'utf8')} nlink=${st.nlink}`;
      else if (st.isSymbolicLink()) what = fs.readlinkSync(p);
      else if (!st.isDirectory()) what = `rdev=${st.rdev}`;
      out[r] = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${Math.floor(st.mtimeMs / 1000)} ${what} ${x.join(',')}`;
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

/** Gives every entry under root (and root) an old mtime, children first, so mtime bugs show. */
function ageTree(root: string, t: number): void {
  for (const name of fs.readdirSync(root)) {
    const p = path.join(root, name);
    if (fs.lstatSync(p).isDirectory()) ageTree(p, t);
    fs.lutimesSync(p, t, t);
  }
  fs.lutimesSync(root, t, t);
}

function write(p: string, content: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
}

test('upper dir → layer → overlay snapshot and flattened tree reproduce the merged view', { skip: overlaySkip() }, async () => {
  const tmp = fs.mkdtempSync('/tmp/tsb-layer-int-');
  const [L, U, W, M, S, M2, F] = ['lower', 'upper', 'work', 'merged', 'snap', 'merged2', 'flat'].map((d) => path.join(tmp, d)) as [string, string, string, string, string, string, string];
  for (const d of [L, U, W, M, S, M2, F]) fs.mkdirSync(d);
  const mounted: string[] = [];
  try {
    write(`${L}/keep/file`, 'keep');
    write(`${L}/keep/dir/x`, 'x');
    write(`${L}/del/file1`, 'gone soon');
    write(`${L}/del/file2`, 'stays');
    write(`${L}/deldir/deep/y`, 'y');
    write(`${L}/redo/a`, 'a');
    write(`${L}/redo/sub/b`, 'b');
    write(`${L}/f2d`, 'was a file');
    write(`${L}/d2f/child`, 'was in a dir');
    write(`${L}/orig`, 'original');
    sh('setfattr', ['-n', 'user.lower', '-v', 'L', `${L}/keep/file`]);
    ageTree(L, 1_400_000_000);
    assert.ok(mountOverlay(L, M, U, W), 'mount upper overlay');
    mounted.push(M);

    fs.rmSync(`${M}/del/file1`);
    fs.rmSync(`${M}/deldir`, { recursive: true });
    fs.rmSync(`${M}/redo`, { recursive: true });
    write(`${M}/redo/new`, 'new in redo');
    fs.rmSync(`${M}/f2d`);
    write(`${M}/f2d/inner`, 'now a dir');
    fs.rmSync(`${M}/d2f`, { recursive: true });
    write(`${M}/d2f`, 'now a file');
    fs.linkSync(`${M}/orig`, `${M}/orig-link`);
    write(`${M}/new/h1`, 'hardlinked');
    fs.linkSync(`${M}/new/h1`, `${M}/new/h2`);
    fs.symlinkSync('../keep/file', `${M}/new/sym`);
    write(`${M}/new/ping`, 'ELF');
    sh('setfattr', ['-n', 'security.capability', '-v', `0x${CAP_NET_RAW.toString('hex')}`, `${M}/new/ping`]);
    write(`${M}/new/suid`, '#!/bin/sh');
    fs.chownSync(`${M}/new/suid`, 0, 50);
    fs.chmodSync(`${M}/new/suid`, 0o4755);
    fs.chownSync(`${M}/keep/file`, 1000, 1000);
    sh('setfattr', ['-n', 'user.dirnote', '-v', 'hello world', `${M}/new`]);
    sh('mknod', [`${M}/new/null`, 'c', '1', '3']);
    sh('mkfifo', [`${M}/new/fifo`]);
    fs.chmodSync(`${M}/new`, 0o1777);
    fs.utimesSync(`${M}/new/h1`, 1_100_000_000, 1_100_000_000);
    fs.lutimesSync(`${M}/new/sym`, 1_200_000_000, 1_200_000_000);
    fs.utimesSync(`${M}/new`, 1_300_000_000, 1_300_000_000);
    const merged = view(M);
    umount(M);
    mounted.pop();

    const layerFile = path.join(tmp, 'layer.tar.gz');
    const { stream, diffId } = createLayerStream(U);
    await pipeline(stream, fs.createWriteStream(layerFile));
    const entries = await listLayerEntries(fs.createReadStream(layerFile));
    const names = entries.map((e) => e.name);
    const keys = names.map((n) => Buffer.from(n.replace(/\/$/, '')));
    for (let i = 1; i < keys.length; i++) assert.ok(Buffer.compare(keys[i - 1]!, keys[i]!) < 0, `sorted: ${names[i - 1]} < ${names[i]}`);
    for (const n of ['del/.wh.file1', '.wh.deldir', 'redo/', 'redo/.wh..wh..opq', 'redo/new', 'f2d/', 'f2d/inner', 'd2f', 'new/', 'new/h1', 'new/null', 'new/fifo']) {
      assert.ok(names.includes(n), `layer has ${n}: ${names.join(' ')}`);
    }
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.deepEqual([byName.get('new/h2')?.type, byName.get('new/h2')?.linkname], ['link', 'new/h1']);
    assert.deepEqual([byName.get('orig-link')?.type, byName.get('orig-link')?.linkname], ['link', 'orig']);
    assert.deepEqual([byName.get('new/sym')?.type, byName.get('new/sym')?.linkname], ['symlink', '../keep/file']);
    assert.deepEqual([byName.get('new/suid')?.mode, byName.get('new/suid')?.gid], [0o4755, 50]);
    assert.equal(byName.get('new/')?.mode, 0o1777);
    assert.deepEqual(byName.get('new/ping')?.xattrs?.['security.capability'], CAP_NET_RAW);
    assert.deepEqual(byName.get('new/')?.xattrs, { 'user.dirnote': Buffer.from('hello world') });
    assert.deepEqual(byName.get('keep/file')?.xattrs, { 'user.lower': Buffer.from('L') });
    assert.ok(!entries.some((e) => Object.keys(e.xattrs ?? {}).some((k) => k.startsWith('trusted.overlay.'))), 'no trusted.overlay.* in the layer');
    assert.equal(byName.get('.wh.deldir')?.type, 'file');

    const applied = await applyLayer(fs.createReadStream(layerFile), S, { mode: 'overlay' });
    assert.equal(applied.diffId, await diffId);
    assert.ok(mountOverlay(`${S}:${L}`, M2), 'mount the applied snapshot over lower');
    mounted.push(M2);
    assert.deepEqual(view(M2), merged, 'overlay snapshot reproduces the merged view');
    umount(M2);
    mounted.pop();

    const lowerLayer = createLayerStream(L);
    await applyLayer(lowerLayer.stream, F, { mode: 'flatten' });
    await applyLayer(fs.createReadStream(layerFile), F, { mode: 'flatten' });
    assert.deepEqual(view(F), merged, 'flattened lower+layer reproduces the merged view');
  } finally {
    for (const m of mounted.reverse()) umount(m);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
