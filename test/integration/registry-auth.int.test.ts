import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { tag } from '../../src/api/images.js';
import { login, logout, pullImage, pushImages } from '../../src/api/registry.js';
import { loginCommand, logoutCommand } from '../../src/cli/registry-commands.js';
import { getCredentials } from '../../src/registry/index.js';
import { makeContext, removeStore, requireSandbox, storeWithBusybox, tempDir, tsbuild } from '../helpers/env.js';
import { PASS, type RegistryServer, type TestPki, type TokenServer, USER, makePki, startRegistry, startTokenServer } from '../helpers/registry.js';

const TOOLS = ['docker-registry', 'skopeo', 'openssl'];
let pki: TestPki | undefined;
let basic: RegistryServer | undefined;
let tokens: TokenServer | undefined;
let tokenReg: RegistryServer | undefined;
let src: string | undefined;
let certsDir = '';
const dirs: string[] = [];
const dir = (p: string) => {
  const d = tempDir(p);
  dirs.push(d);
  return d;
};

before(async () => {
  if (process.getuid?.() !== 0) return;
  pki = makePki();
  basic = await startRegistry({ tls: pki, htpasswd: true });
  tokens = await startTokenServer();
  tokenReg = await startRegistry({ tls: pki, token: tokens });
  certsDir = dir('tsb-certs-');
  for (const r of [basic, tokenReg]) {
    fs.mkdirSync(path.join(certsDir, r.host));
    fs.copyFileSync(pki.caCert, path.join(certsDir, r.host, 'ca.crt'));
  }
  src = storeWithBusybox();
});
after(async () => {
  await basic?.stop();
  await tokenReg?.stop();
  await tokens?.stop();
  if (src) removeStore(src);
  for (const d of [...dirs, ...(pki ? [pki.dir] : [])]) fs.rmSync(d, { recursive: true, force: true });
});

test('Basic over TLS with a custom CA: login checks and saves base64 auth, push and pull use it, logout removes it', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = basic!.host;
  const configDir = dir('tsb-docker-');
  const o = { certsDir, configDir };
  await assert.rejects(login(h, { username: USER, password: 'wrong' }, o), { code: 'TSB_REGISTRY_AUTH' });
  assert.equal(fs.existsSync(path.join(configDir, 'config.json')), false);
  await assert.rejects(pullImage(dir('tsb-p-'), `${h}/a/bb:1`, o), { code: 'TSB_REGISTRY_AUTH' });
  await assert.rejects(login(h, { username: USER, password: PASS }, { configDir }), { code: 'TSB_NETWORK' }, 'the test CA is needed');
  await login(h, { username: USER, password: PASS }, o);
  const saved = JSON.parse(fs.readFileSync(path.join(configDir, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(saved.auths[h]!.auth, 'base64').toString(), `${USER}:${PASS}`);
  assert.equal(fs.statSync(path.join(configDir, 'config.json')).mode & 0o777, 0o600);
  await tag(src!, 'busybox:latest', `${h}/a/bb:1`);
  await pushImages(src!, [`${h}/a/bb:1`], o);
  const root = dir('tsb-p-');
  const img = await pullImage(root, `${h}/a/bb:1`, { ...o, unpack: false });
  assert.equal(img.manifest.layers.length, 1);
  assert.equal(await logout(h, o), true);
  assert.equal(await logout(h, o), false);
  await assert.rejects(pullImage(root, `${h}/a/bb:1`, o), { code: 'TSB_REGISTRY_AUTH' });
});

test('the CLI trusts NODE_EXTRA_CA_CERTS: bin/tsbuild defers it past start-up, the TLS client still loads it', (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = basic!.host;
  const root = dir('tsb-p-');
  const env = { DOCKER_CONFIG: dir('tsb-docker-'), TSBUILD_CERTS_DIR: dir('tsb-nocerts-') };
  const login = (extra: Record<string, string>) => tsbuild(root, ['login', '-u', USER, '--password-stdin', h], { input: PASS, env: { ...env, ...extra } });
  const untrusted = login({ NODE_EXTRA_CA_CERTS: '' });
  assert.equal(untrusted.code, 1, untrusted.stderr);
  assert.match(untrusted.stderr, /certificate/i);
  const trusted = login({ NODE_EXTRA_CA_CERTS: pki!.caCert });
  assert.equal(trusted.code, 0, trusted.stderr);
  assert.match(trusted.stdout, /Login Succeeded/);
});

test('ADD of an https URL trusts NODE_EXTRA_CA_CERTS too, and says why it fails without it', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  // the server runs in a child: the CLI below is spawned synchronously
  const server = spawn(process.execPath, ['-e', `const https = require('https'), fs = require('fs');
    const s = https.createServer({ key: fs.readFileSync(${JSON.stringify(pki!.serverKey)}), cert: fs.readFileSync(${JSON.stringify(pki!.serverCert)}) }, (q, r) => r.end('served over tls\\n'));
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      server.stdout!.once('data', (b: Buffer) => resolve(b.toString().trim()));
      server.once('exit', () => reject(new Error('the https server did not start')));
    });
    const root = src!;
    const ctx = makeContext({ Dockerfile: `FROM busybox\nADD https://127.0.0.1:${port}/served.txt /served.txt\nRUN cat /served.txt\n` });
    const untrusted = tsbuild(root, ['build', '--no-cache', '--progress', 'plain', ctx], { env: { NODE_EXTRA_CA_CERTS: '' } });
    assert.equal(untrusted.code, 1, untrusted.stderr);
    assert.match(untrusted.stderr, /failed to fetch https:\/\/127\.0\.0\.1:\d+\/served\.txt: fetch failed: .*certificate/i);
    const trusted = tsbuild(root, ['build', '--no-cache', '--progress', 'plain', ctx], { env: { NODE_EXTRA_CA_CERTS: pki!.caCert } });
    fs.rmSync(ctx, { recursive: true, force: true });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.match(trusted.stderr, /served over tls/);
  } finally {
    server.kill();
  }
});

test('credential helpers: login stores through docker-credential-test, pull gets, logout erases', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = basic!.host;
  const bin = dir('tsb-helper-');
  const vault = path.join(bin, 'vault');
  fs.mkdirSync(vault);
  // A tiny helper speaking docker's protocol: get/store/erase, server URL or JSON on stdin.
  fs.writeFileSync(path.join(bin, 'docker-credential-test'), `#!/bin/sh
set -e
V=${vault}
case "$1" in
  store) in=$(cat); key=$(printf '%s' "$in" | sed 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/' | tr '/:' '__'); printf '%s' "$in" > "$V/$key"; echo "store" >> "$V/log" ;;
  get) key=$(cat | tr '/:' '__'); if [ -f "$V/$key" ]; then sed 's/ServerURL/ServerURL/' "$V/$key"; else echo "credentials not found in native keychain"; exit 1; fi; echo "get" >> "$V/log" ;;
  erase) key=$(cat | tr '/:' '__'); rm -f "$V/$key"; echo "erase" >> "$V/log" ;;
esac
`, { mode: 0o755 });
  const configDir = dir('tsb-docker-');
  fs.writeFileSync(path.join(configDir, 'config.json'), JSON.stringify({ credHelpers: { [h]: 'test' }, auths: {} }));
  const oldPath = process.env.PATH;
  const oldConfig = process.env.DOCKER_CONFIG;
  const oldCerts = process.env.TSBUILD_CERTS_DIR;
  process.env.PATH = `${bin}:${oldPath}`;
  process.env.DOCKER_CONFIG = configDir;
  process.env.TSBUILD_CERTS_DIR = certsDir;
  try {
    const out: string[] = [];
    const io = { root: dir('tsb-p-'), out: (s: string) => out.push(s), err: () => {}, signal: new AbortController().signal };
    assert.equal(await loginCommand(['-u', USER, '-p', PASS, h], io), 0);
    assert.match(out.join(''), /Login Succeeded/);
    const config = fs.readFileSync(path.join(configDir, 'config.json'), 'utf8');
    assert.ok(!config.includes(Buffer.from(`${USER}:${PASS}`).toString('base64')), 'the secret stays in the helper');
    assert.deepEqual(await getCredentials(h), { username: USER, password: PASS });
    await tag(src!, 'busybox:latest', `${h}/helper/bb:1`);
    await pushImages(src!, [`${h}/helper/bb:1`]);
    assert.equal(await logoutCommand([h], io), 0);
    assert.equal(await getCredentials(h), undefined);
    assert.deepEqual(fs.readFileSync(path.join(vault, 'log'), 'utf8').trim().split('\n').filter((l) => l !== 'get'), ['store', 'erase']);
  } finally {
    process.env.PATH = oldPath;
    if (oldConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = oldConfig;
    if (oldCerts === undefined) delete process.env.TSBUILD_CERTS_DIR;
    else process.env.TSBUILD_CERTS_DIR = oldCerts;
  }
});

test('token auth: anonymous pull tokens, login, push with pull+push scope, cross-repository mount with a from:pull scope', async (t) => {
  if (!requireSandbox(t, TOOLS)) return;
  const h = tokenReg!.host;
  const configDir = dir('tsb-docker-');
  const o = { certsDir, configDir };
  await tag(src!, 'busybox:latest', `${h}/public/bb:1`);
  await assert.rejects(pushImages(src!, [`${h}/public/bb:1`], o), { code: 'TSB_REGISTRY_AUTH' });
  await assert.rejects(login(h, { username: USER, password: 'nope' }, o), { code: 'TSB_REGISTRY_AUTH' });
  await login(h, { username: USER, password: PASS }, o);
  await pushImages(src!, [`${h}/public/bb:1`], o);
  assert.ok(tokens!.requests.some((r) => r.account === USER && r.service === tokens!.service && r.scopes.includes('repository:public/bb:pull,push')));
  const events: string[] = [];
  await tag(src!, 'busybox:latest', `${h}/private/bb:1`);
  await pushImages(src!, [`${h}/private/bb:1`], { ...o, onProgress: (e) => events.push(e.status) });
  assert.deepEqual(events, ['mounted', 'mounted']);
  assert.ok(tokens!.requests.some((r) => r.scopes.includes('repository:public/bb:pull') && r.scopes.includes('repository:private/bb:pull,push')));
  await logout(h, o);
  const before = tokens!.requests.length;
  const img = await pullImage(dir('tsb-p-'), `${h}/public/bb:1`, { ...o, unpack: false });
  assert.equal(img.manifest.layers.length, 1);
  assert.ok(tokens!.requests.slice(before).every((r) => r.account === undefined), 'anonymous token');
  await assert.rejects(pullImage(dir('tsb-p-'), `${h}/private/bb:1`, o), { code: 'TSB_REGISTRY_AUTH' });
});
