import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { compilePatterns, parseDockerignore } from './dockerignore.js';
import { ignoreFileFor } from './ignorefile.js';
import { walkSource } from './select.js';

test('.dockerignore matching table (moby/patternmatcher semantics)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*.key', 'a.key', true], ['*.key', 'sub/a.key', false], ['**/*.key', 'sub/deep/a.key', true], ['**/*.key', 'a.key', true],
    ['dir', 'dir/inner/file', true], ['dir/', 'dir/x', true], ['/dir', 'dir/x', true], ['./dir', 'dir/x', true],
    ['dir/**', 'dir/x/y', true], ['a/**/b', 'a/b', true], ['a/**/b', 'a/x/y/b', true], ['a/**/b', 'ab', false],
    ['*\n!keep.key', 'keep.key', false], ['*.key\n!keep.key', 'x.key', true], ['dir\n!dir/keep', 'dir/keep', false],
    ['dir\n!dir/keep', 'dir/other', true], ['# comment\n  spaced  ', 'spaced', true], ['#x', '#x', false],
    ['[!a]', '!', true], ['[^a]', 'b', true], ['a?c', 'abc', true], ['a?c', 'a/c', false], ['f\\*', 'f*', true],
    ['.', 'anything', false], ['**', 'a/b', true], ['!x\nx', 'x', true],
  ];
  for (const [text, rel, want] of cases) assert.equal(parseDockerignore(text).ignored(rel), want, `${JSON.stringify(text)} ${rel}`);
  assert.throws(() => compilePatterns(['!']), /illegal exclusion pattern/);
});

test('mayIncludeBelow: descend an excluded dir only when an exception names a path below it (fsutil)', () => {
  const m = parseDockerignore('dir\n!dir/sub/keep\n');
  assert.equal(m.mayIncludeBelow('dir'), true);
  assert.equal(m.mayIncludeBelow('dir/sub'), true);
  assert.equal(m.mayIncludeBelow('other'), false);
  assert.equal(parseDockerignore('dir\n').mayIncludeBelow('dir'), false);
});

test('a negation re-includes a file inside an excluded dir; the dir is visited before it', () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-ign-'));
  try {
    for (const f of ['dir/sub/keep', 'dir/sub/drop', 'dir/other', 'top']) {
      fs.mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
      fs.writeFileSync(path.join(d, f), f);
    }
    const root = { dir: d, ignore: parseDockerignore('dir\n!dir/sub/keep\n'), label: 'build context', keepOwner: false };
    const seen: string[] = [];
    walkSource(root, { rel: '', host: d, stat: fs.lstatSync(d) }, (e) => seen.push(e.rel));
    assert.deepEqual(seen, ['', 'dir', 'dir/sub', 'dir/sub/keep', 'top']);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test('ignoreFileFor prefers <Dockerfile>.dockerignore beside the Dockerfile', () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-ignf-'));
  try {
    fs.mkdirSync(path.join(d, 'build'));
    assert.equal(ignoreFileFor(d, path.join(d, 'build/app.Dockerfile')), undefined);
    fs.writeFileSync(path.join(d, '.dockerignore'), 'x');
    assert.equal(ignoreFileFor(d, path.join(d, 'build/app.Dockerfile')), path.join(d, '.dockerignore'));
    fs.writeFileSync(path.join(d, 'build/app.Dockerfile.dockerignore'), 'y');
    assert.equal(ignoreFileFor(d, path.join(d, 'build/app.Dockerfile')), path.join(d, 'build/app.Dockerfile.dockerignore'));
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});
