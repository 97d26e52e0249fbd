import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, type Instruction } from './index.js';

const parse = (text: string) => parseDockerfile(text, 'Dockerfile');
const only = (text: string): Instruction => {
  const ins = parse(text).instructions;
  assert.equal(ins.length, 1, 'expected one instruction');
  return ins[0]!;
};
const pick = <K extends Instruction['kind']>(ins: Instruction, kind: K) => {
  assert.equal(ins.kind, kind);
  return ins as Instruction & { kind: K };
};

test('directives: syntax, escape and check are read case-insensitively', () => {
  const df = parse('# syntax=docker/dockerfile:1.7\n#ESCAPE = `\n# Check=skip=all\nFROM a\n');
  assert.deepEqual(df.directives, { escape: '`', syntax: 'docker/dockerfile:1.7', check: 'skip=all' });
});

test('directives: defaults, and only before any comment, blank line or instruction', () => {
  assert.deepEqual(parse('FROM a\n# escape=`\n').directives, { escape: '\\' });
  assert.deepEqual(parse('# a comment\n# escape=`\nFROM a\n').directives, { escape: '\\' });
  assert.deepEqual(parse('\n# escape=`\nFROM a\n').directives, { escape: '\\' });
  assert.deepEqual(parse('# unknown=x\n# escape=`\nFROM a\n').directives, { escape: '\\' });
  const df = parse('# escape=`\n# no blank line after directives\nFROM a\nENV GOPATH `\n\\go\n');
  assert.equal(df.directives.escape, '`');
  assert.deepEqual(pick(df.instructions[1]!, 'ENV').pairs, [{ key: 'GOPATH', value: '\\go' }]);
});

test('directives: after a comment the escape directive is ignored and \\ continues lines', () => {
  const df = parse('# Comment here.\n# escape = `\n\nFROM image\nENV GOPATH \\\n\\go');
  assert.equal(df.directives.escape, '\\');
  assert.deepEqual(pick(df.instructions[1]!, 'ENV').pairs, [{ key: 'GOPATH', value: '\\go' }]);
});

test('directives: backtick escape makes \\ literal and ` continue lines', () => {
  const df = parse('# escape=`\nFROM `\n    image\nRUN dir c:\\ `\n  /b\n');
  assert.equal(pick(df.instructions[0]!, 'FROM').image, 'image');
  assert.deepEqual(pick(df.instructions[1]!, 'RUN').cmd, ['dir c:\\   /b']);
});

test('continuations: comments and blank lines inside are dropped, indentation kept', () => {
  const df = parse(
    [
      'FROM ubuntu',
      'RUN echo hello \\',
      '# this is a comment',
      '',
      '   # an indented comment',
      '   ',
      'this is some more useful stuff',
      'RUN echo hi \\',
      ' \\',
      ' world \\',
      '\\',
      ' good\\',
      '\\',
      'night',
      'RUN echo hello  \\  ',
      'world',
    ].join('\n'),
  );
  const runs = df.instructions.slice(1).map((i) => pick(i, 'RUN'));
  assert.deepEqual(runs[0]!.cmd, ['echo hello this is some more useful stuff']);
  assert.deepEqual(runs[0]!.loc, { file: 'Dockerfile', startLine: 2, endLine: 7 });
  assert.equal(runs[0]!.original, 'RUN echo hello this is some more useful stuff');
  assert.deepEqual(runs[1]!.cmd, ['echo hi   world  goodnight']);
  assert.deepEqual(runs[2]!.cmd, ['echo hello  world']);
});

test('continuations: an escaped escape at end of line does not continue', () => {
  const df = parse('FROM a\nENV C trailing\\\\backslash\\\\\nENV D not appended\nENV E hello\\\n\\\nworld\n');
  const envs = df.instructions.slice(1).map((i) => pick(i, 'ENV').pairs);
  assert.deepEqual(envs, [
    [{ key: 'C', value: 'trailing\\\\backslash\\\\' }],
    [{ key: 'D', value: 'not appended' }],
    [{ key: 'E', value: 'helloworld' }],
  ]);
});

test('continuations: a continuation at end of file ends the instruction', () => {
  const run = pick(parse('FROM a\nRUN echo \\\n').instructions[1]!, 'RUN');
  assert.deepEqual(run.cmd, ['echo']);
  assert.deepEqual(run.loc, { file: 'Dockerfile', startLine: 2, endLine: 2 });
});

test('CRLF line endings and a BOM are handled; lines are kept for code frames', () => {
  const df = parse('\uFEFF# escape=`\r\nFROM alpine\r\nRUN echo a `\r\n  b\r\nCMD ["x"]\r\n');
  assert.equal(df.directives.escape, '`');
  assert.deepEqual(df.lines, ['# escape=`', 'FROM alpine', 'RUN echo a `', '  b', 'CMD ["x"]']);
  assert.deepEqual(pick(df.instructions[1]!, 'RUN').cmd, ['echo a   b']);
  assert.deepEqual(pick(df.instructions[2]!, 'CMD').cmd, ['x']);
});

test('keywords in any case; leading whitespace and comments skipped', () => {
  const df = parse('  from alpine as Base\n\t# comment\n  rUn   echo  hi  \nCmd echo\n');
  const from = pick(df.instructions[0]!, 'FROM');
  assert.equal(from.stageName, 'base');
  assert.equal(from.original, 'from alpine as Base');
  assert.deepEqual(pick(df.instructions[1]!, 'RUN').cmd, ['echo  hi']);
  assert.equal(df.instructions[2]!.kind, 'CMD');
});

test('exec form vs shell form, with BuildKit JSON fallback', () => {
  const cmd = (line: string) => pick(only(line), 'CMD');
  assert.deepEqual(cmd('CMD ["echo", "hi there"]'), {
    ...cmd('CMD ["echo", "hi there"]'),
    form: 'exec',
    cmd: ['echo', 'hi there'],
  });
  assert.deepEqual(cmd('CMD [ "\\/usr\\\\\\"/bin/znc", "-f" ]').cmd, ['/usr\\"/bin/znc', '-f']);
  for (const invalid of ["CMD ['single', 'quotes']", 'CMD ["unterminated"', 'CMD ["a" "b"]', 'CMD [ "a", ]']) {
    const c = cmd(invalid);
    assert.equal(c.form, 'shell', invalid);
    assert.deepEqual(c.cmd, [invalid.slice(4)], invalid);
  }
  assert.deepEqual(cmd('CMD []'), { ...cmd('CMD []'), form: 'exec', cmd: [] });
  assert.deepEqual(cmd('CMD'), { ...cmd('CMD'), form: 'shell', cmd: [] });
  const ep = pick(only('ENTRYPOINT ["/bin/sh", "-c"]'), 'ENTRYPOINT');
  assert.deepEqual([ep.form, ep.cmd], ['exec', ['/bin/sh', '-c']]);
  const run = pick(only('RUN ["echo", "$HOME"]'), 'RUN');
  assert.deepEqual([run.form, run.cmd, run.heredocs], ['exec', ['echo', '$HOME'], []]);
});

test('original keeps the instruction with continuations joined', () => {
  const run = pick(parse('FROM a\nRUN apt-get update && \\\n    apt-get install -y x\n').instructions[1]!, 'RUN');
  assert.equal(run.original, 'RUN apt-get update &&     apt-get install -y x');
});

test('lines: the file split into lines without terminators', () => {
  assert.deepEqual(parse('FROM a\n\nRUN x').lines, ['FROM a', '', 'RUN x']);
});
