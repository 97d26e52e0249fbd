import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { after, before, test } from 'node:test';
import { pullImage, pushImages } from '../../src/api/registry.js';
import { tag } from '../../src/api/images.js';
import { pullCommand, pushCommand } from '../../src/cli/registry-commands.js';
import { MediaType, hostPlatform, sha256 } from '../../src/oci/index.js';
import { RegistryClient, putManifest, uploadBlob } from '../../src/registry/index.js';
import { openStore } from '../../src/store/index.js';
import { makeContext, removeStore, requireSandbox, storeWithBusybox, tempDir, tsbuild } from '../helpers/env.js';
import { type RegistryServer, startRegistry } from '../helpers/registry.js';

const TOOLS = ['docker-registry', 'skopeo', 'openssl'];
let reg: RegistryServer | undefined;
let src: string | undefined;
const roots: string[] = [];
const newRoot = () => {
  const r = tempDir('tsb-pull-');
  roots.push(r);
  return r;
};

before(async () => {
  if (process.getuid?.() !== 0) return;
  reg = await startRegistry();
  src = storeWithBusybox();
});
after(async () => {
  await reg?.stop();
  for (const r of [...roots, ...(src ? [src] : [])]) removeStore(r);
});

function io(root: string) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { root, out: (s: string) => out.push(s), err: (s: string) => err.push(s), signal: new AbortController().signal }, out, err };
}

test('push several tags: blobs once, HEAD skips them on a re-push, a second repository mounts them', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = reg!.host;
  await tag(src!, 'busybox:latest', `${h}/x/busybox:1`);
  await tag(src!, 'busybox:latest', `${h}/x/busybox:latest`);
  const events: string[] = [];
  const pushed = await pushImages(src!, [`${h}/x/busybox:1`, `${h}/x/busybox:latest`], { onProgress: (e) => events.push(e.status) });
  assert.equal(pushed.length, 2);
  assert.equal(pushed[0]!.digest, pushed[1]!.digest);
  assert.equal(events.filter((e) => e === 'done').length, 2, 'config and layer uploaded once');
  const again: string[] = [];
  await pushImages(src!, [`${h}/x/busybox:1`], { onProgress: (e) => again.push(e.status) });
  assert.deepEqual(again, ['exists', 'exists']);
  await tag(src!, 'busybox:latest', `${h}/y/copy:1`);
  const mounted: string[] = [];
  await pushImages(src!, [`${h}/y/copy:1`], { onProgress: (e) => mounted.push(e.status) });
  assert.deepEqual(mounted, ['mounted', 'mounted']);
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${h}/x/busybox:1`], { encoding: 'utf8' })) as { Digest: string; RepoTags: string[] };
  assert.equal(inspect.Digest, pushed[0]!.digest);
  assert.deepEqual(inspect.RepoTags.sort(), ['1', 'latest']);
  const d = tempDir('tsb-skopeo-');
  roots.push(d);
  execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${h}/y/copy:1`, `oci:${d}:copy`], { stdio: 'pipe' });
});

test('the push CLI prints the pushed digest; pull CLI pulls by tag and by digest', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = reg!.host;
  await tag(src!, 'busybox:latest', `${h}/cli/bb:v1`);
  const p = io(src!);
  assert.equal(await pushCommand([`${h}/cli/bb:v1`], p.io), 0);
  const digest = /digest: (sha256:[a-f0-9]{64})/.exec(p.out.join(''))?.[1];
  assert.ok(digest, p.out.join(''));
  const root = newRoot();
  const q = io(root);
  assert.equal(await pullCommand(['-q', `${h}/cli/bb@${digest}`], q.io), 0);
  assert.equal(q.out.join('').trim(), digest);
  const r = io(root);
  assert.equal(await pullCommand([`${h}/cli/bb:v1`], r.io), 0);
  assert.match(r.err.join(''), /Already exists/);
  assert.equal(openStore(root).resolveRef(`${h}/cli/bb:v1`)?.digest, digest);
});

test('pull --no-unpack stores the blobs only; the layers are unpacked on first use', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = reg!.host;
  await tag(src!, 'busybox:latest', `${h}/lazy/bb:1`);
  await pushImages(src!, [`${h}/lazy/bb:1`]);
  const root = newRoot();
  const p = tsbuild(root, ['pull', '-q', '--no-unpack', `${h}/lazy/bb:1`]);
  assert.equal(p.code, 0, p.stderr);
  const layerDirs = () => (fs.existsSync(`${root}/snapshots`) ? fs.readdirSync(`${root}/snapshots`).filter((n) => /^[a-f0-9]{64}$/.test(n)) : []);
  assert.deepEqual(layerDirs(), [], 'nothing unpacked by the pull');
  const r = tsbuild(root, ['run', '--rm', `${h}/lazy/bb:1`, 'echo', 'unpacked on first use']);
  assert.equal(r.stdout.trim(), 'unpacked on first use', r.stderr);
  assert.equal(layerDirs().length, 1);
});

test('an image skopeo pushed is pulled, verified and built upon (FROM 127.0.0.1:PORT/x/busybox, RUN)', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = reg!.host;
  execFileSync('skopeo', ['copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${src}:busybox:latest`, `docker://${h}/sk/busybox:latest`], { stdio: 'pipe' });
  const root = newRoot();
  const img = await pullImage(root, `${h}/sk/busybox`);
  assert.equal(img.manifest.mediaType, MediaType.dockerManifest);
  const ctx = makeContext({ Dockerfile: `FROM ${h}/sk/busybox\nRUN echo built-on-pulled > /marker\n` });
  const b = tsbuild(root, ['build', '-t', 'onpulled:1', ctx]);
  fs.rmSync(ctx, { recursive: true, force: true });
  assert.equal(b.code, 0, b.stderr);
  const r = tsbuild(root, ['run', '--rm', 'onpulled:1', 'cat', '/marker']);
  assert.equal(r.stdout.trim(), 'built-on-pulled', r.stderr);
});

test('built layers are stored plain and pushed gzip-compressed once (random content as it is); the pulled image has the same id and content', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = reg!.host;
  const root = storeWithBusybox();
  roots.push(root);
  const ctx = makeContext({
    Dockerfile: 'FROM busybox\nCOPY text.txt /text.txt\nRUN head -c 1048576 /dev/urandom > /random.bin\n',
    'text.txt': 'compressible text\n'.repeat(20000),
  });
  const b = tsbuild(root, ['build', '-q', '-t', `${h}/forms/img:1`, ctx]);
  fs.rmSync(ctx, { recursive: true, force: true });
  assert.equal(b.code, 0, b.stderr);
  const store = openStore(root);
  const local = JSON.parse((await store.readBlob(store.resolveRef(`${h}/forms/img:1`)!.digest)).toString()) as { config: { digest: string }; layers: Array<{ mediaType: string; size: number }> };
  const built = local.layers.slice(-2);
  assert.deepEqual(built.map((l) => l.mediaType), [MediaType.ociLayer, MediaType.ociLayer], 'the store keeps build layers as plain tars');
  const [first] = await pushImages(root, [`${h}/forms/img:1`]);
  const remote = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${h}/forms/img:1`], { encoding: 'utf8' })) as typeof local;
  assert.equal(remote.config.digest, local.config.digest, 'same config: same image id');
  const [text, random] = remote.layers.slice(-2);
  assert.equal(text!.mediaType, MediaType.ociLayerGzip);
  assert.ok(text!.size < built[0]!.size / 10, `the text layer shrank (${text!.size} of ${built[0]!.size} bytes)`);
  assert.equal(random!.mediaType, MediaType.ociLayer, 'random content is sent as it is');
  const [second] = await pushImages(root, [`${h}/forms/img:1`]);
  assert.equal(second!.digest, first!.digest, 'a re-push sends the same compressed blobs');
  const localDigest = store.resolveRef(`${h}/forms/img:1`)!.digest;
  const [byDigest] = await pushImages(root, [`${h}/forms/img@${localDigest}`]);
  assert.equal(byDigest!.digest, localDigest, 'a push by digest sends that manifest as it is');
  const other = newRoot();
  const pulled = await pullImage(other, `${h}/forms/img:1`);
  assert.equal(pulled.configDigest, local.config.digest);
  const r = tsbuild(other, ['run', '--rm', `${h}/forms/img:1`, 'sh', '-c', 'wc -c < /text.txt; wc -c < /random.bin']);
  assert.deepEqual(r.stdout.trim().split(/\s+/), ['360000', '1048576'], r.stderr);
});

test('an index is resolved to the host platform, or to --platform', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = reg!.host;
  await tag(src!, 'busybox:latest', `${h}/multi/bb:host`);
  const [hostPush] = await pushImages(src!, [`${h}/multi/bb:host`]);
  const store = openStore(src!);
  const hostManifest = JSON.parse((await store.readBlob(hostPush!.digest)).toString()) as { config: { digest: string }; layers: unknown[] };
  const config = JSON.parse((await store.readBlob(hostManifest.config.digest as never)).toString()) as Record<string, unknown>;
  const other = hostPlatform().architecture === 'arm64' ? 's390x' : 'arm64';
  const otherConfig = Buffer.from(JSON.stringify({ ...config, architecture: other }));
  const c = RegistryClient.open(h);
  try {
    c.addScope('multi/bb', ['pull', 'push']);
    const cd = { mediaType: MediaType.ociConfig, digest: sha256(otherConfig), size: otherConfig.length };
    await uploadBlob(c, 'multi/bb', cd, () => (async function* () { yield otherConfig; })() as never);
    const m = Buffer.from(JSON.stringify({ ...hostManifest, config: cd }));
    const md = await putManifest(c, 'multi/bb', 'other', m, MediaType.ociManifest);
    const hp = hostPlatform();
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [
      { mediaType: MediaType.ociManifest, digest: md, size: m.length, platform: { os: 'linux', architecture: other } },
      { mediaType: MediaType.ociManifest, digest: hostPush!.digest, size: hostPush!.size, platform: hp },
    ] }));
    await putManifest(c, 'multi/bb', 'multi', index, MediaType.ociIndex);
  } finally {
    await c.close();
  }
  const root = newRoot();
  assert.equal((await pullImage(root, `${h}/multi/bb:multi`)).config.architecture, hostPlatform().architecture);
  const foreign = await pullImage(root, `${h}/multi/bb:multi`, { platform: `linux/${other}`, unpack: false });
  assert.equal(foreign.config.architecture, other);
  await assert.rejects(pullImage(root, `${h}/multi/bb:multi`, { platform: 'windows/amd64' }), (e: Error & { code?: string }) => e.code === 'TSB_IMAGE_NOT_FOUND' && /linux\/arm64|linux\/s390x/.test(e.message));
});

test('clear errors: unknown tag, unknown repository, unreachable registry, bad reference', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const root = newRoot();
  await assert.rejects(pullImage(root, `${reg!.host}/x/busybox:nope`), { code: 'TSB_IMAGE_NOT_FOUND' });
  await assert.rejects(pullImage(root, `${reg!.host}/none/such:1`), { code: 'TSB_IMAGE_NOT_FOUND' });
  await assert.rejects(pullImage(root, '127.0.0.1:1/x/y:1', { retries: 0 }), { code: 'TSB_NETWORK' });
  await assert.rejects(pullImage(root, 'UPPER/Case'), { code: 'TSB_REFERENCE_INVALID' });
  assert.deepEqual(openStore(root).listRefs(), []);
});
