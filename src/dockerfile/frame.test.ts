import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsbuildError } from '../util/index.js';
import { formatCodeFrame, parseDockerfile, suggest } from './index.js';

const lines = ['FROM alpine', '', 'RUN apk add \\', '    curl', 'COPYY . /app', 'CMD ["sh"]', 'USER app'];

test('code frame marks the failing lines with two lines of context', () => {
  assert.equal(
    formatCodeFrame(lines, { startLine: 5, endLine: 5 }),
    ['   3 |     RUN apk add \\', '   4 |         curl', '   5 | >>> COPYY . /app', '   6 |     CMD ["sh"]', '   7 |     USER app'].join('\n'),
  );
});

test('code frame: multi-line spans, clamping at file edges, custom context', () => {
  assert.equal(
    formatCodeFrame(lines, { startLine: 3, endLine: 4 }, 1),
    ['   2 |', '   3 | >>> RUN apk add \\', '   4 | >>>     curl', '   5 |     COPYY . /app'].join('\n'),
  );
  assert.equal(formatCodeFrame(lines, { startLine: 1, endLine: 1 }, 1), ['   1 | >>> FROM alpine', '   2 |'].join('\n'));
  assert.equal(formatCodeFrame(lines, { startLine: 7, endLine: 7 }, 0), '   7 | >>> USER app');
  assert.equal(formatCodeFrame(lines, { startLine: 9, endLine: 9 }), '');
});

test('code frame widens the number column for long files', () => {
  const many = Array.from({ length: 1200 }, (_, i) => `RUN echo ${i + 1}`);
  assert.equal(formatCodeFrame(many, { startLine: 1000, endLine: 1000 }, 1).split('\n')[1], ' 1000 | >>> RUN echo 1000');
});

test('a parse error renders with the parsed lines', () => {
  const text = lines.join('\n');
  try {
    parseDockerfile(text, 'Dockerfile');
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof TsbuildError && e.location);
    assert.match(formatCodeFrame(text.split('\n'), e.location), /^ {3}5 \| >>> COPYY \. \/app$/m);
    assert.equal(e.hint, 'did you mean COPY?');
  }
});

test('suggest: closest candidate within distance 2, following the word case', () => {
  const names = ['FROM', 'RUN', 'COPY', 'ENTRYPOINT', 'WORKDIR'];
  assert.equal(suggest('RUNN', names), 'RUN');
  assert.equal(suggest('runn', names), 'run');
  assert.equal(suggest('ENTRYPIONT', names), 'ENTRYPOINT');
  assert.equal(suggest('workdri', names), 'workdir');
  assert.equal(suggest('Frm', names), 'FROM');
  assert.equal(suggest('XYZZY', names), undefined);
  assert.equal(suggest('run', names), undefined, 'an exact match is not a typo');
  assert.equal(suggest('buidler', ['builder', 'base']), 'builder');
  assert.equal(suggest('From', ['from'], { caseSensitive: true }), 'from');
  assert.equal(suggest('from', ['from'], { caseSensitive: true }), undefined);
});
