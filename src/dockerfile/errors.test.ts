import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsbuildError } from '../util/index.js';
import { parseDockerfile } from './index.js';

interface Expect {
  code?: 'TSB_DOCKERFILE_SYNTAX' | 'TSB_DOCKERFILE_UNKNOWN_INSTRUCTION';
  message: string | RegExp;
  lines: [number, number];
  hint?: string;
}

function fails(text: string, want: Expect): void {
  let caught: unknown;
  try {
    parseDockerfile(text, 'ctx/Dockerfile');
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof TsbuildError, `expected a TsbuildError for ${JSON.stringify(text)}`);
  assert.equal(caught.code, want.code ?? 'TSB_DOCKERFILE_SYNTAX');
  if (typeof want.message === 'string') assert.equal(caught.message, want.message);
  else assert.match(caught.message, want.message);
  assert.deepEqual(caught.location, { file: 'ctx/Dockerfile', startLine: want.lines[0], endLine: want.lines[1] });
  if (want.hint !== undefined) assert.equal(caught.hint, want.hint);
}

test('unknown instruction: did-you-mean hint and its line', () => {
  fails('FROM a\n\nRUNN echo hi\n', {
    code: 'TSB_DOCKERFILE_UNKNOWN_INSTRUCTION',
    message: 'unknown instruction "RUNN"',
    lines: [3, 3],
    hint: 'did you mean RUN?',
  });
  fails('FROM a\ncopyy a b\n', { code: 'TSB_DOCKERFILE_UNKNOWN_INSTRUCTION', message: 'unknown instruction "copyy"', lines: [2, 2], hint: 'did you mean COPY?' });
  let e: unknown;
  try {
    parseDockerfile('FROM a\nFROBNICATE x\n', 'D');
  } catch (err) {
    e = err;
  }
  assert.ok(e instanceof TsbuildError && e.hint === undefined);
});

test('errors on a multi-line instruction cover all its lines', () => {
  fails('FROM a\nENV \\\n  # comment\n\n  \\\n', { message: 'ENV requires at least one argument', lines: [2, 5] });
  fails('FROM a\nCOPY --fro=x \\\n  a b\n', { message: 'unknown flag: --fro', lines: [2, 3], hint: 'did you mean from?' });
});

test('argument count errors', () => {
  const cases: Array<[string, string]> = [
    ['COPY onlyone', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['ADD x', 'ADD requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['ENV', 'ENV requires at least one argument'],
    ['ENV key', 'ENV must have two arguments'],
    ['LABEL', 'LABEL requires at least one argument'],
    ['ENV a=1 b', 'Syntax error - can\'t find = in "b". Must be of the form: name=value'],
    ['ENV =x', 'ENV names can not be blank'],
    ['ARG', 'ARG requires at least one argument'],
    ['ARG =x', 'ARG names can not be blank'],
    ['WORKDIR', 'WORKDIR requires exactly one argument'],
    ['USER', 'USER requires exactly one argument'],
    ['STOPSIGNAL', 'STOPSIGNAL requires exactly one argument'],
    ['MAINTAINER', 'MAINTAINER requires exactly one argument'],
    ['EXPOSE', 'EXPOSE requires at least one argument'],
    ['VOLUME', 'VOLUME requires at least one argument'],
    ['VOLUME ["/a", ""]', 'VOLUME specified can not be an empty string'],
    ['SHELL', 'SHELL requires at least one argument'],
    ['SHELL []', 'SHELL requires at least one argument'],
    ['SHELL /bin/bash -c', 'SHELL requires the arguments to be in JSON form'],
    ['CMD ["a", 1]', 'when using JSON array syntax, arrays must be comprised of strings only'],
    ['RUN [["nested"]]', 'when using JSON array syntax, arrays must be comprised of strings only'],
    ['HEALTHCHECK', 'HEALTHCHECK requires at least one argument'],
    ['HEALTHCHECK NONE x', 'HEALTHCHECK NONE takes no arguments'],
    ['HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD'],
    ['HEALTHCHECK CONNECT TCP 7000', 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)'],
    ['HEALTHCHECK --interval=5x CMD true', 'time: invalid duration "5x"'],
    ['HEALTHCHECK --timeout=10us CMD true', 'Interval "timeout" cannot be less than 1ms'],
    ['HEALTHCHECK --retries=-1 CMD true', '--retries must be at least 1 (not -1)'],
    ['HEALTHCHECK --retries=0 CMD true', '--retries must be at least 1 (not 0)'],
    ['HEALTHCHECK --retries=x CMD true', 'invalid value "x" for --retries: must be an integer'],
    ['ONBUILD', 'ONBUILD requires at least one argument'],
    ['ONBUILD ONBUILD RUN x', "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ['ONBUILD from x', "FROM isn't allowed as an ONBUILD trigger"],
    ['ONBUILD MAINTAINER x', "MAINTAINER isn't allowed as an ONBUILD trigger"],
    ['ONBUILD COPY a', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['FROM', 'FROM requires either one or three arguments'],
    ['FROM a b', 'FROM requires either one or three arguments'],
    ['FROM a AS b c', 'FROM requires either one or three arguments'],
    ['FROM a AS 1st', 'invalid name for build stage: "1st", name can\'t start with a number or contain symbols'],
    ['FROM a AS my/stage', 'invalid name for build stage: "my/stage", name can\'t start with a number or contain symbols'],
  ];
  for (const [line, message] of cases) fails(`FROM base\n${line}\n`, { message, lines: [2, 2] });
});

test('flag errors', () => {
  const cases: Array<[string, string, string?]> = [
    ['COPY --fro=x a b', 'unknown flag: --fro', 'did you mean from?'],
    ['RUN --mout=type=cache x', 'unknown flag: --mout', 'did you mean mount?'],
    ['ENV --x=1 a=b', 'unknown flag: --x'],
    ['COPY --from=a --from=b x y', 'duplicate flag specified: --from'],
    ['COPY --from x y', 'missing a value on flag: --from'],
    ['COPY --link= x y', 'missing a value on flag: --link'],
    ['COPY --link=yes x y', 'expecting boolean value for flag --link, not: yes'],
    ['ADD --parents x y', 'unknown flag: --parents'],
    ['FROM --platform linux/amd64 x', 'missing a value on flag: --platform'],
    ['HEALTHCHECK --intervall=1s CMD x', 'unknown flag: --intervall', 'did you mean interval?'],
    ['ONBUILD --x RUN y', 'unknown flag: --x'],
    ['CMD --doit ["a"]', 'unknown flag: --doit'],
  ];
  for (const [line, message, hint] of cases) {
    const text = line.startsWith('FROM') ? `${line}\n` : `FROM base\n${line}\n`;
    const at = line.startsWith('FROM') ? 1 : 2;
    fails(text, { message, lines: [at, at], ...(hint ? { hint } : {}) });
  }
});

test('directive errors point at the directive line', () => {
  fails('# syntax=a\n# escape=x\nFROM a\n', { message: "invalid escape token 'x' does not match ` or \\", lines: [2, 2] });
  fails('# escape=`\n# ESCAPE=\\\nFROM a\n', { message: 'only one escape parser directive can be used', lines: [2, 2] });
});

test('a file with no instructions is an error', () => {
  fails('', { message: 'file with no instructions', lines: [1, 1] });
  fails('# just a comment\n\n', { message: 'file with no instructions', lines: [2, 2] });
});

test('unterminated heredoc covers the instruction and the rest of the file', () => {
  fails('FROM a\nRUN <<EOF\necho hi\nEOFX\n', { message: 'unterminated heredoc', lines: [2, 4] });
  fails('FROM a\nRUN <<EOF\necho\n', { message: 'unterminated heredoc', lines: [2, 3] });
});

test('heredoc errors', () => {
  fails('FROM a\nCOPY a <<EOF\nx\nEOF\n', { message: 'COPY cannot accept a heredoc as a destination', lines: [2, 4] });
});
