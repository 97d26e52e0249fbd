import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { listLayerEntries } from '../../src/layer/index.js';
import { makeContext, requireSandbox, tempDir, suiteStore, tsbuild } from '../helpers/env.js';

/** COPY/ADD at BuildKit parity, checked by running the image and by reading the layers. */
describe('COPY and ADD', () => {
  const suite = suiteStore();
  const ctxOf = (files: Record<string, string>) => {
    const c = makeContext(files);
    suite.track(c);
    return c;
  };
  const build = (ctx: string, tag: string) => tsbuild(suite.root, ['build', '-t', tag, ctx]);
  const buildOk = (ctx: string, tag: string) => {
    const r = build(ctx, tag);
    assert.equal(r.code, 0, r.stderr);
  };
  const sh = (tag: string, script: string) => {
    const r = tsbuild(suite.root, ['run', '--rm', tag, 'sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const lastLayer = async (tag: string) => {
    const [info] = JSON.parse(tsbuild(suite.root, ['inspect', tag]).stdout);
    const last = info.Manifest.layers[info.Manifest.layers.length - 1].digest as string;
    const entries = await listLayerEntries(fs.createReadStream(path.join(suite.root, 'blobs/sha256', last.slice(7))));
    return entries;
  };

  test('globs, several sources, directory contents, trailing-slash rules, WORKDIR-relative dest', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({
      Dockerfile: [
        'FROM busybox',
        'WORKDIR /w',
        'COPY a.txt b.txt multi/',
        'COPY *.txt /globfile',
        'COPY [ab].txt /cls/',
        'COPY nomatch* /none/',
        'COPY dir /tree',
        'COPY dir/* /star/',
        'COPY ../../a.txt rel',
        'COPY a.txt .',
        'COPY a.txt ./dot/',
        'COPY a.txt ..',
        'RUN mkdir /existing',
        'COPY a.txt /existing',
        'COPY arr[[]0].txt /esc/',
      ].join('\n'),
      'a.txt': 'a', 'b.txt': 'b', 'arr[0].txt': 'arr', 'dir/one': '1', 'dir/sub/two': '2',
    });
    buildOk(ctx, 'cp:glob');
    const out = sh('cp:glob', 'ls /w/multi /cls /tree /tree/sub /star /w /w/dot /esc; cat /globfile; echo; ls /a.txt /existing/a.txt; test -e /none || echo no-none');
    assert.match(out, /\/w\/multi:\na.txt\nb.txt\n/);
    assert.match(out, /\/cls:\na.txt\nb.txt\n/);
    assert.match(out, /\/tree:\none\nsub\n/);
    assert.match(out, /\/star:\none\ntwo\n/, 'a glob copies matched files, and matched directories by content');
    assert.match(out, /\/w:\na.txt\ndot\nmulti\nrel\n/);
    assert.match(out, /\/esc:\narr\[0\].txt\n/);
    assert.match(out, /\nb\n/, 'several glob matches onto a file path: the last one wins (BuildKit)');
    assert.match(out, /\/a.txt\n\/existing\/a.txt\n/);
    assert.match(out, /no-none/, 'a wildcard matching nothing is not an error and creates nothing (BuildKit: AllowEmptyWildcard)');
    const missing = build(ctxOf({ Dockerfile: 'FROM busybox\nCOPY missing /x/\n' }), 'cp:missing');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /missing.*not found/);
  });

  test('--chown names via /etc/passwd and /etc/group, --chmod octal and symbolic, created parents', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({
      Dockerfile: [
        'FROM busybox',
        'RUN echo "u:x:1234:2345::/:/bin/sh" >> /etc/passwd && echo "g:x:3456:" >> /etc/group',
        'COPY --chown=u a /x/y/z/',
        'COPY --chown=1:g --chmod=700 dir /newdir',
        'COPY --chown=u:3 dir /n2/',
        'COPY --chmod=u=rwX,go=rX dir /sym/',
        'COPY --chmod=+x a /plusx',
        'COPY --chown=7 a /numeric',
      ].join('\n'),
      a: 'a', 'dir/sub/f': 'f',
    });
    buildOk(ctx, 'cp:own');
    const out = sh('cp:own', 'cd / && find x newdir n2 sym plusx numeric | sort | xargs stat -c "%n %u:%g %a"');
    assert.match(out, /^x 1234:2345 755$/m, 'user name alone: uid and primary gid from passwd (BuildKit)');
    assert.match(out, /^x\/y\/z 1234:2345 755$/m, 'created parents owned per --chown');
    assert.match(out, /^x\/y\/z\/a 1234:2345 644$/m);
    assert.match(out, /^newdir 1:3456 700$/m);
    assert.match(out, /^newdir\/sub 1:3456 700$/m);
    assert.match(out, /^newdir\/sub\/f 1:3456 700$/m);
    assert.match(out, /^n2\/sub\/f 1234:3 644$/m);
    assert.match(out, /^sym\/sub 0:0 755$/m);
    assert.match(out, /^sym\/sub\/f 0:0 644$/m);
    assert.match(out, /^plusx 0:0 755$/m);
    assert.match(out, /^numeric 7:7 644$/m, 'numeric uid alone: gid = uid');
    const unknown = build(ctxOf({ Dockerfile: 'FROM busybox\nCOPY --chown=nosuch a /a\n', a: 'a' }), 'cp:unknown');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unable to find user nosuch/);
  });

  test('symlinks: sources followed inside the context, links inside dirs kept, destinations resolved inside the rootfs', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({
      Dockerfile: [
        'FROM busybox',
        'RUN mkdir /real && ln -s /real /lnk && ln -s ../../../../../tmp /esc',
        'COPY pw /pw',
        'COPY subl /subl/',
        'COPY sub /subd/',
        'COPY a /lnk/',
        'COPY a /esc/b',
      ].join('\n'),
      'etc/passwd': 'inside\n', 'sub/f': 's', a: 'a',
    });
    fs.symlinkSync('/etc/passwd', path.join(ctx, 'pw'));
    fs.symlinkSync('sub', path.join(ctx, 'subl'));
    fs.symlinkSync('f', path.join(ctx, 'sub/lf'));
    buildOk(ctx, 'cp:sym');
    const out = sh('cp:sym', 'cat /pw; readlink /subd/lf; readlink /subl/lf; ls /real; ls /tmp/b; test -L /lnk && echo lnk-kept');
    assert.match(out, /^inside\nf\nf\na\n\/tmp\/b\nlnk-kept\n$/);
    const escape = ctxOf({ Dockerfile: 'FROM busybox\nCOPY out /out\n' });
    fs.symlinkSync('../../../../../etc/hostname', path.join(escape, 'out'));
    const r = build(escape, 'cp:escape');
    assert.notEqual(r.code, 0, 'a link out of the context resolves inside it (and is missing there)');
    assert.match(r.stderr, /not found/);
  });

  test('--link, --parents, --exclude', async (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({
      Dockerfile: [
        'FROM busybox',
        'RUN mkdir /real && ln -s /real /lnk',
        'COPY --parents x/a.txt y/a.txt /parents/',
        'COPY --parents ./x/./deep/*.txt /pivot/',
        'COPY --parents src/**/*.txt /stars/',
        'COPY --exclude=*.md --exclude=sub/skip hom* /ex/',
        'COPY --link a.txt /lnk/',
      ].join('\n'),
      'a.txt': 'a', 'x/a.txt': 'xa', 'y/a.txt': 'ya', 'x/deep/b.txt': 'b', 'src/a.txt': '1', 'src/q/b.txt': '2', 'src/q/c.md': 'no',
      'home.txt': 'h', 'home.md': 'm', 'homedir/sub/skip': 's', 'homedir/sub/keep': 'k', 'homedir/r.md': 'r',
    });
    buildOk(ctx, 'cp:flags');
    const out = sh('cp:flags', 'cd / && find parents pivot stars ex lnk real | sort');
    assert.deepEqual(out.trim().split('\n'), [
      'ex', 'ex/home.txt', 'ex/sub', 'ex/sub/keep',
      'lnk', 'lnk/a.txt',
      'parents', 'parents/x', 'parents/x/a.txt', 'parents/y', 'parents/y/a.txt',
      'pivot', 'pivot/deep', 'pivot/deep/b.txt',
      'real',
      'stars', 'stars/src', 'stars/src/a.txt', 'stars/src/q', 'stars/src/q/b.txt',
    ]);
    const names = (await lastLayer('cp:flags')).map((e) => e.name.replace(/\/$/, ''));
    assert.deepEqual(names.sort(), ['lnk', 'lnk/a.txt'], 'a --link layer holds only the copied files and their parent dirs');
  });

  test('.dockerignore at docker level and <Dockerfile>.dockerignore precedence', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({
      Dockerfile: 'FROM busybox\nCOPY . /all/\n',
      '.dockerignore': '**/*.key\n/build/\n./tmp\ndir\n!dir/sub/keep\n',
      'a.key': 'k', 'deep/b.key': 'k', 'build/out': 'o', 'tmp/t': 't', 'dir/x': 'x', 'dir/sub/keep': 'keep', 'dir/sub/drop': 'd', ok: 'ok',
    });
    buildOk(ctx, 'cp:ign');
    const out = sh('cp:ign', 'cd /all && find . | sort');
    assert.deepEqual(out.trim().split('\n'), ['.', './.dockerignore', './Dockerfile', './deep', './dir', './dir/sub', './dir/sub/keep', './ok']);
  });

  test('ADD: local archives by content, .gz that is not a tar, --chown on extracted files', (t) => {
    if (!requireSandbox(t)) return;
    const src = tempDir('tsb-addsrc-');
    suite.track(src);
    fs.mkdirSync(path.join(src, 'pkg'));
    fs.writeFileSync(path.join(src, 'pkg/tool'), 't');
    const ctx = ctxOf({ Dockerfile: 'FROM busybox\nADD --chown=5:6 a.tgz /y\nADD a.bz2 /b/\nADD a.xz /x/\nADD notes.gz /raw/\nADD dir /keep/\n' });
    fs.mkdirSync(path.join(ctx, 'dir'));
    assert.equal(spawnSync('tar', ['-czf', path.join(ctx, 'a.tgz'), '-C', src, 'pkg']).status, 0);
    assert.equal(spawnSync('tar', ['-cjf', path.join(ctx, 'a.bz2'), '-C', src, 'pkg']).status, 0);
    assert.equal(spawnSync('tar', ['-cJf', path.join(ctx, 'a.xz'), '-C', src, 'pkg']).status, 0);
    fs.copyFileSync(path.join(ctx, 'a.tgz'), path.join(ctx, 'dir/inner.tgz'));
    assert.equal(spawnSync('sh', ['-c', `echo just text | gzip > ${path.join(ctx, 'notes.gz')}`]).status, 0);
    buildOk(ctx, 'cp:add');
    const out = sh('cp:add', 'stat -c "%n %u:%g" /y/pkg/tool; cat /b/pkg/tool /x/pkg/tool; echo; ls /raw; ls /keep');
    assert.match(out, /^\/y\/pkg\/tool 5:6\ntt\nnotes.gz\ninner.tgz\n$/);
  });

  test('ADD of an http URL: naming, Last-Modified, --checksum, --chmod; git URLs are not implemented', async (t) => {
    if (!requireSandbox(t)) return;
    const body = 'payload\n';
    // The CLI runs synchronously, so the server lives in its own process (on 127.0.0.1 only).
    const script = `const http=require('http');const s=http.createServer((q,r)=>{r.setHeader('Last-Modified','Wed, 21 Oct 2015 07:28:00 GMT');r.end(q.url==='/'?'root\\n':${JSON.stringify(body)})});s.listen(0,'127.0.0.1',()=>console.log(s.address().port));`;
    const server = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) => server.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    try {
      const base = `http://127.0.0.1:${port}`;
      const sum = `sha256:${(await import('node:crypto')).createHash('sha256').update(body).digest('hex')}`;
      const ctx = ctxOf({
        Dockerfile: `FROM busybox\nADD ${base}/files/data.bin /d/\nADD --checksum=${sum} --chmod=640 --chown=3:4 ${base}/files/x.tar.gz /named\nADD ${base}/ /u/\n`,
      });
      const r = tsbuild(suite.root, ['build', '-t', 'cp:http', ctx]);
      assert.equal(r.code, 0, r.stderr);
      const out = sh('cp:http', 'stat -c "%n %a %u:%g %Y" /d/data.bin /named /u/__unnamed__; cat /named');
      assert.equal(out, `/d/data.bin 600 0:0 1445412480\n/named 640 3:4 1445412480\n/u/__unnamed__ 600 0:0 1445412480\n${body}`);
      const bad = ctxOf({ Dockerfile: `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} ${base}/f /f\n` });
      const b = tsbuild(suite.root, ['build', bad]);
      assert.notEqual(b.code, 0);
      assert.match(b.stderr, /digest mismatch/);
      const git = tsbuild(suite.root, ['build', ctxOf({ Dockerfile: 'FROM busybox\nADD https://github.com/a/b.git /src\n' })]);
      assert.notEqual(git.code, 0);
      assert.match(git.stderr, /not supported/);
    } finally {
      server.kill();
    }
  });

  test('COPY <<EOF heredocs: named by dest, several, expanded with the stage variables', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({
      Dockerfile: 'FROM busybox\nARG V=val\nENV E=env\nCOPY <<EOF /h1\n"$V" \'$E\' \\$V ${E:-x}\nEOF\nCOPY <<one <<"two" /hd/\na $V\none\nb $V\ntwo\n',
    });
    buildOk(ctx, 'cp:heredoc');
    const out = sh('cp:heredoc', 'stat -c "%n %a" /h1 /hd/one /hd/two; cat /h1 /hd/one /hd/two');
    assert.equal(out, '/h1 644\n/hd/one 644\n/hd/two 644\n"val" \'env\' $V env\na val\nb $V\n');
  });

  test('cache keys cover flags and inputs', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({ Dockerfile: 'FROM busybox\nCOPY --exclude=*.md . /c/\n', 'a.txt': 'a', 'b.md': 'b' });
    buildOk(ctx, 'cp:cache');
    const again = build(ctx, 'cp:cache');
    assert.match(again.stderr + again.stdout, /CACHED/);
    fs.writeFileSync(path.join(ctx, 'b.md'), 'changed but excluded');
    const excluded = build(ctx, 'cp:cache');
    assert.match(excluded.stderr + excluded.stdout, /CACHED/, 'an excluded file does not bust the cache');
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY --exclude=*.txt . /c/\n');
    const changed = build(ctx, 'cp:cache');
    assert.doesNotMatch(changed.stderr + changed.stdout, /CACHED/);
  });
});
