import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parsePrewalk, prewalkReader } from './prewalk.js';
import { FS_TREE } from './select.js';

// The launcher's find invocation (bin/tsbuild), run here on a real tree.
const FORMAT = 'N %y %m %U %G %s %i %D %n %T@ %C@ %P\\0%l\\0';
const find = (dir: string) => execFileSync('find', ['-H', dir, '-printf', FORMAT]).toString('utf8');

function tree(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-prewalk-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'a dir/deeper'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a dir/with space.txt'), 'x'.repeat(1234));
  fs.writeFileSync(path.join(dir, 'a dir/deeper/new\nline'), '');
  fs.writeFileSync(path.join(dir, 'setuid'), '#!/bin/sh\n', { mode: 0o4755 });
  fs.chmodSync(path.join(dir, 'setuid'), 0o4755);
  fs.writeFileSync(path.join(dir, 'ünïcode-ñame'), 'u');
  fs.symlinkSync('a dir/with space.txt', path.join(dir, 'link'));
  fs.symlinkSync('/nowhere', path.join(dir, 'dangling'));
  fs.linkSync(path.join(dir, 'setuid'), path.join(dir, 'hardlink'));
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  fs.chownSync(path.join(dir, 'ünïcode-ñame'), 1234, 5678);
  fs.utimesSync(path.join(dir, 'a dir'), new Date('2001-02-03T04:05:06.789Z'), new Date('2001-02-03T04:05:06.789Z'));
  return dir;
}

test('a parsed find listing gives the stats, names and link targets lstat and readdir give', (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root (chown)');
  const dir = tree(t);
  const parsed = parsePrewalk(find(dir));
  assert.ok(parsed, 'parses');
  const reader = prewalkReader(parsed, dir);
  let compared = 0;
  const walk = (host: string): void => {
    assert.deepEqual(reader.readdir(host), FS_TREE.readdir(host), `entries of ${host}`);
    for (const name of FS_TREE.readdir(host)) {
      const p = path.join(host, name);
      const want = fs.lstatSync(p);
      const got = reader.lstat(p);
      for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'mtimeMs', 'ctimeMs'] as const) assert.equal(got[k], want[k], `${k} of ${p}`);
      assert.equal(got.isDirectory(), want.isDirectory());
      assert.equal(got.isFile(), want.isFile());
      assert.equal(got.isSymbolicLink(), want.isSymbolicLink());
      if (want.isSymbolicLink()) assert.equal(reader.readlink(p), fs.readlinkSync(p));
      assert.equal(parsed.entries.get(path.relative(dir, p))?.stat, got, 'answered from the listing, not the file system');
      compared++;
      if (want.isDirectory()) walk(p);
    }
  };
  walk(dir);
  assert.equal(compared, 10);
});

test('a truncated or foreign listing is refused; paths it lacks are read from the file system', (t) => {
  const dir = tree(t);
  const out = find(dir);
  assert.equal(parsePrewalk(out.slice(0, out.length - 3)), undefined, 'cut short');
  assert.equal(parsePrewalk('hello\n'), undefined, 'not find -printf');
  // a listing of the root alone: everything below comes from lstat/readdir
  const only = parsePrewalk(out.slice(0, out.indexOf('\0', out.indexOf('\0') + 1) + 1));
  assert.ok(only);
  const reader = prewalkReader({ ...only, children: new Map() }, dir);
  assert.deepEqual(reader.readdir(dir), FS_TREE.readdir(dir));
  assert.equal(reader.lstat(path.join(dir, 'setuid')).mode, fs.lstatSync(path.join(dir, 'setuid')).mode);
});

test('pruned directories (P records) are kept as entries, listed as pruned, and read from the file system', (t) => {
  const dir = tree(t);
  const out = execFileSync('find', ['-H', dir, '(', '-path', `${dir}/a dir`, ')', '-printf', FORMAT.replace(/^N/, 'P'), '-prune', '-o', '-printf', FORMAT]).toString('utf8');
  const parsed = parsePrewalk(out);
  assert.ok(parsed);
  assert.deepEqual(parsed.pruned, ['a dir']);
  assert.ok(parsed.entries.get('a dir')?.stat.isDirectory());
  assert.equal(parsed.entries.has('a dir/with space.txt'), false, 'not descended');
  const reader = prewalkReader(parsed, dir);
  assert.deepEqual(reader.readdir(path.join(dir, 'a dir')), ['deeper', 'with space.txt'], 'listed from the file system');
});
