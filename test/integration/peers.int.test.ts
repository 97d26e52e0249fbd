import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, removeStore, requireSandbox, storeWithBusybox, tempDir, tsbuild } from '../helpers/env.js';

const PODMAN = ['--runtime', 'runc'];
const PODMAN_RUN = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--network', 'host'];

function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

let root = '';
let out = '';
before(() => {
  if (process.getuid?.() !== 0) return;
  root = storeWithBusybox();
  out = tempDir('tsb-peers-');
});
after(() => {
  if (root) removeStore(root);
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

test('the store is an OCI layout skopeo reads, and --output type=oci is an archive skopeo and umoci read', (t) => {
  if (!requireSandbox(t, ['skopeo', 'umoci'])) return;
  const oci = path.join(out, 'hello-oci.tar');
  const b = tsbuild(root, ['build', '-t', 'hello:peers', '--output', `type=oci,dest=${oci}`, path.join(REPO, 'fixtures/hello')]);
  assert.equal(b.code, 0, b.stderr);
  const [info] = JSON.parse(tsbuild(root, ['inspect', 'hello:peers']).stdout);

  const store = sh('skopeo', ['inspect', `oci:${root}:hello:peers`]);
  assert.equal(store.code, 0, store.stderr);
  assert.equal(JSON.parse(store.stdout).Digest, info.Digest);

  const archive = sh('skopeo', ['inspect', '--config', `oci-archive:${oci}`]);
  assert.equal(archive.code, 0, archive.stderr);
  const cfg = JSON.parse(archive.stdout);
  assert.deepEqual(cfg.config.Cmd, ['/app/greet.sh']);
  assert.deepEqual(cfg.rootfs.diff_ids, info.Config.rootfs.diff_ids);

  // umoci unpacks it with its own tar reader: the flattened rootfs has our files.
  const layout = path.join(out, 'layout');
  fs.mkdirSync(layout);
  assert.equal(sh('tar', ['-xf', oci, '-C', layout]).code, 0);
  const tagged = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')).manifests[0].annotations['org.opencontainers.image.ref.name'];
  const bundle = path.join(out, 'bundle');
  const unpack = sh('umoci', ['unpack', '--image', `${layout}:${tagged}`, bundle]);
  assert.equal(unpack.code, 0, unpack.stderr);
  assert.equal(fs.readFileSync(path.join(bundle, 'rootfs/app/greeting.txt'), 'utf8'), 'Hello from a tsbuild image!\n');
  assert.ok(!fs.existsSync(path.join(bundle, 'rootfs/tmp/.wh..wh..opq')));
});

test('tsbuild save produces a docker-archive that podman loads and runs', (t) => {
  if (!requireSandbox(t, ['podman'])) return;
  const archive = path.join(out, 'hello-docker.tar');
  assert.equal(tsbuild(root, ['build', '-q', '-t', 'hello:peers', path.join(REPO, 'fixtures/hello')]).code, 0);
  const s = tsbuild(root, ['save', '-o', archive, 'hello:peers']);
  assert.equal(s.code, 0, s.stderr);
  const load = sh('podman', [...PODMAN, 'load', '-i', archive]);
  assert.equal(load.code, 0, load.stderr);
  try {
    const run = sh('podman', [...PODMAN, 'run', '--rm', ...PODMAN_RUN, 'localhost/hello:peers']);
    const fallback = run.code === 0 ? run : sh('podman', [...PODMAN, 'run', '--rm', ...PODMAN_RUN, 'docker.io/library/hello:peers']);
    assert.equal(fallback.code, 0, `${run.stderr}\n${fallback.stderr}`);
    assert.match(fallback.stdout, /Hello from a tsbuild image!/);
    assert.match(fallback.stdout, /running as app in \/app/);
  } finally {
    sh('podman', [...PODMAN, 'rmi', '-f', 'hello:peers']);
  }

  // And tsbuild loads its own archive back into a fresh store, with the same image.
  const fresh = tempDir('tsb-store-');
  try {
    const l = tsbuild(fresh, ['load', '-i', archive]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /hello:peers/);
    const a = JSON.parse(tsbuild(root, ['inspect', 'hello:peers']).stdout)[0];
    const b = JSON.parse(tsbuild(fresh, ['inspect', 'hello:peers']).stdout)[0];
    assert.equal(b.Id, a.Id);
    const r = tsbuild(fresh, ['run', '--rm', 'hello:peers']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Hello from a tsbuild image!/);
  } finally {
    removeStore(fresh);
  }
});
