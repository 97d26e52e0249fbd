import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { hashFile } from './digest.js';
import { RACY_MS, openStatCache, statCacheFile } from './statcache.js';

function setup(t: { after(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-statcache-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ctx = path.join(dir, 'ctx');
  fs.mkdirSync(ctx);
  const file = statCacheFile(path.join(dir, 'store'), ctx);
  let reads = 0;
  const read = (h: string) => {
    reads++;
    return hashFile(h);
  };
  const write = (name: string, content: string, mtimeSec?: number) => {
    const p = path.join(ctx, name);
    fs.writeFileSync(p, content);
    if (mtimeSec !== undefined) fs.utimesSync(p, mtimeSec, mtimeSec);
    return p;
  };
  const digest = (c: ReturnType<typeof openStatCache>, name: string) => {
    const p = path.join(ctx, name);
    return c.digest(name, p, fs.lstatSync(p), read);
  };
  return { ctx, file, write, digest, reads: () => reads };
}

/** A start time late enough that every file written so far is trusted by the next process. */
const later = () => Date.now() + RACY_MS + 1000;

test('stat cache: an unchanged file is read once, then served from the saved cache', (t) => {
  const s = setup(t);
  s.write('a.txt', 'hello');
  const c1 = openStatCache(s.file, s.ctx, later());
  const d1 = s.digest(c1, 'a.txt');
  assert.equal(s.digest(c1, 'a.txt'), d1, 'same build: no second read');
  assert.equal(s.reads(), 1);
  c1.save();
  const c2 = openStatCache(s.file, s.ctx);
  assert.equal(s.digest(c2, 'a.txt'), d1);
  assert.equal(s.reads(), 1);
  assert.deepEqual(c2.stats, { hits: 1, misses: 0 });
});

test('stat cache: entries recorded less than RACY_MS before the recording process started are re-read', (t) => {
  const s = setup(t);
  s.write('a.txt', 'one');
  const c1 = openStatCache(s.file, s.ctx); // now: the file's mtime is not older than the start time
  s.digest(c1, 'a.txt');
  c1.save();
  // Same length, and the mtime put back: only a racy check (or ctime) can tell.
  const before = fs.statSync(path.join(s.ctx, 'a.txt'));
  fs.writeFileSync(path.join(s.ctx, 'a.txt'), 'two');
  fs.utimesSync(path.join(s.ctx, 'a.txt'), before.atime, before.mtime);
  const c2 = openStatCache(s.file, s.ctx);
  assert.equal(s.digest(c2, 'a.txt'), hashFile(path.join(s.ctx, 'a.txt')));
  assert.equal(s.reads(), 2);
});

test('stat cache: a content change is a miss even with the same size and mtime (ctime, inode)', (t) => {
  const s = setup(t);
  const p = s.write('a.txt', 'aaaa', 1_600_000_000);
  const c1 = openStatCache(s.file, s.ctx, later());
  const d1 = s.digest(c1, 'a.txt');
  c1.save();
  fs.writeFileSync(p, 'bbbb');
  fs.utimesSync(p, 1_600_000_000, 1_600_000_000);
  const c2 = openStatCache(s.file, s.ctx, later());
  assert.notEqual(s.digest(c2, 'a.txt'), d1);
  // Deleted and recreated with the same content: a new inode, read again, same digest.
  c2.save();
  fs.rmSync(p);
  s.write('a.txt', 'aaaa', 1_600_000_000);
  const c3 = openStatCache(s.file, s.ctx);
  assert.equal(s.digest(c3, 'a.txt'), d1);
  assert.equal(c3.stats.misses, 1);
});

test('stat cache: a corrupt, torn, foreign or missing file reads as empty and is rewritten', (t) => {
  const s = setup(t);
  s.write('a.txt', 'x', 1_600_000_000);
  const fill = () => {
    const c = openStatCache(s.file, s.ctx, later());
    s.digest(c, 'a.txt');
    c.save();
  };
  const hitsAfter = (mangle: (text: string) => string | Buffer) => {
    fill();
    fs.writeFileSync(s.file, mangle(fs.readFileSync(s.file, 'utf8')));
    const c = openStatCache(s.file, s.ctx, later());
    assert.equal(s.digest(c, 'a.txt'), hashFile(path.join(s.ctx, 'a.txt')));
    c.save();
    return c.stats.hits;
  };
  assert.equal(hitsAfter((x) => x), 1);
  assert.equal(hitsAfter(() => Buffer.from([0, 159, 146, 150, 10, 255, 0])), 0, 'garbage');
  assert.equal(hitsAfter((x) => x.slice(0, x.length - 20)), 0, 'torn');
  assert.equal(hitsAfter((x) => x.replace(/[0-9a-f]{64}"\]\]$/, `${'0'.repeat(64)}"]]`)), 0, 'body does not match its checksum');
  assert.equal(hitsAfter(() => ''), 0, 'empty');
  fill();
  const other = openStatCache(s.file, path.join(s.ctx, 'elsewhere'), later());
  assert.equal(other.digest('a.txt', path.join(s.ctx, 'a.txt'), fs.lstatSync(path.join(s.ctx, 'a.txt')), hashFile), hashFile(path.join(s.ctx, 'a.txt')));
  assert.equal(other.stats.misses, 1, 'a cache written for another directory is not used');
  fs.rmSync(s.file);
  const missing = openStatCache(s.file, s.ctx, later());
  s.digest(missing, 'a.txt');
  assert.deepEqual(missing.stats, { hits: 0, misses: 1 }, 'missing');
});

test('stat cache: concurrent builds keep each other\'s entries', (t) => {
  const s = setup(t);
  s.write('a.txt', 'a', 1_600_000_000);
  s.write('b.txt', 'b', 1_600_000_000);
  const c1 = openStatCache(s.file, s.ctx, later());
  const c2 = openStatCache(s.file, s.ctx, later());
  s.digest(c1, 'a.txt');
  s.digest(c2, 'b.txt');
  c1.save();
  c2.save();
  const c3 = openStatCache(s.file, s.ctx);
  s.digest(c3, 'a.txt');
  s.digest(c3, 'b.txt');
  assert.deepEqual(c3.stats, { hits: 2, misses: 0 });
  assert.deepEqual(fs.readdirSync(path.dirname(s.file)), [path.basename(s.file)], 'no temp files left');
});

test('stat cache: the racy rule alone decides whether a matching stat is trusted', (t) => {
  const s = setup(t);
  const p = s.write('a.txt', 'real');
  const st = fs.lstatSync(p);
  // A hand-made cache whose entry matches the file's stat exactly but records another digest.
  const plant = (started: number) => {
    const body = JSON.stringify([['a.txt', st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs, 'f'.repeat(64)]]);
    const sum = createHash('sha256').update(body).digest('hex');
    fs.mkdirSync(path.dirname(s.file), { recursive: true });
    fs.writeFileSync(s.file, `${JSON.stringify({ v: 1, dir: s.ctx, t: started, sum })}\n${body}`);
  };
  const newest = Math.max(st.mtimeMs, st.ctimeMs);
  plant(newest + RACY_MS); // not older than start - RACY_MS: racy, re-read
  assert.equal(s.digest(openStatCache(s.file, s.ctx), 'a.txt'), hashFile(p));
  plant(newest + 1); // written in the same second
  assert.equal(s.digest(openStatCache(s.file, s.ctx), 'a.txt'), hashFile(p));
  plant(newest + RACY_MS + 1); // old enough: trusted (which is why the planted digest comes back)
  assert.equal(s.digest(openStatCache(s.file, s.ctx), 'a.txt'), 'f'.repeat(64));
});
