import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goMatch, hasGlob, unescapeGlob } from './match.js';

test('goMatch follows Go filepath.Match', () => {
  const cases: Array<[string, string, boolean]> = [
    ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true], ['a*b*c*d*e*/f', 'axbxcxdxe/f', true], ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false], ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abe', true], ['[!a]', '!', true], ['[!a]', 'b', false], ['[!a]', 'a', true],
    ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false],
    ['[\\]a]', ']', true], ['[\\-]', '-', true], ['[x\\-]', 'z', false], ['*x', 'xxx', true],
    ['*.txt', '.hidden.txt', true], ['arr[[]0].txt', 'arr[0].txt', true], ['[a-ζ]*', 'α', true],
  ];
  for (const [p, s, want] of cases) assert.equal(goMatch(p, s), want, `${p} ~ ${s}`);
  for (const bad of ['[', '[^', '[^bc', 'a[', '[]a]', '[-]', 'a\\', '[a-]']) assert.throws(() => goMatch(bad, 'a'), /syntax error in pattern/, bad);
});

test('hasGlob and unescapeGlob respect escapes', () => {
  assert.equal(hasGlob('a\\*b'), false);
  assert.equal(hasGlob('a[b]'), true);
  assert.equal(unescapeGlob('a\\*b'), 'a*b');
});
