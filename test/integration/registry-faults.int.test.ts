import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { tag } from '../../src/api/images.js';
import { pullImage, pushImages } from '../../src/api/registry.js';
import { type Digest, MediaType } from '../../src/oci/index.js';
import { RegistryClient, uploadBlob } from '../../src/registry/index.js';
import { openStore } from '../../src/store/index.js';
import { removeStore, requireSandbox, storeWithBusybox, tempDir } from '../helpers/env.js';
import { type FaultProxy, startFaultProxy } from '../helpers/faultproxy.js';
import { type RegistryServer, startRegistry } from '../helpers/registry.js';

const TOOLS = ['docker-registry', 'skopeo', 'openssl'];
let reg: RegistryServer | undefined;
let proxy: FaultProxy | undefined;
let src: string | undefined;
let layerDigest = '';
const dirs: string[] = [];
const root = () => {
  const d = tempDir('tsb-fault-');
  dirs.push(d);
  return d;
};
const fast = { backoffMs: 5 };

before(async () => {
  if (process.getuid?.() !== 0) return;
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.port);
  src = storeWithBusybox();
  await tag(src, 'busybox:latest', `${reg.host}/f/bb:1`);
  await pushImages(src, [`${reg.host}/f/bb:1`]);
  layerDigest = (await openStore(src).resolveRef('busybox:latest')) ? JSON.parse((await openStore(src).readBlob(openStore(src).resolveRef('busybox:latest')!.digest)).toString()).layers[0].digest : '';
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (src) removeStore(src);
  for (const d of dirs) removeStore(d);
});

const isLayerGet = (method: string | undefined, url: string | undefined) => method === 'GET' && url === `/v2/f/bb/blobs/${layerDigest}`;

test('a download cut mid-blob resumes with a Range request and is verified', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  let cut = false;
  proxy!.rule = (req) => (isLayerGet(req.method, req.url) && !cut && (cut = true) ? { kind: 'dropResponse', afterBytes: 300_000 } : { kind: 'pass' });
  const events: string[] = [];
  const img = await pullImage(root(), `${proxy!.host}/f/bb:1`, { ...fast, onProgress: (e) => events.push(`${e.status}:${e.current}`) });
  assert.equal(img.manifest.layers[0]!.digest, layerDigest);
  const gets = proxy!.seen.filter((s) => isLayerGet(s.method, s.url));
  assert.equal(gets.length, 2);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(String(gets[1]!.headers.range))?.[1]);
  assert.ok(resumedAt > 0 && resumedAt <= 300_000, `resumed at ${resumedAt}: the bytes that got through are kept`);
  assert.ok(events.includes(`resumed:${resumedAt}`), events.join(' '));
});

test('503 and 429 (Retry-After) are retried with backoff', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  proxy!.seen.length = 0;
  let n = 0;
  proxy!.rule = (req) => {
    if (!req.url?.includes('/manifests/')) return { kind: 'pass' };
    n++;
    return n === 1 ? { kind: 'status', status: 503 } : n === 2 ? { kind: 'status', status: 429, headers: { 'retry-after': '1' } } : { kind: 'pass' };
  };
  const started = Date.now();
  await pullImage(root(), `${proxy!.host}/f/bb:1`, { ...fast, unpack: false });
  assert.ok(Date.now() - started >= 950, 'waited for Retry-After: 1');
  assert.deepEqual(proxy!.seen.filter((s) => s.url.includes('/manifests/')).map((s) => s.action), ['status', 'status', 'pass']);
  proxy!.rule = () => ({ kind: 'status', status: 503 });
  await assert.rejects(pullImage(root(), `${proxy!.host}/f/bb:1`, { ...fast, retries: 2 }), { code: 'TSB_NETWORK' });
});

test('a corrupted blob is rejected with TSB_DIGEST_MISMATCH and nothing enters the store', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  proxy!.rule = (req) => (isLayerGet(req.method, req.url) ? { kind: 'corrupt', at: 1000 } : { kind: 'pass' });
  const r = root();
  await assert.rejects(pullImage(r, `${proxy!.host}/f/bb:1`, fast), { code: 'TSB_DIGEST_MISMATCH' });
  const store = openStore(r);
  assert.equal(store.hasBlob(layerDigest as Digest), false);
  assert.deepEqual(store.listRefs(), []);
  assert.deepEqual(fs.readdirSync(path.join(r, 'tmp')), []);
});

async function bigBlob(size: number): Promise<{ file: string; desc: { mediaType: string; digest: Digest; size: number } }> {
  const file = path.join(root(), 'blob');
  const fd = fs.openSync(file, 'w');
  const h = createHash('sha256');
  for (let off = 0; off < size; off += 1 << 20) {
    const b = randomBytes(Math.min(1 << 20, size - off));
    h.update(b);
    fs.writeSync(fd, b);
  }
  fs.closeSync(fd);
  return { file, desc: { mediaType: MediaType.ociLayerGzip, digest: `sha256:${h.digest('hex')}` as Digest, size } };
}

test('a 200 MB upload cut at 60% resumes from the registry offset: under 10% of the layer sent again', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const size = 200 << 20;
  const { file, desc } = await bigBlob(size);
  proxy!.seen.length = 0;
  let cut = false;
  proxy!.rule = (req) => {
    if (req.method !== 'PATCH' || cut) return { kind: 'pass' };
    const start = Number(String(req.headers['content-range']).split('-')[0]);
    if (start + Number(req.headers['content-length']) < size * 0.6) return { kind: 'pass' };
    cut = true;
    return { kind: 'dropRequest', afterBytes: Math.floor(size * 0.6) - start };
  };
  const c = RegistryClient.open(proxy!.host, fast);
  const events: string[] = [];
  try {
    await uploadBlob(c, 'f/big', desc, (s, e) => fs.createReadStream(file, { start: s, end: e - 1, highWaterMark: 1 << 20 }), { ...fast, onProgress: (p) => events.push(`${p.status}:${p.current}`) });
  } finally {
    await c.close();
  }
  const sent = proxy!.seen.filter((s) => s.method === 'PATCH').reduce((n, s) => n + s.bodyBytes, 0);
  assert.ok(cut);
  assert.ok(events.some((e) => /^resumed:[1-9]/.test(e)), events.join(' '));
  assert.ok(sent - size < size * 0.1, `re-sent ${sent - size} bytes`);
  assert.ok(fs.existsSync(path.join(reg!.dir, 'data/docker/registry/v2/blobs/sha256', desc.digest.slice(7, 9), desc.digest.slice(7), 'data')));
});

test('when the registry half-wrote a cut chunk (distribution then cancels the upload), the upload restarts and completes', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const size = 40 << 20;
  const { file, desc } = await bigBlob(size);
  let cut = false;
  proxy!.rule = (req) => (req.method === 'PATCH' && !cut && String(req.headers['content-range']).startsWith(`${16 << 20}-`) && (cut = true) ? { kind: 'dropRequest', afterBytes: 5 << 20, forwardPartial: true } : { kind: 'pass' });
  const c = RegistryClient.open(proxy!.host, fast);
  const events: string[] = [];
  try {
    await uploadBlob(c, 'f/half', desc, (s, e) => fs.createReadStream(file, { start: s, end: e - 1 }), { ...fast, onProgress: (p) => events.push(p.status) });
  } finally {
    await c.close();
  }
  assert.ok(events.includes('restarted') || events.includes('resumed'), events.join(' '));
  assert.ok(events.includes('done'));
});
