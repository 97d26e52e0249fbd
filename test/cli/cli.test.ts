import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { COMMAND_HELP } from '../../src/cli/help.js';
import { makeContext, REPO, tempDir, tsbuild } from '../helpers/env.js';

const root = tempDir('tsb-cli-');
after(() => fs.rmSync(root, { recursive: true, force: true }));
const cli = (args: string[], input?: string) => tsbuild(root, args, input === undefined ? {} : { input });

describe('help', () => {
  for (const name of Object.keys(COMMAND_HELP)) {
    test(`tsbuild ${name} --help and tsbuild help ${name} show usage, options and examples`, () => {
      const a = cli(name === 'help' ? ['help', 'help'] : [name, '--help']);
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stdout, new RegExp(`^Usage: tsbuild ${name}`));
      assert.match(a.stdout, /\nExamples:\n {2}\S/);
      assert.equal(cli(['help', name]).stdout, a.stdout);
    });
  }
  test('build help lists every build flag the parser accepts', () => {
    const text = cli(['build', '--help']).stdout;
    const src = fs.readFileSync(path.join(REPO, 'src/cli/commands.ts'), 'utf8');
    const block = src.slice(src.indexOf('const BUILD_OPTIONS'), src.indexOf('];', src.indexOf('const BUILD_OPTIONS')));
    for (const [, long] of block.matchAll(/long: '([a-z-]+)'/g)) assert.match(text, new RegExp(`--${long}\\b`), `--${long} is documented`);
  });
  test('-h after a run image belongs to the container, and unknown topics are usage errors', () => {
    assert.equal(cli(['help', 'nosuch']).code, 2);
    assert.match(cli(['-h']).stdout, /Commands:/);
  });
});

describe('completion', () => {
  const bash = (words: string[]) => {
    const script = `source <(${JSON.stringify(path.join(REPO, 'bin/tsbuild'))} completion bash)
COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _tsbuild; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n');
  };
  test('bash: commands, a command\'s flags, and flag values', () => {
    assert.ok(bash(['tsbuild', 'bu']).includes('build'));
    assert.ok(bash(['tsbuild', '--root', '/x', 'im']).includes('images'));
    assert.deepEqual(bash(['tsbuild', 'build', '--prog']), ['--progress']);
    assert.deepEqual(bash(['tsbuild', 'build', '--progress', 'p']), ['plain']);
    assert.deepEqual(bash(['tsbuild', 'build', '--call', 'o']), ['outline']);
    assert.ok(bash(['tsbuild', 'run', '--']).includes('--entrypoint'));
  });
  test('zsh: a #compdef script that defines _tsbuild (syntax-checked when zsh is present)', () => {
    const r = cli(['completion', 'zsh']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^#compdef tsbuild\n/);
    assert.match(r.stdout, /'build:Build an image/);
    if (spawnSync('sh', ['-c', 'command -v zsh']).status === 0) assert.equal(spawnSync('zsh', ['-n'], { input: r.stdout }).status, 0);
    assert.equal(spawnSync('bash', ['-n'], { input: cli(['completion', 'bash']).stdout }).status, 0, 'bash script parses');
    assert.equal(cli(['completion', 'fish']).code, 2);
  });
});

describe('build --check, --call outline|targets (no build, no sandbox)', () => {
  test('--check prints each warning with file:line:col, a code frame and the description; exit 1', () => {
    const ctx = makeContext({ Dockerfile: 'FROM busybox AS Build\nRUN true\nCMD echo hi\n' });
    const r = cli(['build', '--check', ctx]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /Check complete, 2 warnings have been found!/);
    assert.match(r.stdout, /WARN: StageNameCasing: Stage name 'Build' should be lowercase\n --> \S*Dockerfile:1:17\n/);
    assert.match(r.stdout, / {3}1 \| >>> FROM busybox AS Build/);
    assert.match(r.stdout, /WARN: JSONArgsRecommended: .*\n --> \S*Dockerfile:3:1\n/);
    assert.match(r.stdout, / = Stage names should be lowercase/);
    assert.doesNotMatch(r.stdout, /https?:\/\//);
    fs.rmSync(ctx, { recursive: true });
  });
  test('--call check on a clean Dockerfile: exit 0; # check=skip and error=true are honoured', () => {
    const clean = makeContext({ Dockerfile: 'FROM busybox\nCMD ["true"]\n' });
    const r = cli(['build', '--call', 'check', clean]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /no warnings found/);
    const skipped = makeContext({ Dockerfile: '# check=skip=JSONArgsRecommended\nFROM busybox\nCMD echo hi\n' });
    assert.equal(cli(['build', '--check', skipped]).code, 0);
    const strict = makeContext({ Dockerfile: '# check=error=true\nFROM busybox\nCMD echo hi\n' });
    const s = cli(['build', '--check', strict]);
    assert.equal(s.code, 1);
    assert.match(s.stdout, /lint violation found for rules: JSONArgsRecommended/);
    const json = JSON.parse(cli(['build', '--call', 'check,format=json', strict]).stdout);
    assert.equal(json.warnings[0].rule, 'JSONArgsRecommended');
    assert.equal(json.error, true);
    for (const d of [clean, skipped, strict]) fs.rmSync(d, { recursive: true });
  });
  test('a syntax error during --check is an error with a code frame, the code and a hint', () => {
    const ctx = makeContext({ Dockerfile: 'FROM busybox\nRUN echo ok\nCOPPY a b\n' });
    const r = cli(['build', '--check', ctx]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: unknown instruction "COPPY" \[TSB_DOCKERFILE_UNKNOWN_INSTRUCTION\]\n --> \S*Dockerfile:3:1\n/);
    assert.match(r.stderr, / {3}3 \| >>> COPPY a b/);
    assert.match(r.stderr, / {3}2 \| {5}RUN echo ok/);
    assert.match(r.stderr, /hint: did you mean COPY\?/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack without --debug');
    const d = cli(['--debug', 'build', '--check', ctx]);
    assert.match(d.stderr, /TsbuildError: unknown instruction[\s\S]*at /, '--debug adds the stack');
    assert.match(cli(['build', '--debug', '--check', ctx]).stderr, /TsbuildError: unknown instruction[\s\S]*at /);
    fs.rmSync(ctx, { recursive: true });
  });
  test('--call outline lists stages, their comments and the ARGs each uses; --call targets lists the targets', () => {
    const r = cli(['build', '--call', 'outline', path.join(REPO, 'fixtures/hello')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TARGET: {6}build\nFROM: {8}\$\{BASE\} \(line 4\)/);
    assert.match(r.stdout, /BASE {8}busybox:latest {3}\(global\) A two-stage build/);
    assert.match(r.stdout, /GREETING {4}Hello/);
    assert.match(r.stdout, /TARGET: {6}stage-1 \(default\)/);
    const ctx = makeContext({ Dockerfile: '# the compiler stage\nFROM busybox AS build\n# version to build\nARG VERSION=1.0\nRUN true\n\n# the runtime\nFROM busybox AS runtime\n' });
    const t = cli(['build', '--call', 'targets', ctx]);
    assert.match(t.stdout, /^TARGET {14}DESCRIPTION\nbuild {15}the compiler stage\nruntime \(default\) {3}the runtime\n$/);
    const o = JSON.parse(cli(['build', '--call', 'outline,format=json', '--target', 'build', ctx]).stdout);
    assert.equal(o.target, 0);
    assert.deepEqual(o.stages[0].args, [{ name: 'VERSION', global: false, line: 4, defaultValue: '1.0', description: 'version to build' }]);
    assert.equal(cli(['build', '--call', 'frobnicate', ctx]).code, 2);
    fs.rmSync(ctx, { recursive: true });
  });
  test('an invalid --progress is a usage error', () => {
    const ctx = makeContext({ Dockerfile: 'FROM busybox\n' });
    const r = cli(['build', '--progress', 'fancy', ctx]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid progress mode "fancy" \[TSB_USAGE\]/);
    fs.rmSync(ctx, { recursive: true });
  });
});
