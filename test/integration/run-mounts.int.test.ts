import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { listLayerEntries } from '../../src/layer/index.js';
import { REPO, makeContext, removeStore, requireSandbox, storeWithBusybox, tempDir, tsbuild, type CliResult } from '../helpers/env.js';

/** RUN --mount (bind, cache, tmpfs, secret, ssh) and RUN heredocs, built with the real CLI and checked in the image. */
describe('RUN --mount and heredocs', () => {
  let root = '';
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  before(() => {
    if (process.getuid?.() === 0) root = storeWithBusybox();
  });
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (root) removeStore(root);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const context = (files: Record<string, string>) => {
    const ctx = makeContext(files);
    dirs.push(ctx);
    return ctx;
  };
  const build = (ctx: string, tag: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): CliResult => {
    const r = spawnSync(path.join(REPO, 'bin/tsbuild'), ['--root', root, 'build', '--progress', 'plain', '-t', tag, ...extra, ctx], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, ...env },
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (r: CliResult) => {
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  const buildAsync = (ctx: string, tag: string, extra: string[] = []): Promise<CliResult> =>
    new Promise((resolve) => {
      const child = spawn(path.join(REPO, 'bin/tsbuild'), ['--root', root, 'build', '--progress', 'plain', '-t', tag, ...extra, ctx]);
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  const run = (tag: string, script: string) => {
    const r = tsbuild(root, ['run', '--rm', tag, 'sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const inspect = (tag: string) => JSON.parse(tsbuild(root, ['inspect', tag]).stdout)[0];
  const createdBy = (tag: string): string[] => (inspect(tag).Config.history as Array<{ created_by: string }>).map((h) => h.created_by);
  const layerFiles = (tag: string): string[] => (inspect(tag).Manifest.layers as Array<{ digest: string }>).map((l) => path.join(root, 'blobs/sha256', l.digest.slice(7)));
  /** Entries of the layers the build added on top of busybox (one per step). */
  const stepLayers = async (tag: string) => {
    const out: string[][] = [];
    for (const f of layerFiles(tag).slice(1)) out.push((await listLayerEntries(fs.createReadStream(f))).map((e) => e.name));
    return out;
  };
  /** Every byte of every layer, uncompressed, plus the config and manifest. */
  const imageBytes = (tag: string) => {
    const info = inspect(tag);
    // base layers are gzip, build layers plain tars (ops/layers.ts)
    const plain = (b: Buffer) => (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b);
    return Buffer.concat([...layerFiles(tag).map((f) => plain(fs.readFileSync(f))), Buffer.from(JSON.stringify(info))]);
  };

  test('bind mounts: context and stage sources, read-only by default, rw writes discarded, nothing in the layer', async (t) => {
    if (!requireSandbox(t)) return;
    const ctx = context({
      Dockerfile: [
        'FROM busybox AS data',
        'RUN mkdir -p /data && echo from-stage > /data/s.txt',
        'FROM busybox',
        'RUN --mount=type=bind,source=dir,target=/mnt/ctx cat /mnt/ctx/a.txt > /ctx-seen && if touch /mnt/ctx/x 2>/dev/null; then exit 9; fi',
        'RUN --mount=type=bind,from=data,source=/data,target=/mnt/st cat /mnt/st/s.txt > /stage-seen && if touch /mnt/st/x 2>/dev/null; then exit 9; fi',
        'RUN --mount=type=bind,from=data,source=/data,target=/mnt/rw,rw echo changed > /mnt/rw/s.txt && touch /mnt/rw/new && cat /mnt/rw/s.txt > /rw-seen',
        'RUN --mount=type=bind,from=data,source=/data,target=/mnt/rw ls /mnt/rw > /rw-after && cat /mnt/rw/s.txt >> /rw-after',
        'RUN --mount=type=bind,target=/src,rw --mount=type=bind,source=dir/a.txt,target=/bin/a.txt ls -A /src > /whole && cat /bin/a.txt >> /whole && touch /src/dir/scratch',
        'RUN --mount=type=bind,source=dir,target=/mnt/empty true',
      ].join('\n'),
      'dir/a.txt': 'hello from context\n',
      'other.txt': 'unrelated',
      secret: 'ignored',
      '.dockerignore': 'secret\n',
    });
    ok(build(ctx, 'bind:1'));
    assert.equal(run('bind:1', 'cat /ctx-seen /stage-seen /rw-seen /rw-after'), 'hello from context\nfrom-stage\nchanged\ns.txt\nfrom-stage\n');
    assert.equal(run('bind:1', 'cat /whole'), '.dockerignore\nDockerfile\ndir\nother.txt\nhello from context\n', '.dockerignore applies to a bound context');
    assert.equal(run('bind:1', 'ls -d /mnt /src /bin/a.txt 2>&1; true'), "ls: /mnt: No such file or directory\nls: /src: No such file or directory\nls: /bin/a.txt: No such file or directory\n");
    assert.ok(!fs.existsSync(path.join(ctx, 'dir/scratch')), 'rw writes never reach the context');
    // Only what the RUNs wrote: no mount stubs (/mnt, /src, /bin/a.txt), no copied-up /bin, no rw writes.
    assert.deepEqual(await stepLayers('bind:1'), [['ctx-seen'], ['stage-seen'], ['rw-seen'], ['rw-after'], ['whole'], []]);
    // Cache key: the bound content counts, other context files do not.
    fs.writeFileSync(path.join(ctx, 'other.txt'), 'changed but not bound');
    const again = ok(build(ctx, 'bind:2'));
    assert.match(again.stdout + again.stderr, /CACHED \[stage-1 1\/6\] RUN --mount=type=bind,source=dir/);
    fs.writeFileSync(path.join(ctx, 'dir/a.txt'), 'new content\n');
    const changed = ok(build(ctx, 'bind:3'));
    assert.doesNotMatch(changed.stdout + changed.stderr, /CACHED \[stage-1 1\/6\]/);
    assert.equal(run('bind:3', 'cat /ctx-seen'), 'new content\n');
  });

  test('cache mounts persist across builds, stay out of the image, and honour id, uid/gid/mode and ro', async (t) => {
    if (!requireSandbox(t)) return;
    const ctx = context({
      Dockerfile: [
        'FROM busybox',
        'ARG N',
        'RUN --mount=type=cache,target=/var/cache/app echo "build $N" >> /var/cache/app/log && cat /var/cache/app/log > /seen',
        'RUN --mount=type=cache,id=shared-id,target=/other,uid=1234,gid=2345,mode=0750 stat -c "%u %g %a" /other > /owner',
        'RUN --mount=type=cache,target=/var/cache/app,ro cat /var/cache/app/log > /ro-seen && if touch /var/cache/app/x 2>/dev/null; then exit 9; fi',
      ].join('\n'),
    });
    ok(build(ctx, 'cache:1', ['--build-arg', 'N=1']));
    assert.equal(run('cache:1', 'cat /seen'), 'build 1\n');
    ok(build(ctx, 'cache:2', ['--build-arg', 'N=2']));
    assert.equal(run('cache:2', 'cat /seen'), 'build 1\nbuild 2\n', 'the second build sees what the first wrote');
    assert.equal(run('cache:2', 'cat /owner /ro-seen'), '1234 2345 750\nbuild 1\nbuild 2\n');
    assert.equal(run('cache:2', 'ls -a /var/cache 2>&1; ls /other 2>&1; true'), 'ls: /var/cache: No such file or directory\nls: /other: No such file or directory\n');
    for (const l of await stepLayers('cache:2')) assert.ok(!l.some((n) => n.startsWith('var') || n.startsWith('other')), `cache content leaked: ${l.join(' ')}`);
    assert.ok(fs.readdirSync(path.join(root, 'cache-mounts')).length >= 2, 'caches live in <root>/cache-mounts');
  });

  /** Two builds at once on one cache id: each RUN marks the cache busy for 2s and records any overlap it sees. */
  async function concurrent(sharing: string, tag: string): Promise<string> {
    const ctx = context({
      Dockerfile: [
        'FROM busybox',
        'ARG N',
        `RUN --mount=type=cache,id=conc-${tag},target=/c,sharing=${sharing} ` +
          // each build marks itself busy for 2 s and, before leaving, looks for another's mark: two builds
          // that start in the same instant (a check-then-touch would miss them) still see each other. busybox
          // ls stats what it read: a mark the other build removes in between fails it, hence the `|| true`
          'touch /c/busy-$N /c/seen-$N; sleep 2; if ls /c | grep "^busy-" | grep -qv "^busy-$N$"; then echo "overlap $N" >> /c/overlap; fi; rm /c/busy-$N; ls /c > /listing 2>/dev/null || true',
      ].join('\n'),
    });
    const [a, b] = await Promise.all([buildAsync(ctx, `${tag}:a`, ['--build-arg', 'N=a']), buildAsync(ctx, `${tag}:b`, ['--build-arg', 'N=b'])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    return run(`${tag}:a`, 'cat /listing') + '|' + run(`${tag}:b`, 'cat /listing');
  }

  test('sharing=locked serialises concurrent builds (shared, the control, overlaps)', async (t) => {
    if (!requireSandbox(t)) return;
    const shared = await concurrent('shared', 'shared');
    assert.match(shared, /overlap/, `shared mounts are used at the same time: ${shared}`);
    const locked = await concurrent('locked', 'locked');
    assert.doesNotMatch(locked, /overlap/, `locked mounts are never used at the same time: ${locked}`);
    const lists = locked.split('|');
    assert.ok(lists.some((l) => l.includes('seen-a') && l.includes('seen-b')), 'the second locked build sees the first one\'s file');
  });

  test('sharing=private gives concurrent builds separate cache dirs', async (t) => {
    if (!requireSandbox(t)) return;
    const out = await concurrent('private', 'private');
    assert.doesNotMatch(out, /overlap/);
    const [a, b] = out.split('|');
    assert.match(a!, /seen-a/);
    assert.doesNotMatch(a!, /seen-b/);
    assert.match(b!, /seen-b/);
    assert.doesNotMatch(b!, /seen-a/);
  });

  test('tmpfs mounts: a size-limited tmpfs, not in the layer', async (t) => {
    if (!requireSandbox(t)) return;
    const ctx = context({
      Dockerfile: 'FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=2m df -k /scratch | tail -1 > /df && echo x > /scratch/file && mount | grep " /scratch " >> /df\n',
    });
    ok(build(ctx, 'tmpfs:1'));
    const df = run('tmpfs:1', 'cat /df; ls /scratch 2>&1; true');
    assert.match(df, /^tmpfs\s+2048\s/);
    assert.match(df, /tmpfs on \/scratch type tmpfs/);
    assert.match(df, /ls: \/scratch: No such file or directory/);
    assert.deepEqual((await stepLayers('tmpfs:1'))[0]!.filter((n) => n !== 'df'), []);
  });

  test('secrets from a file and from the environment: readable in the RUN, never in layers, history or cache key', async (t) => {
    if (!requireSandbox(t)) return;
    const dir = tempDir('tsb-secret-');
    dirs.push(dir);
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'file-secret-VALUE-1');
    const ctx = context({
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,id=tok --mount=type=secret,id=tok,target=/etc/custom,mode=0440,uid=7,gid=8 ' +
          '--mount=type=secret,id=envtok,env=MY_TOKEN --mount=type=secret,id=envtok,target=/run/secrets/also ' +
          'stat -c "%a %u:%g" /run/secrets/tok /etc/custom > /perm && ' +
          'test "$(cat /etc/custom)" = "$(cat /run/secrets/tok)" && test -n "$MY_TOKEN" && test "$MY_TOKEN" = "$(cat /run/secrets/also)" && ' +
          'md5sum /run/secrets/tok | cut -c1-8 > /seen && echo "$MY_TOKEN" | md5sum | cut -c1-8 >> /seen',
      ].join('\n'),
    });
    ok(build(ctx, 'secret:1', ['--secret', `id=tok,src=${file}`, '--secret', 'id=envtok,env=TSB_TEST_TOKEN'], { TSB_TEST_TOKEN: 'env-secret-VALUE-2' }));
    assert.equal(run('secret:1', 'cat /perm'), '400 0:0\n440 7:8\n');
    const md5 = (s: string) => spawnSync('sh', ['-c', 'md5sum | cut -c1-8'], { input: s, encoding: 'utf8' }).stdout;
    assert.equal(run('secret:1', 'cat /seen'), md5('file-secret-VALUE-1') + md5('env-secret-VALUE-2\n'));
    const bytes = imageBytes('secret:1');
    for (const v of ['file-secret-VALUE-1', 'env-secret-VALUE-2']) assert.ok(!bytes.includes(v), `${v} leaked into the image`);
    assert.equal(run('secret:1', 'ls /run/secrets /etc/custom 2>&1; true'), 'ls: /run/secrets: No such file or directory\nls: /etc/custom: No such file or directory\n');
    assert.ok(!createdBy('secret:1').some((h) => h.includes('VALUE')));
    // Another secret value is still a cache hit: values never enter the key.
    fs.writeFileSync(file, 'file-secret-OTHER');
    const again = ok(build(ctx, 'secret:2', ['--secret', `id=tok,src=${file}`, '--secret', 'id=envtok,env=TSB_TEST_TOKEN'], { TSB_TEST_TOKEN: 'different' }));
    assert.match(again.stdout + again.stderr, /CACHED \[stage-0 1\/1\]/);
    for (const f of fs.readdirSync(path.join(root, 'cache'))) assert.ok(!fs.readFileSync(path.join(root, 'cache', f), 'utf8').includes('VALUE'));
  });

  test('a missing required secret or ssh fails with the Dockerfile line; optional ones are skipped', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo one\nRUN --mount=type=secret,id=needed,required cat /run/secrets/needed\n' });
    const r = build(ctx, 'req:1');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /secret needed not found/);
    assert.match(r.stderr, /Dockerfile:3/);
    const ssh = context({ Dockerfile: 'FROM busybox\nRUN --mount=type=ssh,id=git,required=true true\n' });
    const s = build(ssh, 'req:2');
    assert.equal(s.code, 1, s.stderr);
    assert.match(s.stderr, /no SSH key "git"/);
    assert.match(s.stderr, /Dockerfile:2/);
    const optional = context({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=maybe if [ -e /run/secrets/maybe ]; then exit 3; fi\n' });
    ok(build(optional, 'req:3'));
    const bad = context({ Dockerfile: 'FROM busybox\nRUN --mount=type=bind,mode=0600,target=/x true\n' });
    const b = build(bad, 'req:4');
    assert.equal(b.code, 1);
    assert.match(b.stderr, /mode not allowed for "bind" type mounts/);
  });

  test('ssh: an agent socket and key files are forwarded, SSH_AUTH_SOCK is set', async (t) => {
    if (!requireSandbox(t, ['ssh-agent', 'ssh-add', 'ssh-keygen'])) return;
    const dir = tempDir('tsb-ssh-');
    dirs.push(dir);
    const sock = path.join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    children.push(agent);
    for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 10));
    const key = path.join(dir, 'id_ed25519');
    assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status, 0);
    const ctx = context({
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock && stat -c "%a %u" "$SSH_AUTH_SOCK" >> /sock',
        'RUN --mount=type=ssh,id=key,target=/tmp/agent,mode=0666,uid=5 test -S /tmp/agent && echo "$SSH_AUTH_SOCK" > /sock2 && stat -c "%a %u" /tmp/agent >> /sock2',
      ].join('\n'),
    });
    ok(build(ctx, 'ssh:1', ['--ssh', `default=${sock}`, '--ssh', `key=${key}`]));
    assert.equal(run('ssh:1', 'cat /sock /sock2'), '/run/buildkit/ssh_agent.0\n600 0\n/tmp/agent\n666 5\n');
    assert.equal(run('ssh:1', 'ls /run /tmp/agent 2>&1; true'), 'ls: /run: No such file or directory\nls: /tmp/agent: No such file or directory\n');
    agent.kill();
  });

  test('heredocs: scripts, shebang scripts, redirections, several heredocs, <<- and quoted delimiters', async (t) => {
    if (!requireSandbox(t)) return;
    const ctx = context({
      Dockerfile: [
        'FROM busybox',
        'ARG WHO=world',
        'RUN <<EOF',
        'echo "script $WHO" > /h1',
        'echo second line >> /h1',
        'EOF',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "shebang $0 $WHO" > /h2',
        'EOF',
        'RUN cat <<EOF > /h3',
        'hello $WHO',
        'EOF',
        'RUN cat <<A > /h4 && cat <<B > /h5',
        'one',
        'A',
        'two',
        'B',
        'RUN cat <<-EOF > /h6',
        '\tindented $WHO',
        '\tEOF',
        "RUN cat <<'EOF' > /h7",
        'literal $WHO',
        'EOF',
        'RUN <<EOF sh',
        'echo "piped to sh" > /h8',
        'EOF',
      ].join('\n'),
    });
    ok(build(ctx, 'heredoc:1'));
    assert.equal(
      run('heredoc:1', 'for f in /h1 /h2 /h3 /h4 /h5 /h6 /h7 /h8; do cat $f; done'),
      'script world\nsecond line\nshebang /dev/pipes/EOF world\nhello world\none\ntwo\nindented world\nliteral $WHO\npiped to sh\n',
    );
    assert.equal(run('heredoc:1', 'ls /dev/pipes 2>&1; true'), 'ls: /dev/pipes: No such file or directory\n');
    // (BuildKit prefixes `|N ARG=value` when build args are in scope; compare the rest.)
    const hist = createdBy('heredoc:1').filter((h) => h.startsWith('RUN')).map((h) => h.replace(/^RUN \|\d+ (?:\S+=\S* )*/, 'RUN '));
    assert.deepEqual(hist.slice(0, 4), [
      'RUN /bin/sh -c echo "script $WHO" > /h1\necho second line >> /h1\n # buildkit',
      'RUN /bin/sh -c /dev/pipes/EOF # buildkit',
      'RUN /bin/sh -c cat <<EOF > /h3\nhello $WHO\nEOF # buildkit',
      'RUN /bin/sh -c cat <<A > /h4 && cat <<B > /h5\none\nA\ntwo\nB # buildkit',
    ]);
  });
});
