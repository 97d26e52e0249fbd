import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, makeContext, mountsUnder, removeStore, requireSandbox, sessionsLeft, storeWithBusybox, tsbuild } from '../helpers/env.js';

describe('multi-stage build of fixtures/hello, run with tsbuild run', () => {
  let root = '';
  before(() => {
    if (process.getuid?.() === 0) root = storeWithBusybox();
  });
  after(() => root && removeStore(root));

  test('builds, runs, passes exit codes through, and rebuilds from cache', (t) => {
    if (!requireSandbox(t)) return;
    const b = tsbuild(root, ['build', '-t', 'hello:1', path.join(REPO, 'fixtures/hello')]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /naming to hello:1/);

    const r = tsbuild(root, ['run', '--rm', 'hello:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Hello from a tsbuild image!/);
    assert.match(r.stdout, /running as app in \/app, built for app/);

    const code = tsbuild(root, ['run', '--rm', 'hello:1', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.equal(code.code, 7);
    assert.equal(code.stdout, 'out\n');
    assert.equal(code.stderr, 'err\n');

    const missing = tsbuild(root, ['run', '--rm', 'hello:1', 'no-such-command']);
    assert.equal(missing.code, 127, 'docker: 127 for a command that is not found');
    assert.match(missing.stderr, /executable file not found/);

    const again = tsbuild(root, ['build', '-q', '-t', 'hello:1', path.join(REPO, 'fixtures/hello')]);
    assert.equal(again.code, 0, again.stderr);
    const id = JSON.parse(tsbuild(root, ['inspect', 'hello:1']).stdout)[0].Id;
    assert.equal(again.stdout.trim(), id, 'a no-op rebuild yields the same image id');

    const noisy = tsbuild(root, ['build', '-t', 'hello:1', path.join(REPO, 'fixtures/hello')]);
    assert.doesNotMatch(noisy.stderr, / => \[(build|stage-1) \d+\/\d+\] (RUN|COPY)/, 'every step is cached');
    assert.match(noisy.stderr, /CACHED \[build \d\/\d\] RUN/);

    const arg = tsbuild(root, ['build', '-t', 'hello:howdy', '--build-arg', 'GREETING=Howdy', path.join(REPO, 'fixtures/hello')]);
    assert.equal(arg.code, 0, arg.stderr);
    assert.match(arg.stderr, /CACHED \[build \d\/\d\] COPY/, 'steps before the ARG use stay cached');
    assert.match(tsbuild(root, ['run', '--rm', 'hello:howdy']).stdout, /^Howdy from a tsbuild image!/);
    assert.deepEqual(mountsUnder(root), []);
  });

  test('the image config and history follow the Dockerfile', (t) => {
    if (!requireSandbox(t)) return;
    const [info] = JSON.parse(tsbuild(root, ['inspect', 'hello:1']).stdout);
    const cfg = info.Config.config;
    assert.deepEqual(cfg.Cmd, ['/app/greet.sh']);
    assert.equal(cfg.User, 'app');
    assert.equal(cfg.WorkingDir, '/app');
    assert.ok(cfg.Env.includes('APP_HOME=/app'));
    assert.ok(cfg.Env.some((e: string) => e.startsWith('PATH=')));
    assert.ok(!cfg.Env.some((e: string) => e.startsWith('GREETING')), 'ARG values are not persisted');
    assert.equal(cfg.Labels['org.opencontainers.image.title'], 'hello');
    const layers = info.Manifest.layers.length;
    const nonEmpty = info.Config.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer).length;
    assert.equal(nonEmpty, layers, 'one non-empty history entry per layer');
    assert.equal(info.Config.rootfs.diff_ids.length, layers);
    const hist = tsbuild(root, ['history', '--no-trunc', 'hello:1']);
    assert.equal(hist.code, 0);
    assert.match(hist.stdout, /COPY \/src\/greet.sh \/src\/greeting.txt \/src\/size.txt .\/ # buildkit/);
  });
});

describe('bad input: one clear error, non-zero exit, nothing half-written', () => {
  let root = '';
  before(() => {
    if (process.getuid?.() === 0) root = storeWithBusybox();
  });
  after(() => root && removeStore(root));

  const refs = () => JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8')).manifests.length;
  const cases: Array<{ name: string; files?: Record<string, string>; args?: (ctx: string) => string[]; code: number; match: RegExp[] }> = [
    { name: 'missing Dockerfile', files: { 'a.txt': 'x' }, code: 1, match: [/failed to read Dockerfile/] },
    { name: 'missing context', args: () => ['build', '/nonexistent/ctx'], code: 1, match: [/build context "\/nonexistent\/ctx" does not exist/] },
    {
      name: 'syntax error names file:line and shows the line',
      files: { Dockerfile: 'FROM busybox\nRUN echo ok\nCOPPY a b\n' },
      code: 1,
      match: [/unknown instruction/i, /Dockerfile:3/, />>>.*COPPY a b/, /did you mean COPY/i],
    },
    { name: 'missing COPY source', files: { Dockerfile: 'FROM busybox\nCOPY nope.txt /x\n' }, code: 1, match: [/nope.txt.*not found/, /Dockerfile:2/] },
    { name: 'unknown base image', files: { Dockerfile: 'FROM nosuch/image:1\nRUN true\n' }, code: 1, match: [/base image "nosuch\/image:1" not found/, /Dockerfile:1/, /tsbuild import/] },
    { name: 'unknown target stage', files: { Dockerfile: 'FROM busybox AS builder\nRUN true\n' }, args: (c) => ['build', '--target', 'buidler', c], code: 1, match: [/target stage "buidler" could not be found/, /did you mean "builder"/] },
    { name: 'unknown COPY --from stage', files: { Dockerfile: 'FROM busybox\nCOPY --from=nostage /a /b\n' }, code: 1, match: [/nostage/, /Dockerfile:2/] },
    {
      name: 'failing RUN names the step, command and exit code, with its output',
      files: { Dockerfile: 'FROM busybox\nRUN echo before\nRUN echo some output; exit 3\n' },
      code: 1,
      match: [/\/bin\/sh -c echo some output; exit 3" did not complete successfully: exit code: 3/, /Dockerfile:3/, /\| some output/],
    },
    { name: 'usage error', args: () => ['build', '--frobnicate', '.'], code: 2, match: [/unknown flag: --frobnicate/] },
  ];
  for (const c of cases) {
    test(c.name, (t) => {
      if (!requireSandbox(t)) return;
      const ctx = makeContext(c.files ?? {});
      const before = refs();
      const r = tsbuild(root, c.args ? c.args(ctx) : ['build', '-t', 'bad:1', ctx]);
      assert.equal(r.code, c.code, r.stderr);
      for (const m of c.match) assert.match(r.stderr, m);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, 'exactly one error');
      assert.equal(refs(), before, 'no image recorded');
      assert.deepEqual(mountsUnder(root), [], 'no mounts left');
      assert.deepEqual(sessionsLeft(root), [], 'no session left');
      fs.rmSync(ctx, { recursive: true, force: true });
    });
  }
});

describe('two tsbuild processes on one store', () => {
  let root = '';
  before(() => {
    if (process.getuid?.() === 0) root = storeWithBusybox();
  });
  after(() => root && removeStore(root));

  const buildAsync = (args: string[]) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(path.join(REPO, 'bin/tsbuild'), ['--root', root, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b) => (err += b));
      child.on('exit', (code) => resolve({ code, err }));
    });

  test('build at the same time, run a shared step once, and all land their tags', async (t) => {
    if (!requireSandbox(t)) return;
    const shared = 'FROM busybox\nRUN echo shared > /shared && sleep 0.3\n';
    const a = makeContext({ Dockerfile: `${shared}RUN echo a > /who\n` });
    const b = makeContext({ Dockerfile: `${shared}RUN echo b > /who\n` });
    const results = await Promise.all([
      buildAsync(['build', '-t', 'par:a', a]),
      buildAsync(['build', '-t', 'par:b', b]),
      buildAsync(['build', '-t', 'par:a2', a]),
    ]);
    for (const r of results) assert.equal(r.code, 0, r.err);
    const ran = results.filter((r) => / => \[stage-0 1\/2\] RUN echo shared/.test(r.err)).length;
    assert.equal(ran, 1, `the shared step ran once across the three processes:\n${results.map((r) => r.err).join('\n---\n')}`);
    assert.equal(tsbuild(root, ['run', '--rm', 'par:a', 'cat', '/shared', '/who']).stdout, 'shared\na\n');
    assert.equal(tsbuild(root, ['run', '--rm', 'par:b', 'cat', '/shared', '/who']).stdout, 'shared\nb\n');
    const names = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8')).manifests
      .map((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'])
      .filter(Boolean)
      .sort();
    assert.deepEqual(names.filter((n: string) => n.startsWith('par:')), ['par:a', 'par:a2', 'par:b']);
    assert.deepEqual(mountsUnder(root), []);
    for (const d of [a, b]) fs.rmSync(d, { recursive: true, force: true });
  });

  test('identical steps in two stages of one build run once', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = makeContext({
      Dockerfile: 'FROM busybox AS a\nRUN echo twin > /twin && sleep 0.3\nFROM busybox AS b\nRUN echo twin > /twin && sleep 0.3\nFROM a\nCOPY --from=b /twin /from-b\n',
    });
    const r = tsbuild(root, ['build', '--no-cache', '-t', 'twins:1', ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => / => \[(a|b) 1\/1\] RUN echo twin/.test(l)).length, 1, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => / => CACHED \[(a|b) 1\/1\] RUN echo twin/.test(l)).length, 1, r.stderr);
    assert.equal(tsbuild(root, ['run', '--rm', 'twins:1', 'cat', '/from-b']).stdout, 'twin\n');
    fs.rmSync(ctx, { recursive: true, force: true });
  });
});
