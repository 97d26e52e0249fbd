import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { makeContext, removeStore, requireSandbox, storeWithBusybox, tsbuild } from '../helpers/env.js';

// The launcher's find walk of the context (src/context/prewalk.ts) and the digest memo it vouches for
// (src/context/walkmemo.ts), through the real CLI.

const stores: string[] = [];
after(() => stores.forEach(removeStore));

const copySteps = (stderr: string) => stderr.split('\n').filter((l) => /\] COPY /.test(l) && !/DONE/.test(l));

test('the memo of an unchanged context is kept, and a content change that keeps size and mtime still misses', async (t) => {
  if (!requireSandbox(t)) return;
  const root = storeWithBusybox();
  stores.push(root);
  const ctx = makeContext({
    Dockerfile: 'FROM busybox:latest\nCOPY src/ /src/\nCOPY . /all/\n',
    'src/a.txt': 'aaaa\n',
    'src/b.txt': 'bbbb\n',
    'other.txt': 'other\n',
  });
  // the memo is kept only for trees whose entries are older than the stat cache's racy window (3 s)
  await new Promise((r) => setTimeout(r, 3300));
  const build = (env: Record<string, string> = {}) => {
    const b = tsbuild(root, ['build', '--progress', 'plain', '-t', 'pw:1', ctx], { env });
    assert.equal(b.code, 0, b.stderr);
    return b.stderr;
  };
  build();
  const memoFiles = fs.readdirSync(path.join(root, 'context-cache')).filter((n) => n.endsWith('.walk.json'));
  assert.equal(memoFiles.length, 1, 'a memo for the context');
  const memo = JSON.parse(fs.readFileSync(path.join(root, 'context-cache', memoFiles[0]!), 'utf8'));
  assert.equal(Object.keys(memo.digests).length, 2, 'one digest per COPY');

  for (const l of copySteps(build())) assert.match(l, /CACHED/, 'unchanged context: every COPY hits');
  // the build's own walk (no launcher walk) gives the same keys
  for (const l of copySteps(build({ TSBUILD_PREWALK: '0' }))) assert.match(l, /CACHED/, 'same keys without the prewalk');

  // same size, same mtime, new content: only the ctime tells (and find reports it)
  const file = path.join(ctx, 'src/a.txt');
  const before = fs.statSync(file);
  const ref = path.join(ctx, '..', `${path.basename(ctx)}.ref`);
  execFileSync('cp', ['-p', file, ref]); // keeps the nanoseconds, which utimes with a Date would not
  fs.writeFileSync(file, 'AAAA\n');
  execFileSync('touch', ['-r', ref, file]);
  fs.rmSync(ref);
  assert.equal(fs.statSync(file).mtimeMs, before.mtimeMs);
  const steps = copySteps(build());
  assert.ok(steps.length === 2 && steps.every((l) => !/CACHED/.test(l)), `both COPY steps run again:\n${steps.join('\n')}`);
  const r = tsbuild(root, ['run', '--rm', 'pw:1', 'cat', '/src/a.txt', '/all/src/a.txt']);
  assert.equal(r.stdout, 'AAAA\nAAAA\n');
  fs.rmSync(ctx, { recursive: true, force: true });
});

test('a build whose context is not its last argument, or not a directory, walks it itself', async (t) => {
  if (!requireSandbox(t)) return;
  const root = storeWithBusybox();
  stores.push(root);
  const ctx = makeContext({ Dockerfile: 'FROM busybox:latest\nCOPY . /c/\n', 'f.txt': 'f\n' });
  let b = tsbuild(root, ['build', ctx, '-t', 'pw:2']);
  assert.equal(b.code, 0, b.stderr);
  b = tsbuild(root, ['build', '-t', 'pw:2', ctx]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /CACHED.*COPY \. \/c\//, 'same key either way');
  assert.equal(fs.readdirSync('/tmp').filter((n) => n.startsWith('.tsbuild-prewalk')).length, 0, 'no walk file left behind');
  fs.rmSync(ctx, { recursive: true, force: true });
});

test('what the launcher prunes by .dockerignore is not trusted for a build whose own ignore file keeps it', async (t) => {
  if (!requireSandbox(t)) return;
  const root = storeWithBusybox();
  stores.push(root);
  const ctx = makeContext({
    Dockerfile: 'FROM busybox:latest\nCOPY . /c/\n',
    'Dockerfile.dockerignore': 'nothing-here\n', // the Dockerfile's own rules win over .dockerignore
    '.dockerignore': 'big\n',
    'big/data.txt': 'one\n',
  });
  await new Promise((r) => setTimeout(r, 3300)); // past the racy window, so a memo would be kept
  for (let i = 0; i < 2; i++) assert.equal(tsbuild(root, ['build', '-t', 'pw:3', ctx]).code, 0);
  fs.writeFileSync(path.join(ctx, 'big/data.txt'), 'two\n');
  const b = tsbuild(root, ['build', '--progress', 'plain', '-t', 'pw:3', ctx]);
  assert.equal(b.code, 0, b.stderr);
  assert.doesNotMatch(b.stderr, /CACHED.*COPY \. \/c\//, 'the change below the pruned dir is seen');
  assert.equal(tsbuild(root, ['run', '--rm', 'pw:3', 'cat', '/c/big/data.txt']).stdout, 'two\n');
  fs.rmSync(ctx, { recursive: true, force: true });
});
