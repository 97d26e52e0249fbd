import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyChmod, parseChmod } from './copy-chmod.js';

test('--chmod: octal and symbolic (chmod(1) with umask 0)', () => {
  const cases: Array<[string, number, boolean, number]> = [
    ['755', 0o644, false, 0o755], ['0640', 0o777, true, 0o640], ['u+x', 0o644, false, 0o744], ['+x', 0o644, false, 0o755],
    ['u+x,g-w', 0o664, false, 0o744], ['a=rX', 0o644, false, 0o444], ['a=rX', 0o644, true, 0o555], ['a=rX', 0o744, false, 0o555],
    ['u=rwX,go=rX', 0o600, true, 0o755], ['u=rwX,go=rX', 0o600, false, 0o644], ['g=u', 0o640, false, 0o660], ['o-rwx', 0o777, false, 0o770],
    ['u+s', 0o755, false, 0o4755], ['+t', 0o755, true, 0o1755],
  ];
  for (const [spec, mode, dir, want] of cases) assert.equal(applyChmod(parseChmod(spec), mode, dir).toString(8), want.toString(8), `${spec} on ${mode.toString(8)}`);
  for (const bad of ['888', '17777', 'u+q', 'z=r', '']) assert.throws(() => parseChmod(bad), /invalid chmod/, bad);
});
