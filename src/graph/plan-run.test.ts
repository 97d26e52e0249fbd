import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, type Instruction } from '../dockerfile/index.js';
import { csvFields, parseMountFlag, parseRamBytes, runCommand } from './plan-run.js';

const SH = ['/bin/sh', '-c'];
const runOf = (text: string) => {
  const ins = parseDockerfile(`FROM scratch\n${text}`, 'Dockerfile').instructions[1] as Extract<Instruction, { kind: 'RUN' }>;
  return runCommand(ins, SH);
};
const id = (s: string) => s;

test('csv fields: commas split, double quotes group and escape', () => {
  assert.deepEqual(csvFields('type=bind,target=/x'), ['type=bind', 'target=/x']);
  assert.deepEqual(csvFields('"target=/a,b",ro'), ['target=/a,b', 'ro']);
  assert.deepEqual(csvFields('"a""b"'), ['a"b']);
  assert.deepEqual(csvFields('a,,b'), ['a', '', 'b']);
  assert.throws(() => csvFields('"open'), /quoted-field/);
});

test('tmpfs sizes read like docker units.RAMInBytes', () => {
  assert.equal(parseRamBytes('100'), 100);
  assert.equal(parseRamBytes('64m'), 64 * 1024 * 1024);
  assert.equal(parseRamBytes('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseRamBytes('2KiB'), 2048);
  assert.equal(parseRamBytes('lots'), undefined);
});

test('--mount defaults follow BuildKit: bind read-only, cache and tmpfs writable', () => {
  assert.equal(parseMountFlag('target=/x', id).type, 'bind');
  assert.equal(parseMountFlag('target=/x', id).readonly, true);
  assert.equal(parseMountFlag('target=/x,rw', id).readonly, false);
  assert.equal(parseMountFlag('type=bind,target=/x,readwrite=true', id).readonly, false);
  assert.equal(parseMountFlag('type=cache,target=/x', id).readonly, false);
  assert.equal(parseMountFlag('type=cache,target=/x,ro', id).readonly, true);
  assert.equal(parseMountFlag('type=tmpfs,target=/x', id).readonly, false);
  assert.equal(parseMountFlag('type=secret,id=a', id).readonly, true);
  const c = parseMountFlag('type=cache,id=x,target=/c,sharing=LOCKED,mode=0700,uid=5,gid=6', id);
  assert.deepEqual([c.sharing, c.mode, c.uid, c.gid], ['locked', 0o700, 5, 6]);
  assert.equal(parseMountFlag('type=secret,id=a,required', id).required, true);
  assert.equal(parseMountFlag('type=ssh,required=false', id).required, false);
  assert.equal(parseMountFlag('type=secret,id=a,env=TOKEN', id).env, 'TOKEN');
  assert.equal(parseMountFlag('type=tmpfs,target=/t,size=1m', id).size, 1024 * 1024);
});

test('--mount values are expanded, except that from refuses variables', () => {
  const x = (s: string) => s.replace('$DIR', '/expanded');
  assert.equal(parseMountFlag('type=cache,target=$DIR', x).target, '/expanded');
  assert.throws(() => parseMountFlag('type=bind,from=$STAGE,target=/x', x), /doesn't support variable expansion/);
});

test('--mount errors match BuildKit', () => {
  const bad: Array<[string, RegExp]> = [
    ['type=nfs,target=/x', /unsupported mount type "nfs"/],
    ['type=bind,target=/x,mode=0600', /mode not allowed for "bind" type mounts/],
    ['type=tmpfs,target=/x,uid=1', /uid not allowed for "tmpfs" type mounts/],
    ['type=bind,target=/x,required', /unexpected key 'required' for mount type 'bind'/],
    ['type=cache,target=/x,size=1m', /unexpected key 'size' for mount type 'cache'/],
    ['type=bind,target=/x,sharing=locked', /invalid cache sharing set for bind mount/],
    ['type=cache,target=/x,sharing=sometimes', /unsupported sharing value "sometimes"/],
    ['type=secret,from=stage,id=a', /secret mount should not have a from/],
    ['type=secret', /one of source, target required/],
    ['type=secret,source=a,id=b', /both source and id can't be set/],
    ['type=cache,target=/x,mode=999', /invalid value 999 for mode/],
    ['type=bind,target=/x,bogus', /invalid field 'bogus' must be a key=value pair/],
    ['type=bind,targte=/x', /unexpected key 'targte'/],
    ['type=bind,target=/x,ro=maybe', /invalid value for ro: maybe/],
  ];
  for (const [value, re] of bad) assert.throws(() => parseMountFlag(value, id), re, value);
});

test('RUN heredocs: BuildKit rules for the command line', () => {
  assert.deepEqual(runOf('RUN <<EOF\necho hi\nEOF'), { args: [...SH, 'echo hi\n'] });
  assert.deepEqual(runOf("RUN <<'EOF'\necho $HOME\nEOF"), { args: [...SH, 'echo $HOME\n'] });
  assert.deepEqual(runOf('RUN <<EOF\n#!/bin/sh\necho hi\nEOF'), {
    args: [...SH, '/dev/pipes/EOF'],
    script: { name: 'EOF', content: '#!/bin/sh\necho hi\n' },
  });
  assert.deepEqual(runOf('RUN <<-EOF\n\techo hi\n\tEOF'), { args: [...SH, 'echo hi\n'] });
  assert.deepEqual(runOf('RUN cat <<EOF > /f\nhello\nEOF'), { args: [...SH, 'cat <<EOF > /f\nhello\nEOF'] });
  assert.deepEqual(runOf('RUN <<EOF sh\necho hi\nEOF'), { args: [...SH, '<<EOF sh\necho hi\nEOF'] });
  assert.deepEqual(runOf('RUN cat <<A && cat <<"B"\none\nA\ntwo\nB'), { args: [...SH, 'cat <<A && cat <<"B"\none\nA\ntwo\nB'] });
  assert.deepEqual(runOf('RUN ["echo", "<<EOF"]'), { args: ['echo', '<<EOF'] });
  assert.deepEqual(runOf('RUN echo plain'), { args: [...SH, 'echo plain'] });
});
