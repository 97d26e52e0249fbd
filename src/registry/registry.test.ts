import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Digest } from '../oci/index.js';
import { RegistryClient, blobStream, credentialKey, eraseCredentials, getCredentials, isLoopback, mergeScopes, parseChallenge, registryHost, retryAfter, selectPlatform, storeCredentials } from './index.js';

test('WWW-Authenticate challenges parse, quoted commas included', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull,push' },
  });
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
  assert.equal(parseChallenge(undefined), undefined);
});

test('scopes merge per repository with sorted actions', () => {
  assert.deepEqual(mergeScopes(['repository:a:push', 'repository:a:pull', 'repository:b:pull']), ['repository:a:pull,push', 'repository:b:pull']);
});

test('Retry-After in seconds or as a date; loopback hosts; Docker Hub endpoint and credential key', () => {
  assert.equal(retryAfter('2'), 2000);
  assert.equal(retryAfter('999'), 60_000);
  assert.ok((retryAfter(new Date(Date.now() + 3000).toUTCString()) ?? 0) > 1000);
  assert.equal(retryAfter(undefined), undefined);
  for (const h of ['localhost:5000', '127.0.0.1', '127.1.2.3:80', '[::1]:5000']) assert.ok(isLoopback(h), h);
  for (const h of ['10.0.0.1:5000', 'example.com', '127.example.com']) assert.ok(!isLoopback(h), h);
  assert.equal(registryHost('docker.io'), 'registry-1.docker.io');
  assert.equal(registryHost('ghcr.io'), 'ghcr.io');
  assert.equal(credentialKey('docker.io'), 'https://index.docker.io/v1/');
});

test('config.json auths: stored as base64 user:pass (mode 0600), read back, erased; other keys kept', async () => {
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-cfg-'));
  try {
    fs.writeFileSync(path.join(configDir, 'config.json'), JSON.stringify({ psFormat: 'x', auths: { 'other.io': { auth: Buffer.from('a:b').toString('base64') } } }));
    await storeCredentials('docker.io', { username: 'u', password: 'p:w' }, { configDir });
    const c = JSON.parse(fs.readFileSync(path.join(configDir, 'config.json'), 'utf8'));
    assert.equal(c.psFormat, 'x');
    assert.equal(c.auths['https://index.docker.io/v1/'].auth, Buffer.from('u:p:w').toString('base64'));
    assert.equal(fs.statSync(path.join(configDir, 'config.json')).mode & 0o777, 0o600);
    assert.deepEqual(await getCredentials('docker.io', { configDir }), { username: 'u', password: 'p:w' });
    assert.deepEqual(await getCredentials('other.io', { configDir }), { username: 'a', password: 'b' });
    assert.equal(await eraseCredentials('docker.io', { configDir }), true);
    assert.equal(await getCredentials('docker.io', { configDir }), undefined);
  } finally {
    fs.rmSync(configDir, { recursive: true, force: true });
  }
});

function serve(handler: http.RequestListener): Promise<{ host: string; close: () => Promise<void> }> {
  const s = http.createServer(handler);
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r({ host: `127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise((c) => s.close(() => c())) })));
}

test('a redirect to blob storage on another host is followed without the Authorization header', async () => {
  const seen: Array<string | undefined> = [];
  const storage = await serve((req, res) => {
    seen.push(req.headers.authorization);
    res.end('blob-bytes');
  });
  const registry = await serve((req, res) => {
    if (!req.headers.authorization) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
      return res.end();
    }
    seen.push(req.headers.authorization);
    res.writeHead(307, { location: `http://${storage.host}/bucket/blob?sig=1` });
    res.end();
  });
  const c = RegistryClient.open(registry.host, { backoffMs: 1 }, { username: 'u', password: 'secret' });
  try {
    const res = await c.fetch('GET', '/v2/x/blobs/sha256:00');
    assert.equal(await res.body.text(), 'blob-bytes');
    assert.deepEqual(seen, [`Basic ${Buffer.from('u:secret').toString('base64')}`, undefined]);
  } finally {
    await c.close();
    await registry.close();
    await storage.close();
  }
});

test('a blob longer than its descriptor is cut off with TSB_DIGEST_MISMATCH', async () => {
  const srv = await serve((_req, res) => res.end(Buffer.alloc(100, 1)));
  const c = RegistryClient.open(srv.host, { backoffMs: 1 });
  try {
    const desc = { mediaType: 'x', digest: `sha256:${'0'.repeat(64)}` as Digest, size: 10 };
    await assert.rejects(async () => {
      for await (const _ of blobStream(c, 'x', desc));
    }, { code: 'TSB_DIGEST_MISMATCH' });
  } finally {
    await c.close();
    await srv.close();
  }
});

test('platform selection prefers an exact variant and lists what exists', () => {
  const d = (architecture: string, variant?: string) => ({ mediaType: 'm', digest: `sha256:${architecture}${variant ?? ''}` as Digest, size: 1, platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) } });
  const index = { schemaVersion: 2 as const, manifests: [d('amd64'), d('arm', 'v6'), d('arm', 'v7')] };
  assert.equal(selectPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'x').platform?.variant, 'v7');
  assert.equal(selectPlatform(index, { os: 'linux', architecture: 'amd64' }, 'x').platform?.architecture, 'amd64');
  assert.throws(() => selectPlatform(index, { os: 'linux', architecture: 'riscv64' }, 'x'), /linux\/amd64, linux\/arm\/v6, linux\/arm\/v7/);
});
