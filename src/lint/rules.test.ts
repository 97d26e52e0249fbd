import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDockerfile } from '../dockerfile/index.js';
import { LINT_RULES, lint, parseCheckDirective } from './index.js';

const run = (text: string) => lint(parseDockerfile(text, 'Dockerfile'));
const rules = (text: string) => run(text).map((w) => w.rule);

/** Per rule: a Dockerfile that triggers it (with the expected message) and one that does not. */
const CASES: Record<string, { bad: string; message: RegExp; line: number; good: string }> = {
  StageNameCasing: { bad: 'FROM busybox AS BuilderBase\n', message: /^Stage name 'BuilderBase' should be lowercase$/, line: 1, good: 'FROM busybox AS builder-base\n' },
  FromAsCasing: { bad: 'FROM busybox as builder\n', message: /^'as' and 'FROM' keywords' casing do not match$/, line: 1, good: 'from busybox as builder\n' },
  NoEmptyContinuation: { bad: 'FROM busybox\nRUN echo a && \\\n\n  echo b\n', message: /^Empty continuation line$/, line: 3, good: 'FROM busybox\nRUN echo a && \\\n  echo b\n' },
  ConsistentInstructionCasing: { bad: 'FROM busybox\nRUN true\nrun true\n', message: /^Command 'run' should match the case of the command majority \(uppercase\)$/, line: 3, good: 'from busybox\nrun true\n' },
  DuplicateStageName: { bad: 'FROM busybox AS a\nFROM busybox AS a\n', message: /^Duplicate stage name "a", stage names should be unique$/, line: 2, good: 'FROM busybox AS a\nFROM busybox AS b\n' },
  ReservedStageName: { bad: 'FROM busybox AS scratch\n', message: /^Stage name should not use the same name as reserved stage "scratch"$/, line: 1, good: 'FROM busybox AS base\n' },
  JSONArgsRecommended: { bad: 'FROM busybox\nCMD echo hi\n', message: /^JSON arguments recommended for CMD to prevent unintended behavior related to OS signals$/, line: 2, good: 'FROM busybox\nCMD ["echo", "hi"]\nFROM busybox\nSHELL ["/bin/sh", "-c"]\nENTRYPOINT echo hi\n' },
  MaintainerDeprecated: { bad: 'FROM busybox\nMAINTAINER me\n', message: /^Maintainer instruction is deprecated in favor of using label$/, line: 2, good: 'FROM busybox\nLABEL org.opencontainers.image.authors=me\n' },
  UndefinedArgInFrom: { bad: 'ARG VERSION=1\nFROM busybox:${VERSIO}\n', message: /^FROM argument 'VERSIO' is not declared \(did you mean VERSION\?\)$/, line: 2, good: 'ARG VERSION=1\nFROM busybox:${VERSION}\nFROM --platform=$BUILDPLATFORM busybox\n' },
  WorkdirRelativePath: { bad: 'FROM busybox\nWORKDIR app\n', message: /^Relative workdir "app" can have unexpected results if the base image changes$/, line: 2, good: 'FROM busybox\nWORKDIR /app\nWORKDIR sub\n' },
  UndefinedVar: { bad: 'FROM busybox\nENV PATH=/x:$PATH\nCOPY $SRC /dst\n', message: /^Usage of undefined variable '\$SRC'$/, line: 3, good: 'FROM busybox\nARG SRC=a\nENV DEST=/d\nCOPY $SRC ${DEST} ${MISSING:-x}\n' },
  MultipleInstructionsDisallowed: { bad: 'FROM busybox\nCMD ["a"]\nCMD ["b"]\n', message: /^Multiple CMD instructions should not be used in the same stage because only the last one will be used$/, line: 2, good: 'FROM busybox AS a\nCMD ["a"]\nFROM busybox\nCMD ["b"]\n' },
  LegacyKeyValueFormat: { bad: 'FROM busybox\nENV A 1\n', message: /^"ENV key=value" should be used instead of legacy "ENV key value" format$/, line: 2, good: 'FROM busybox\nENV A=1\nLABEL a=b\n' },
  SecretsUsedInArgOrEnv: { bad: 'FROM busybox\nARG GITHUB_TOKEN\n', message: /^Do not use ARG or ENV instructions for sensitive data \(ARG "GITHUB_TOKEN"\)$/, line: 2, good: 'FROM busybox\nARG PUBLIC_KEY\nENV KEYBOARD=us\n' },
  InvalidDefaultArgInFrom: { bad: 'ARG TAG\nFROM busybox:${TAG}\n', message: /^Default value for ARG busybox:\$\{TAG\} results in empty or invalid base image name$/, line: 2, good: 'ARG TAG=latest\nFROM busybox:${TAG}\n' },
  RedundantTargetPlatform: { bad: 'FROM --platform=$TARGETPLATFORM busybox\n', message: /^Setting platform to predefined \$TARGETPLATFORM in FROM is redundant as this is the default behavior$/, line: 1, good: 'FROM --platform=$BUILDPLATFORM busybox\n' },
  FromPlatformFlagConstDisallowed: { bad: 'FROM --platform=linux/amd64 busybox AS build\n', message: /^FROM --platform flag should not use constant value "linux\/amd64"$/, line: 1, good: 'FROM --platform=linux/amd64 busybox AS build-amd64\n' },
  ExposeProtoCasing: { bad: 'FROM busybox\nEXPOSE 80/TCP\n', message: /^Defined protocol '80\/TCP' in EXPOSE instruction should be lowercase$/, line: 2, good: 'FROM busybox\nEXPOSE 80/tcp 53/udp 8080\n' },
  ExposeInvalidFormat: { bad: 'FROM busybox\nEXPOSE 8080:80\n', message: /^EXPOSE instruction should not define an IP address or host-port mapping, found '8080:80'$/, line: 2, good: 'FROM busybox\nEXPOSE 80\n' },
};

describe('build checks: each rule fires on a Dockerfile that breaks it, and not on one that keeps it', () => {
  test('every rule has a case', () => assert.deepEqual(LINT_RULES.map((r) => r.name).sort(), Object.keys(CASES).sort()));
  for (const [rule, c] of Object.entries(CASES)) {
    test(rule, () => {
      const hits = run(c.bad).filter((w) => w.rule === rule);
      assert.equal(hits.length, 1, `${rule} on:\n${c.bad}\ngot ${JSON.stringify(run(c.bad))}`);
      assert.match(hits[0]!.message, c.message);
      assert.equal(hits[0]!.location.startLine, c.line);
      assert.ok(hits[0]!.location.column >= 1);
      assert.ok(hits[0]!.description.length > 0 && !/https?:/.test(hits[0]!.description), 'a URL-free description');
      assert.deepEqual(run(c.good).filter((w) => w.rule === rule), [], `${rule} on:\n${c.good}`);
    });
  }
});

test('a clean Dockerfile (fixtures/hello style) has no findings', () => {
  const df = '# comment\nARG BASE=busybox:latest\n\nFROM ${BASE} AS build\nARG GREETING=Hello\nWORKDIR /src\nCOPY a b ./\nRUN echo "${GREETING}"\n\nFROM ${BASE}\nENV APP_HOME=/app \\\n    APP_USER=app\nWORKDIR $APP_HOME\nCOPY --from=build /src/a ./\nUSER app\nCMD ["/app/a"]\n';
  assert.deepEqual(run(df), []);
});

test('columns point at the offending word', () => {
  const [w] = run('FROM busybox AS Builder\n').filter((x) => x.rule === 'StageNameCasing');
  assert.equal(w!.location.column, 17);
});

test('# check=skip=… turns rules off; skip=all turns all off; error=true is reported', () => {
  const bad = 'FROM busybox AS Build\nCMD echo hi\nMAINTAINER me\n';
  assert.deepEqual(rules(bad), ['StageNameCasing', 'JSONArgsRecommended', 'MaintainerDeprecated']);
  assert.deepEqual(rules(`# check=skip=JSONArgsRecommended,StageNameCasing\n${bad}`), ['MaintainerDeprecated']);
  assert.deepEqual(rules(`# check=skip=all\n${bad}`), []);
  assert.deepEqual(parseCheckDirective('skip=A, B;error=true'), { skip: new Set(['A', 'B']), error: true });
  assert.deepEqual(parseCheckDirective('error=false'), { skip: new Set(), error: false });
  assert.deepEqual(parseCheckDirective(undefined), { skip: new Set(), error: false });
});
