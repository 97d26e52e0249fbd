import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import * as zlib from 'node:zlib';
import tar from 'tar-stream';
import { type StoredImage, resolveImage, writeImage } from '../../src/image/index.js';
import { MediaType, sha256 } from '../../src/oci/index.js';
import { type Store, openStore } from '../../src/store/index.js';
import { loadArchive, saveDockerArchive, writeOciLayout, writeRootfs } from '../../src/export/index.js';
import { isTsbuildError } from '../../src/util/index.js';

const PODMAN_RUN = ['run', '--rm', '--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
const dirs: string[] = [];
const tmp = (p: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `tsb-export-${p}-`));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** True when the tools exist; otherwise skips the test, or fails it under CI=true. */
function need(t: TestContext, ...tools: string[]): boolean {
  const missing = tools.filter((x) => spawnSync('sh', ['-c', `command -v ${x}`]).status !== 0);
  if (!fs.existsSync('/bin/busybox')) missing.push('/bin/busybox');
  if (missing.length === 0) return true;
  if (process.env.CI === 'true') assert.fail(`required tools missing: ${missing.join(', ')}`);
  t.skip(`missing ${missing.join(', ')}`);
  return false;
}

interface TarFile { name: string; type: 'file' | 'directory' | 'symlink'; data?: Buffer; linkname?: string; mode?: number }

async function packTar(entries: TarFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  pack.on('data', (c) => void parts.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) pack.entry({ name: e.name, type: e.type, mode: e.mode ?? 0o644, linkname: e.linkname ?? '', mtime: new Date(0) }, e.data ?? Buffer.alloc(0));
  pack.finalize();
  await ended;
  return Buffer.concat(parts);
}

async function unpackTar(file: string): Promise<TarFile[]> {
  const out: TarFile[] = [];
  const ex = tar.extract();
  fs.createReadStream(file).pipe(ex);
  for await (const e of ex) {
    const parts: Buffer[] = [];
    for await (const c of e) parts.push(c as Buffer);
    out.push({ name: e.header.name, type: e.header.type as TarFile['type'], data: Buffer.concat(parts), linkname: e.header.linkname });
  }
  return out;
}

/** An image with one busybox layer (bin/busybox, bin/sh and bin/echo symlinks), tagged `name`. */
async function busyboxImage(store: Store, name: string, gzip: boolean): Promise<StoredImage> {
  const layer = await packTar([
    { name: 'bin/', type: 'directory', mode: 0o755 },
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: fs.readFileSync('/bin/busybox') },
    { name: 'bin/echo', type: 'symlink', linkname: 'busybox' },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
  ]);
  const blob = gzip ? zlib.gzipSync(layer) : layer;
  const put = await store.putBlob(blob);
  const config = { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['sh'] }, rootfs: { type: 'layers' as const, diff_ids: [sha256(layer)] } };
  const image = await writeImage(store, config, [{ mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: put.digest, size: put.size }]);
  await store.setRef(name, { mediaType: MediaType.ociManifest, digest: image.digest, size: image.manifestBytes.length });
  return image;
}

test('skopeo and umoci read the store as an OCI layout', async (t) => {
  if (!need(t, 'skopeo', 'umoci')) return;
  const store = openStore(tmp('store'));
  const image = await busyboxImage(store, 'app:1', true);
  await busyboxImage(store, '127.0.0.1:5000/x/y:tag', false);
  const info = JSON.parse(run('skopeo', ['inspect', `oci:${store.root}:app:1`])) as { Digest: string; Env: string[] };
  assert.equal(info.Digest, image.digest);
  assert.deepEqual(info.Env, ['PATH=/bin']);
  assert.match(run('skopeo', ['inspect', `oci:${store.root}:127.0.0.1:5000/x/y:tag`]), /"Digest"/);
  assert.deepEqual(run('umoci', ['ls', '--layout', store.root]).trim().split('\n').sort(), ['127.0.0.1:5000/x/y:tag', 'app:1']);
});

for (const gzip of [true, false]) {
  test(`saveDockerArchive (${gzip ? 'gzip' : 'plain'} layers) → podman load → podman run`, async (t) => {
    if (!need(t, 'podman', 'runc')) return;
    const store = openStore(tmp('store'));
    const name = `localhost/tsbuild-export-test-${process.pid}:${gzip ? 'gz' : 'plain'}`;
    await busyboxImage(store, name, gzip);
    const dir = tmp('out');
    const hybrid = path.join(dir, 'save.tar');
    await saveDockerArchive(store, [name], hybrid);
    const names = (await unpackTar(hybrid)).map((e) => e.name);
    assert.deepEqual(names, [...names].sort());
    // The docker-archive half alone (what `docker load` < 25 reads), as podman's docker-archive transport sees it.
    const dockerOnly = path.join(dir, 'docker-only.tar');
    fs.writeFileSync(dockerOnly, await packTar((await unpackTar(hybrid)).filter((e) => e.name !== 'index.json' && e.name !== 'oci-layout')));
    for (const archive of [hybrid, dockerOnly]) {
      try {
        assert.match(run('podman', ['load', '-i', archive]), new RegExp(name));
        assert.equal(run('podman', [...PODMAN_RUN, name, 'echo', 'hi']).trim(), 'hi');
      } finally {
        spawnSync('podman', ['rmi', '-f', name]);
      }
    }
  });
}

test('writeOciLayout: tar readable by skopeo oci-archive, directory by skopeo oci', async (t) => {
  if (!need(t, 'skopeo')) return;
  const store = openStore(tmp('store'));
  const image = await busyboxImage(store, 'app:1', true);
  const file = path.join(tmp('out'), 'oci.tar');
  await writeOciLayout(store, ['app:1'], file, { tar: true });
  assert.equal((JSON.parse(run('skopeo', ['inspect', `oci-archive:${file}`])) as { Digest: string }).Digest, image.digest);
  const dir = path.join(tmp('out'), 'layout');
  await writeOciLayout(store, ['app:1'], dir, { tar: false });
  assert.equal((JSON.parse(run('skopeo', ['inspect', `oci:${dir}:app:1`])) as { Digest: string }).Digest, image.digest);
});

test('loadArchive round-trips docker, docker-only, gzipped and OCI archives', async (t) => {
  if (!need(t)) return;
  const src = openStore(tmp('store'));
  const image = await busyboxImage(src, 'app:1', true);
  const dir = tmp('out');
  const save = path.join(dir, 'save.tar');
  await saveDockerArchive(src, ['app:1', image.configDigest], save);
  const oci = path.join(dir, 'oci.tar');
  await writeOciLayout(src, ['app:1'], oci, { tar: true });
  const dockerOnly = path.join(dir, 'docker-only.tar');
  fs.writeFileSync(dockerOnly, await packTar((await unpackTar(save)).filter((e) => e.name !== 'index.json' && e.name !== 'oci-layout')));
  const gz = path.join(dir, 'save.tar.gz');
  fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(dockerOnly)));
  for (const archive of [save, oci, dockerOnly, gz]) {
    const dest = openStore(tmp('dest'));
    assert.deepEqual(await loadArchive(dest, archive), ['app:1'], archive);
    const loaded = await resolveImage(dest, 'app:1');
    assert.equal(loaded.configDigest, image.configDigest);
    assert.equal(loaded.digest, image.digest, archive);
    assert.deepEqual(fs.readdirSync(path.join(dest.root, 'tmp')), []);
    assert.equal(dest.listManifests().length, 1);
  }
});

test('loadArchive reads podman save output', async (t) => {
  if (!need(t, 'podman')) return;
  const src = openStore(tmp('store'));
  const name = `localhost/tsbuild-export-test-${process.pid}:podman`;
  const image = await busyboxImage(src, name, false);
  const dir = tmp('out');
  await saveDockerArchive(src, [name], path.join(dir, 'in.tar'));
  try {
    run('podman', ['load', '-i', path.join(dir, 'in.tar')]);
    for (const format of ['docker-archive', 'oci-archive']) {
      const out = path.join(dir, `${format}.tar`);
      run('podman', ['save', '--format', format, '-o', out, name]);
      const dest = openStore(tmp('dest'));
      const names = await loadArchive(dest, out);
      assert.deepEqual(names, [name], format);
      assert.equal((await resolveImage(dest, name)).configDigest, image.configDigest, format);
    }
  } finally {
    spawnSync('podman', ['rmi', '-f', name]);
  }
});

test('loadArchive rejects path traversal, tampered blobs and non-archives', async () => {
  const dir = tmp('bad');
  const evil = path.join(dir, 'evil.tar');
  fs.writeFileSync(evil, await packTar([{ name: '../escape', type: 'file', data: Buffer.from('x') }, { name: 'manifest.json', type: 'file', data: Buffer.from('[]') }]));
  const store = openStore(tmp('store'));
  await assert.rejects(loadArchive(store, evil), (e) => isTsbuildError(e, 'TSB_ARCHIVE_INVALID'));
  const abs = path.join(dir, 'abs.tar');
  fs.writeFileSync(abs, await packTar([{ name: '/etc/x', type: 'file', data: Buffer.from('x') }]));
  await assert.rejects(loadArchive(store, abs), (e) => isTsbuildError(e, 'TSB_ARCHIVE_INVALID'));
  const src = openStore(tmp('src'));
  await busyboxImage(src, 'app:1', false);
  const good = path.join(dir, 'good.tar');
  await saveDockerArchive(src, ['app:1'], good);
  const entries = await unpackTar(good);
  const layer = entries.find((e) => e.type === 'file' && e.data!.length > 1_000_000)!;
  layer.data![600] = layer.data![600]! ^ 0xff;
  for (const keep of [true, false]) {
    const bad = path.join(dir, `tampered-${keep}.tar`);
    fs.writeFileSync(bad, await packTar(entries.filter((e) => keep || (e.name !== 'index.json' && e.name !== 'oci-layout'))));
    await assert.rejects(loadArchive(store, bad), (e) => isTsbuildError(e, 'TSB_DIGEST_MISMATCH'));
  }
  fs.writeFileSync(path.join(dir, 'junk'), 'not a tar at all'.repeat(100));
  await assert.rejects(loadArchive(store, path.join(dir, 'junk')), (e) => isTsbuildError(e, 'TSB_ARCHIVE_INVALID'));
  assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
  assert.deepEqual(fs.readdirSync(path.join(store.root, 'blobs', 'sha256')), []);
  assert.ok(!fs.existsSync(path.join(os.tmpdir(), 'escape')));
});

test('writeRootfs flattens into a directory and into a sorted tar', async (t) => {
  if (!need(t, 'tar')) return;
  const store = openStore(tmp('store'));
  const image = await busyboxImage(store, 'app:1', true);
  const dir = path.join(tmp('out'), 'rootfs');
  await writeRootfs(store, image, dir, { tar: false });
  assert.equal(fs.readlinkSync(path.join(dir, 'bin', 'sh')), 'busybox');
  assert.equal(fs.statSync(path.join(dir, 'bin', 'busybox')).mode & 0o777, 0o755);
  const file = path.join(tmp('out'), 'rootfs.tar');
  await writeRootfs(store, image, file, { tar: true });
  assert.deepEqual(run('tar', ['tf', file]).trim().split('\n'), ['bin/', 'bin/busybox', 'bin/echo', 'bin/sh']);
  assert.deepEqual(fs.readdirSync(path.join(store.root, 'tmp')), []);
});
