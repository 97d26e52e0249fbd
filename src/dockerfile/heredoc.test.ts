import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, type Heredoc, type Instruction } from './index.js';
import { parseHeredocMarker } from './heredoc.js';

const parse = (text: string) => parseDockerfile(text, 'Dockerfile').instructions;
const heredocsOf = (ins: Instruction): Heredoc[] =>
  ins.kind === 'RUN' || ins.kind === 'COPY' || ins.kind === 'ADD' ? ins.heredocs : [];
const doc = (name: string, content: string, expand = true, chomp = false): Heredoc => ({ name, content, expand, chomp });

test('heredoc markers: names, quoting and chomping', () => {
  const cases: Array<[string, string, boolean, boolean]> = [
    ['<<EOF', 'EOF', true, false],
    ["<<'EOF'", 'EOF', false, false],
    ['<<"EOF"', 'EOF', false, false],
    ['<<-EOF', 'EOF', true, true],
    ["<<-'EOF'", 'EOF', false, true],
    ['<<EO"F"', 'EOF', false, false],
    ['<< EOF', 'EOF', true, false],
    ['<<- EOF', 'EOF', true, true],
    ["<<eo\\'f", "eo'f", true, false],
    ["<<'e'o\\'f", "eo'f", false, false],
    ["<<'one two'", 'one two', false, false],
    ['<<$EOF', '$EOF', true, false],
    ['<<file.txt', 'file.txt', true, false],
  ];
  for (const [word, name, expand, chomp] of cases) {
    const m = parseHeredocMarker(word);
    assert.deepEqual(m && { name: m.name, expand: m.expand, chomp: m.chomp }, { name, expand, chomp }, word);
  }
  assert.equal(parseHeredocMarker('3<<EOF')?.fd, 3);
  for (const not of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh', "<<'EOF", '<<EOF"', "<<''"]) {
    assert.equal(parseHeredocMarker(not), undefined, not);
  }
});

test('RUN <<EOF keeps the command line in cmd[0] and the body in heredocs', () => {
  const [, run, after] = parse('FROM a\nRUN <<EOF\n# not a comment\necho $HOME \\\n\nEOF\nUSER x\n');
  assert.ok(run?.kind === 'RUN');
  assert.deepEqual([run.form, run.cmd], ['shell', ['<<EOF']]);
  assert.deepEqual(run.heredocs, [doc('EOF', '# not a comment\necho $HOME \\\n\n')]);
  assert.deepEqual(run.loc, { file: 'Dockerfile', startLine: 2, endLine: 6 });
  assert.equal(run.original, 'RUN <<EOF');
  assert.equal(after?.kind, 'USER');
});

test('heredoc bodies: chomp strips leading tabs, quoted delimiters disable expansion', () => {
  const ins = parse(
    'FROM a\nRUN <<-UNINDENT\n\tbaz\n\t\tquux\n\tUNINDENT\nRUN <<-\'NOEXPAND\'\n\tdon\'t expand $NAME\nNOEXPAND\nRUN <<INDENT\n\tfoo\nINDENT\n',
  );
  assert.deepEqual(ins.slice(1).map(heredocsOf), [
    [doc('UNINDENT', 'baz\nquux\n', true, true)],
    [doc('NOEXPAND', "don't expand $NAME\n", false, true)],
    [doc('INDENT', '\tfoo\n')],
  ]);
});

test('several heredocs on one line are read in order; terminators may appear as content of others', () => {
  const [, copy, run] = parse('FROM a\nCOPY <<X <<Y /dest\nY\nX\nX\nY\nRUN 3<<A cat /dev/fd/3 && cat <<B\na\nA\nb\nB\n');
  assert.ok(copy?.kind === 'COPY');
  assert.deepEqual([copy.sources, copy.dest], [[], '/dest']);
  assert.deepEqual(copy.heredocs, [doc('X', 'Y\n'), doc('Y', 'X\n')]);
  assert.deepEqual(copy.loc, { file: 'Dockerfile', startLine: 2, endLine: 6 });
  assert.deepEqual(heredocsOf(run!), [doc('A', 'a\n'), doc('B', 'b\n')]);
  assert.deepEqual(run!.loc, { file: 'Dockerfile', startLine: 7, endLine: 11 });
});

test('COPY mixes heredoc and path sources; flags before heredocs', () => {
  const [, copy] = parse('FROM a\nCOPY --chmod=755 <<"script.sh" ./local /opt/\n#!/bin/sh\necho "$X"\nscript.sh\n');
  assert.ok(copy?.kind === 'COPY');
  assert.deepEqual(copy.flags, { chmod: ['755'] });
  assert.deepEqual(copy.sources, ['./local']);
  assert.deepEqual(copy.heredocs, [doc('script.sh', '#!/bin/sh\necho "$X"\n', false)]);
});

test('no heredoc in exec form, in quotes, or on other instructions', () => {
  const ins = parse('FROM a\nRUN ["<<EOF"]\nRUN echo "<<NOHEREDOC"\nCMD cat <<EOF\nEXPOSE 80\n');
  assert.deepEqual(ins.map((i) => i.kind), ['FROM', 'RUN', 'RUN', 'CMD', 'EXPOSE']);
  assert.deepEqual(ins.slice(1, 3).map(heredocsOf), [[], []]);
  assert.throws(() => parse('FROM a\nUSER <<INVALID\nINVALID\n'), /unknown instruction "INVALID"/);
});

test('ONBUILD RUN <<EOF: the trigger gets the heredoc; the expression reconstitutes it', () => {
  const [, ob] = parse('FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n');
  assert.ok(ob?.kind === 'ONBUILD');
  assert.equal(ob.expression, 'RUN <<EOF\necho hi\nEOF');
  assert.deepEqual(heredocsOf(ob.trigger), [doc('EOF', 'echo hi\n')]);
  assert.deepEqual(ob.loc, { file: 'Dockerfile', startLine: 2, endLine: 4 });
});

test('heredocs in a CRLF file have LF line endings', () => {
  const [, run] = parse('FROM a\r\nRUN <<EOF\r\necho 1\r\necho 2\r\nEOF\r\n');
  assert.deepEqual(heredocsOf(run!), [doc('EOF', 'echo 1\necho 2\n')]);
});

test('an empty heredoc and a heredoc after flags', () => {
  const [, a, b] = parse('FROM a\nRUN <<EMPTY\nEMPTY\nRUN --mount=type=cache,target=/c <<  EOF  > foo\nx\nEOF\n');
  assert.deepEqual(heredocsOf(a!), [doc('EMPTY', '')]);
  assert.deepEqual(heredocsOf(b!), [doc('EOF', 'x\n')]);
  assert.ok(b?.kind === 'RUN');
  assert.deepEqual(b.cmd, ['<<  EOF  > foo']);
});
