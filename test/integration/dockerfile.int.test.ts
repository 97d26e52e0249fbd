import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { makeContext, requireSandbox, tempDir, suiteStore, tsbuild } from '../helpers/env.js';

/** The first cut of Dockerfile semantics, checked by running what was built. */
describe('Dockerfile instructions, first cut', () => {
  const suite = suiteStore();

  function build(files: Record<string, string>, tag: string, extra: string[] = []): string {
    const ctx = makeContext(files);
    suite.track(ctx);
    const r = tsbuild(suite.root, ['build', '-t', tag, ...extra, ctx]);
    assert.equal(r.code, 0, r.stderr);
    return ctx;
  }
  const run = (tag: string, ...cmd: string[]) => {
    const r = tsbuild(suite.root, ['run', '--rm', tag, ...cmd]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const config = (tag: string) => JSON.parse(tsbuild(suite.root, ['inspect', tag]).stdout)[0].Config.config;

  test('COPY --chown and --chmod, directory contents, trailing-slash rules, .dockerignore', (t) => {
    if (!requireSandbox(t)) return;
    build({
      Dockerfile: [
        'FROM busybox',
        'RUN echo "u:x:1234:2345::/:/bin/sh" >> /etc/passwd && echo "g:x:3456:" >> /etc/group',
        'COPY --chown=u:g --chmod=0640 a.txt /dst/',
        'COPY --chown=1000 b.txt /dst/renamed.txt',
        'COPY dir /tree',
        'COPY dir/* /glob/',
        'COPY . /all/',
      ].join('\n'),
      'a.txt': 'a',
      'b.txt': 'b',
      'dir/one': '1',
      'dir/sub/two': '2',
      'secret.key': 'never copied',
      '.dockerignore': '*.key\n',
    }, 'copy:1');
    const out = run('copy:1', 'sh', '-c', 'stat -c "%n %u:%g %a" /dst/a.txt /dst/renamed.txt; ls /tree /tree/sub /glob; ls -a /all');
    assert.match(out, /\/dst\/a.txt 1234:3456 640/);
    assert.match(out, /\/dst\/renamed.txt 1000:1000 644/);
    assert.match(out, /\/tree:\none\nsub\n/);
    assert.match(out, /\/tree\/sub:\ntwo\n/);
    assert.match(out, /\/glob:\none\ntwo\n/, 'a glob copies matched files, and matched directories by content');
    assert.doesNotMatch(out, /secret.key/, '.dockerignore excludes');
    assert.match(out, /\.dockerignore/);
  });

  test('ADD auto-extracts local tar archives (plain and gzip) and copies other files as they are', (t) => {
    if (!requireSandbox(t)) return;
    const src = tempDir('tsb-addsrc-');
    suite.track(src);
    fs.mkdirSync(path.join(src, 'pkg/bin'), { recursive: true });
    fs.writeFileSync(path.join(src, 'pkg/bin/tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
    const ctx = makeContext({ Dockerfile: 'FROM busybox\nADD plain.tar /opt/\nADD zipped.tar.gz /z/\nADD notes.gz /raw/\n' });
    suite.track(ctx);
    assert.equal(spawnSync('tar', ['-cf', path.join(ctx, 'plain.tar'), '-C', src, 'pkg']).status, 0);
    assert.equal(spawnSync('tar', ['-czf', path.join(ctx, 'zipped.tar.gz'), '-C', src, 'pkg']).status, 0);
    assert.equal(spawnSync('sh', ['-c', `echo just text | gzip > ${path.join(ctx, 'notes.gz')}`]).status, 0);
    const r = tsbuild(suite.root, ['build', '-t', 'add:1', ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(run('add:1', '/opt/pkg/bin/tool'), 'tool\n');
    assert.equal(run('add:1', '/z/pkg/bin/tool'), 'tool\n');
    assert.equal(run('add:1', 'sh', '-c', 'ls /raw; zcat /raw/notes.gz'), 'notes.gz\njust text\n');
  });

  test('ENV, ARG scoping, SHELL, exec-form RUN, USER, WORKDIR and --network none', (t) => {
    if (!requireSandbox(t)) return;
    build({
      Dockerfile: [
        'ARG GLOBAL=g1',
        'FROM busybox',
        'ARG GLOBAL',
        'ARG LOCAL=l1',
        'ENV FROM_ARG=${GLOBAL}-${LOCAL} PLAIN="two words"',
        'RUN echo "$GLOBAL $LOCAL" > /args.txt',
        'SHELL ["/bin/sh", "-e", "-c"]',
        'RUN ["/bin/sh", "-c", "echo exec-form > /exec.txt"]',
        'WORKDIR rel',
        'WORKDIR sub',
        'RUN pwd > /pwd.txt',
        'RUN --network=none ip link 2>/dev/null | grep -c "^[0-9]" > /links.txt || cat /proc/net/dev | tail -n +3 | wc -l > /links.txt',
        'USER nobody',
        'RUN id -u > /tmp/uid.txt',
        'CMD cat /args.txt /exec.txt /pwd.txt /tmp/uid.txt',
      ].join('\n'),
    }, 'env:1', ['--build-arg', 'LOCAL=override']);
    assert.equal(run('env:1'), 'g1 override\nexec-form\n/rel/sub\n65534\n');
    const cfg = config('env:1');
    assert.ok(cfg.Env.includes('FROM_ARG=g1-override'));
    assert.ok(cfg.Env.includes('PLAIN=two words'));
    assert.deepEqual(cfg.Cmd, ['/bin/sh', '-e', '-c', 'cat /args.txt /exec.txt /pwd.txt /tmp/uid.txt'], 'shell-form CMD uses SHELL');
    assert.equal(cfg.WorkingDir, '/rel/sub');
    assert.equal(cfg.User, 'nobody');
    assert.equal(run('env:1', 'cat', '/links.txt'), '1\n', 'only loopback with --network=none');
  });

  test('ENTRYPOINT and CMD combine like docker; config-only instructions land in the config', (t) => {
    if (!requireSandbox(t)) return;
    build({
      Dockerfile: [
        'FROM busybox',
        'ENTRYPOINT ["echo", "ep"]',
        'CMD ["default"]',
        'EXPOSE 80 53/udp',
        'VOLUME /data',
        'LABEL a=b "c d"="e f"',
        'STOPSIGNAL SIGQUIT',
        'HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- http://localhost/ || exit 1',
        'ONBUILD RUN echo child',
      ].join('\n'),
    }, 'ep:1');
    assert.equal(run('ep:1'), 'ep default\n');
    assert.equal(run('ep:1', 'given'), 'ep given\n');
    assert.equal(tsbuild(suite.root, ['run', '--rm', '--entrypoint', 'echo', 'ep:1', 'replaced']).stdout, 'replaced\n');
    const cfg = config('ep:1');
    assert.deepEqual(Object.keys(cfg.ExposedPorts).sort(), ['53/udp', '80/tcp']);
    assert.deepEqual(Object.keys(cfg.Volumes), ['/data']);
    assert.deepEqual(cfg.Labels, { a: 'b', 'c d': 'e f' });
    assert.equal(cfg.StopSignal, 'SIGQUIT');
    assert.deepEqual(cfg.Healthcheck.Test, ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1']);
    assert.equal(cfg.Healthcheck.Interval, 5e9);
    assert.equal(cfg.Healthcheck.Retries, 2);
    assert.deepEqual(cfg.OnBuild, ['RUN echo child']);
    // A child image does not inherit the parent's ONBUILD list, and ENTRYPOINT resets an inherited CMD.
    build({ Dockerfile: 'FROM ep:1\nENTRYPOINT ["echo", "child"]\n' }, 'ep:2');
    const child = config('ep:2');
    assert.equal(child.Cmd, null);
    assert.ok(!child.OnBuild || child.OnBuild.length === 0);
    assert.equal(run('ep:2'), 'child\n');
  });

  test('--target builds only up to the named stage; unused stages are skipped', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = makeContext({
      Dockerfile: 'FROM busybox AS one\nRUN echo one > /one\nFROM busybox AS broken\nRUN exit 1\nFROM one AS two\nRUN echo two > /two\n',
    });
    suite.track(ctx);
    const r = tsbuild(suite.root, ['build', '-t', 'tgt:1', '--target', 'two', ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /exit 1/, 'the unused stage never ran');
    assert.equal(run('tgt:1', 'cat', '/one', '/two'), 'one\ntwo\n');
    const first = tsbuild(suite.root, ['build', '-t', 'tgt:0', '--target', 'one', ctx]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(tsbuild(suite.root, ['run', '--rm', 'tgt:0', 'cat', '/two']).code, 1);
  });

  test('a layer repeated in one image, and images deeper than one page of overlay options', (t) => {
    if (!requireSandbox(t)) return;
    build({ Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\n', 'a.txt': 'same\n' }, 'dup:1');
    assert.equal(run('dup:1', 'cat', '/b.txt'), 'same\n');
    const steps = Array.from({ length: 80 }, (_, i) => `RUN echo ${i} > /f${i}`).join('\n');
    build({ Dockerfile: `FROM busybox\n${steps}\n` }, 'deep:1');
    assert.equal(JSON.parse(tsbuild(suite.root, ['inspect', 'deep:1']).stdout)[0].Manifest.layers.length, 81);
    assert.equal(run('deep:1', 'sh', '-c', 'cat /f0 /f79'), '0\n79\n');
  });
});
