import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { statCacheFile } from '../../src/context/index.js';
import { makeContext, requireSandbox, suiteStore, tsbuild } from '../helpers/env.js';

/** The persistent context stat cache: unchanged files are not re-read, and a content change always misses. */
describe('context stat cache', () => {
  const suite = suiteStore();
  const DOCKERFILE = ['FROM busybox', 'COPY a.txt /app/', 'COPY . /app/', ''].join('\n');
  const ctxOf = (files: Record<string, string>) => {
    const c = makeContext({ Dockerfile: DOCKERFILE, ...files });
    suite.track(c);
    return c;
  };
  /** Builds and tells which COPY steps came from the cache. */
  const build = (ctx: string, tag = 'sc:1') => {
    const r = tsbuild(suite.root, ['build', '--progress', 'plain', '-t', tag, ctx]);
    assert.equal(r.code, 0, r.stderr);
    return { first: /CACHED \[stage-0 \d+\/\d+\] COPY a\.txt/.test(r.stderr), second: /CACHED \[stage-0 \d+\/\d+\] COPY \. \/app\//.test(r.stderr) };
  };
  const cat = (file: string, tag = 'sc:1') => {
    const r = tsbuild(suite.root, ['run', '--rm', tag, 'cat', file]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const touch = (file: string, secondsAhead: number) => {
    const t = new Date(Date.now() + secondsAhead * 1000);
    fs.utimesSync(file, t, t);
  };

  test('touching files without changing them is a hit; the cache lives in the store', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({ 'a.txt': 'alpha\n', 'src/b.txt': 'beta\n' });
    assert.deepEqual(build(ctx), { first: false, second: false });
    assert.ok(fs.existsSync(statCacheFile(suite.root, ctx)), 'cache file written');
    touch(path.join(ctx, 'a.txt'), 5);
    touch(path.join(ctx, 'src/b.txt'), 5);
    assert.deepEqual(build(ctx), { first: true, second: true });
    assert.deepEqual(build(ctx), { first: true, second: true });
  });

  test('a same-length change in the same second as the recorded mtime misses (racy mtime)', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({ 'a.txt': 'one\n', 'src/b.txt': 'beta\n' });
    const file = path.join(ctx, 'src/b.txt');
    build(ctx, 'racy:1');
    const before = fs.statSync(file);
    fs.writeFileSync(file, 'BETA\n');
    fs.utimesSync(file, before.atime, before.mtime); // as a 1-second-granularity filesystem would leave it
    assert.deepEqual(build(ctx, 'racy:1'), { first: true, second: false });
    assert.equal(cat('/app/src/b.txt', 'racy:1'), 'BETA\n');
    fs.writeFileSync(path.join(ctx, 'a.txt'), 'two\n');
    assert.deepEqual(build(ctx, 'racy:1'), { first: false, second: false });
    assert.equal(cat('/app/a.txt', 'racy:1'), 'two\n');
  });

  test('a change to a file that .dockerignore excludes is a hit', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({ 'a.txt': 'a\n', '.dockerignore': '*.log\n', 'debug.log': 'x\n' });
    build(ctx, 'ign:1');
    fs.writeFileSync(path.join(ctx, 'debug.log'), 'something else entirely\n');
    assert.deepEqual(build(ctx, 'ign:1'), { first: true, second: true });
  });

  test('a corrupt cache file is ignored and rewritten: results stay correct', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({ 'a.txt': 'a\n', 'src/b.txt': 'b1\n' });
    build(ctx, 'corrupt:1');
    const cacheFile = statCacheFile(suite.root, ctx);
    fs.writeFileSync(cacheFile, Buffer.from('\u0000garbage{"v":1,[[[\n\u00ff'));
    fs.writeFileSync(path.join(ctx, 'src/b.txt'), 'b2\n');
    assert.deepEqual(build(ctx, 'corrupt:1'), { first: true, second: false });
    assert.equal(cat('/app/src/b.txt', 'corrupt:1'), 'b2\n');
    assert.match(fs.readFileSync(cacheFile, 'utf8'), /^\{"v":1,/, 'rewritten');
    assert.deepEqual(build(ctx, 'corrupt:1'), { first: true, second: true });
  });

  test('a file deleted and recreated with the same content is a hit', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = ctxOf({ 'a.txt': 'a\n', 'src/b.txt': 'same\n' });
    build(ctx, 'recreate:1');
    fs.rmSync(path.join(ctx, 'src/b.txt'));
    fs.writeFileSync(path.join(ctx, 'src/b.txt'), 'same\n');
    assert.deepEqual(build(ctx, 'recreate:1'), { first: true, second: true });
  });
});
