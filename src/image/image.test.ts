import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { type Descriptor, type Digest, type ImageConfig, MediaType, digestHex, hostPlatform, sha256 } from '../oci/index.js';
import { type Store, openStore } from '../store/index.js';
import { isTsbuildError } from '../util/index.js';
import { UNTAGGED, canonicalJson, listImages, readImage, resolveImage, writeImage } from './index.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function store(): Store {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-image-'));
  dirs.push(d);
  return openStore(d);
}

async function layer(s: Store, content: string): Promise<{ desc: Descriptor; diffId: Digest }> {
  const r = await s.putBlob(Buffer.from(content));
  return { desc: { mediaType: MediaType.ociLayer, digest: r.digest, size: r.size }, diffId: r.digest };
}

function config(diffIds: Digest[], extra: Partial<ImageConfig['config']> = {}): ImageConfig {
  return { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], ...extra }, rootfs: { type: 'layers', diff_ids: diffIds } };
}

test('writeImage stores canonical config + manifest and readImage reads them back', async () => {
  const s = store();
  const l = await layer(s, 'layer-1');
  const img = await writeImage(s, config([l.diffId], { Cmd: ['sh'] }), [l.desc]);
  assert.equal(img.manifest.mediaType, MediaType.ociManifest);
  assert.equal(img.manifest.config.mediaType, MediaType.ociConfig);
  assert.equal(img.configDigest, sha256(img.configBytes));
  assert.equal(img.digest, sha256(img.manifestBytes));
  const again = await readImage(s, img.digest);
  assert.deepEqual(again.config, img.config);
  assert.deepEqual(again.manifest, img.manifest);
  const reordered = { rootfs: img.config.rootfs, config: { Cmd: ['sh'], Env: ['PATH=/bin'] }, os: 'linux', architecture: 'amd64' } as ImageConfig;
  assert.equal((await writeImage(s, reordered, [l.desc])).digest, img.digest);
  assert.equal(s.listManifests().length, 1);
  assert.equal(canonicalJson({ b: 1, a: { d: undefined, c: [2, 1] } }), '{"a":{"c":[2,1]},"b":1}');
});

test('writeImage refuses mismatched diff_ids and missing layers', async () => {
  const s = store();
  const l = await layer(s, 'x');
  await assert.rejects(writeImage(s, config([]), [l.desc]), (e) => isTsbuildError(e, 'TSB_IMAGE_INVALID'));
  const ghost = { mediaType: MediaType.ociLayer, digest: sha256('ghost'), size: 5 };
  await assert.rejects(writeImage(s, config([ghost.digest]), [ghost]), (e) => isTsbuildError(e, 'TSB_IMAGE_INVALID'));
});

test('readImage rejects bad JSON shapes with TSB_IMAGE_INVALID', async () => {
  const s = store();
  const bad = [
    'not json',
    '{"schemaVersion":1}',
    JSON.stringify({ schemaVersion: 2, config: { mediaType: MediaType.ociConfig, digest: 'sha256:xyz', size: 1 }, layers: [] }),
    JSON.stringify({ schemaVersion: 2, config: { mediaType: MediaType.ociConfig, digest: sha256('c'), size: 1 }, layers: {} }),
  ];
  for (const b of bad) {
    const d = await s.putBlob(Buffer.from(b));
    await assert.rejects(readImage(s, d.digest), (e) => isTsbuildError(e, 'TSB_IMAGE_INVALID'), b);
  }
  const cfg = await s.putBlob(Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["nope"]}}'));
  const m = await s.putBlob(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: MediaType.ociConfig, ...cfg }, layers: [] })));
  await assert.rejects(readImage(s, m.digest), (e) => isTsbuildError(e, 'TSB_IMAGE_INVALID'));
});

test('resolveImage by name, name@digest, IMAGE ID prefix and manifest digest', async () => {
  const s = store();
  const l = await layer(s, 'l');
  const img = await writeImage(s, config([l.diffId]), [l.desc]);
  const desc = { mediaType: MediaType.ociManifest, digest: img.digest, size: img.manifestBytes.length };
  await s.setRef('app:1', desc);
  for (const q of ['app:1', 'docker.io/library/app:1', `app@${img.digest}`, img.configDigest, digestHex(img.configDigest).slice(0, 12), digestHex(img.digest).slice(0, 8), img.digest]) {
    assert.equal((await resolveImage(s, q)).digest, img.digest, q);
  }
  await assert.rejects(resolveImage(s, 'app:2'), (e) => isTsbuildError(e, 'TSB_IMAGE_NOT_FOUND') && /app:1/.test(e.hint ?? ''));
  await assert.rejects(resolveImage(s, 'nothing'), (e) => isTsbuildError(e, 'TSB_IMAGE_NOT_FOUND'));
  await assert.rejects(resolveImage(s, 'Bad Name'), (e) => isTsbuildError(e, 'TSB_REFERENCE_INVALID'));
});

test('an untagged build result is found by id and listed as <none>', async () => {
  const s = store();
  const ids: string[] = [];
  for (let i = 0; i < 17; i++) {
    const l = await layer(s, `layer-${i}`);
    ids.push(digestHex((await writeImage(s, config([l.diffId]), [l.desc])).configDigest));
  }
  const list = await listImages(s);
  assert.equal(list.length, 17);
  assert.ok(list.every((x) => x.name === UNTAGGED));
  const first = ids.map((id) => id[0]!).find((c, i, all) => all.indexOf(c) !== i)!;
  await assert.rejects(resolveImage(s, first), (e) => isTsbuildError(e, 'TSB_IMAGE_NOT_FOUND') && /ambiguous/.test(e.message));
  assert.equal(digestHex((await resolveImage(s, ids[3]!.slice(0, 20))).configDigest), ids[3]);
});

test('a tagged image index resolves to the manifest for this host', async () => {
  const s = store();
  const l = await layer(s, 'l');
  const img = await writeImage(s, config([l.diffId]), [l.desc]);
  const other = { mediaType: MediaType.ociManifest, digest: sha256('other'), size: 5, platform: { os: 'linux', architecture: 'mips' } };
  const mine = { mediaType: MediaType.ociManifest, digest: img.digest, size: img.manifestBytes.length, platform: hostPlatform() };
  const idx = await s.putBlob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [other, mine] })));
  await s.setRef('multi', { mediaType: MediaType.ociIndex, ...idx });
  assert.equal((await resolveImage(s, 'multi')).digest, img.digest);
});
