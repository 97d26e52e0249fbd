import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { type Descriptor, type Digest, MediaType, REF_NAME_ANNOTATION, sha256 } from '../oci/index.js';
import { isTsbuildError } from '../util/index.js';
import { processStartTime as processStart } from '../util/index.js';
import { cleanTemp, openStore } from './index.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tmpRoot(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-storeunit-'));
  dirs.push(d);
  return d;
}

function desc(n: number): Descriptor {
  return { mediaType: MediaType.ociManifest, digest: sha256(`m${n}`), size: n };
}

test('openStore creates a valid OCI layout and reopens it', () => {
  const root = tmpRoot();
  const s = openStore(root);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const idx = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8'));
  assert.equal(idx.schemaVersion, 2);
  assert.deepEqual(idx.manifests, []);
  assert.ok(fs.statSync(path.join(root, 'blobs', 'sha256')).isDirectory());
  assert.equal(openStore(root).root, s.root);
});

test('openStore rejects a damaged layout', () => {
  const root = tmpRoot();
  openStore(root);
  fs.writeFileSync(path.join(root, 'index.json'), '{"schemaVersion":2,');
  assert.throws(() => openStore(root), (e) => isTsbuildError(e, 'TSB_STORE_CORRUPT'));
  fs.writeFileSync(path.join(root, 'oci-layout'), '{"imageLayoutVersion":"9"}');
  assert.throws(() => openStore(root), (e) => isTsbuildError(e, 'TSB_STORE_CORRUPT'));
});

test('putBlob is verified and idempotent; readBlob detects corruption', async () => {
  const s = openStore(tmpRoot());
  const data = Buffer.from('hello');
  const a = await s.putBlob(data);
  assert.equal(a.digest, sha256(data));
  assert.equal(a.size, 5);
  assert.deepEqual(await s.putBlob(data, a.digest), a);
  assert.ok(s.hasBlob(a.digest));
  assert.deepEqual(await s.readBlob(a.digest), data);
  await assert.rejects(s.putBlob(Buffer.from('other'), a.digest), (e) => isTsbuildError(e, 'TSB_DIGEST_MISMATCH'));
  fs.writeFileSync(s.blobPath(a.digest), 'hellO');
  await assert.rejects(s.readBlob(a.digest), (e) => isTsbuildError(e, 'TSB_STORE_CORRUPT'));
  assert.throws(() => s.openBlob(sha256('absent')), (e) => isTsbuildError(e, 'TSB_STORE_CORRUPT'));
});

function chunks(n: number, size: number): { stream: Readable; digest: Digest } {
  const parts = Array.from({ length: n }, (_, i) => Buffer.alloc(size, i));
  return { stream: Readable.from(parts), digest: sha256(Buffer.concat(parts)) };
}

test('putBlobStream hashes while writing and renames into place', async () => {
  const s = openStore(tmpRoot());
  const { stream, digest } = chunks(6, 1 << 20);
  const r = await s.putBlobStream(stream, { expected: digest });
  assert.equal(r.digest, digest);
  assert.equal(r.size, 6 << 20);
  assert.equal(fs.statSync(s.blobPath(digest)).size, 6 << 20);
  assert.deepEqual(fs.readdirSync(path.join(s.root, 'tmp')), []);
  const again = await s.putBlobStream(chunks(6, 1 << 20).stream);
  assert.equal(again.digest, digest);
  let read = 0;
  for await (const c of s.openBlob(digest)) read += (c as Buffer).length;
  assert.equal(read, 6 << 20);
});

test('putBlobStream mismatch and abort leave no blob and no temp file', async () => {
  const s = openStore(tmpRoot());
  const wrong = sha256('nope');
  await assert.rejects(s.putBlobStream(chunks(3, 1000).stream, { expected: wrong }), (e) => isTsbuildError(e, 'TSB_DIGEST_MISMATCH'));
  assert.ok(!s.hasBlob(wrong));
  const ac = new AbortController();
  const slow = new Readable({ read() {} });
  slow.push(Buffer.alloc(1000));
  const p = s.putBlobStream(slow, { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(p, (e) => isTsbuildError(e, 'TSB_CANCELLED'));
  assert.deepEqual(fs.readdirSync(path.join(s.root, 'tmp')), []);
  assert.deepEqual(fs.readdirSync(path.join(s.root, 'blobs', 'sha256')), []);
});

test('refs: normalized names, retagging keeps the old image untagged, remove', async () => {
  const s = openStore(tmpRoot());
  await s.setRef('app', desc(1));
  assert.equal(s.resolveRef('app:latest')?.digest, desc(1).digest);
  assert.equal(s.resolveRef('docker.io/library/app')?.digest, desc(1).digest);
  await s.setRef('docker.io/library/app:1', desc(1));
  assert.equal(s.resolveRef('app:1')?.annotations?.[REF_NAME_ANNOTATION], 'app:1');
  await s.setRef('127.0.0.1:5000/x/y:tag', desc(2));
  assert.deepEqual(s.listRefs().map((r) => r.name), ['127.0.0.1:5000/x/y:tag', 'app:1', 'app:latest']);
  await s.setRef('127.0.0.1:5000/x/y:tag', desc(3));
  const untagged = s.listManifests().filter((m) => !m.annotations?.[REF_NAME_ANNOTATION]);
  assert.deepEqual(untagged.map((m) => m.digest), [desc(2).digest]);
  await s.setRef('other', desc(2));
  assert.equal(s.listManifests().filter((m) => m.digest === desc(2).digest).length, 1);
  assert.equal(await s.removeRef('app'), true);
  assert.equal(await s.removeRef('app'), false);
  assert.equal(s.resolveRef('app'), undefined);
  await assert.rejects(s.setRef(`app@${sha256('x')}`, desc(1)), (e) => isTsbuildError(e, 'TSB_REFERENCE_INVALID'));
});

test('recordImage adds one untagged entry; forgetManifest drops all entries', async () => {
  const s = openStore(tmpRoot());
  await s.recordImage(desc(5));
  await s.recordImage(desc(5));
  assert.equal(s.listManifests().length, 1);
  assert.deepEqual(s.listRefs(), []);
  await s.setRef('a:1', desc(5));
  assert.equal(s.listManifests().length, 1);
  await s.setRef('a:2', desc(5));
  assert.equal(await s.forgetManifest(desc(5).digest), 2);
  assert.deepEqual(s.listManifests(), []);
});

test('cleanTemp removes leftovers of dead writers and stale files only', () => {
  const root = tmpRoot();
  const s = openStore(root);
  const start = processStart(process.pid)!;
  const dead = path.join(root, 'tmp', 'blob-999999999-1234-abcdef');
  const mine = path.join(root, 'tmp', `blob-${process.pid}-${start}-abcdef`);
  const oldButMine = path.join(root, 'tmp', `rootfs-${process.pid}-${start}-0123ab`);
  const reused = path.join(root, 'tmp', `blob-${process.pid}-1-abcdef`);
  const idxTmp = path.join(root, '.tmp-index.json-999999999-00ff');
  const idxOld = path.join(root, `.tmp-index.json-${process.pid}-00ff`);
  for (const f of [dead, mine, oldButMine, reused, idxTmp, idxOld]) fs.writeFileSync(f, 'x');
  for (const f of [oldButMine, idxOld]) fs.utimesSync(f, new Date(0), new Date(0));
  assert.equal(cleanTemp(s.root), 4);
  assert.deepEqual(fs.readdirSync(path.join(root, 'tmp')).sort(), [path.basename(mine), path.basename(oldButMine)].sort());
  assert.ok(!fs.existsSync(idxTmp) && !fs.existsSync(idxOld));
});
