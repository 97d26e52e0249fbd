import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { screen } from '../../src/cli/progress/vt.js';
import { validate, type Schema } from '../../src/cli/schema.js';
import { makeContext, removeStore, REPO, requireSandbox, storeWithBusybox, tempDir } from '../helpers/env.js';

const SCHEMA = JSON.parse(fs.readFileSync(path.join(REPO, 'src/cli/progress-events.schema.json'), 'utf8')) as Schema;
const BIN = path.join(REPO, 'bin/tsbuild');
const env = (extra: Record<string, string> = {}) => {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete e.CI; // auto mode must see the terminal, not the CI variable
  delete e.TSBUILD_PROGRESS;
  delete e.FORCE_COLOR;
  return e;
};

/** Runs tsbuild with plain pipes (big buffers: a step may print megabytes). */
function run(root: string, args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(BIN, ['--root', root, ...args], { encoding: 'utf8', env: env(extra), maxBuffer: 256 << 20, timeout: 180_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs tsbuild under a pseudo-terminal (util-linux `script`), 100x40; returns the raw bytes the terminal got. */
function runTty(root: string, args: string[]) {
  const cmd = `stty cols 100 rows 40; exec ${[BIN, '--root', root, ...args].map(shq).join(' ')}`;
  const r = spawnSync('script', ['-q', '-e', '-c', cmd, '/dev/null'], { encoding: 'utf8', env: env(), maxBuffer: 64 << 20, timeout: 180_000, input: '' });
  return { code: r.status ?? -1, raw: r.stdout, screen: screen(r.stdout) };
}

describe('build progress as a user sees it', () => {
  let root = '';
  let work = '';
  before(() => {
    if (process.getuid?.() === 0) root = storeWithBusybox();
    work = tempDir('tsb-progress-');
  });
  after(() => {
    if (root) removeStore(root);
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('tty (auto on a terminal): redrawn step lines, CACHED on a rebuild, the summary', (t) => {
    if (!requireSandbox(t, ['script'])) return;
    const first = runTty(root, ['build', '-t', 'hello:tty', path.join(REPO, 'fixtures/hello')]);
    assert.equal(first.code, 0, first.screen.join('\n'));
    assert.match(first.raw, /\x1b\[\d+A/, 'frames are redrawn in place (cursor up)');
    assert.match(first.raw, /\x1b\[2K/, 'lines are erased before being rewritten');
    const s = first.screen;
    assert.match(s[0]!, /^\[\+\] Building \d+\.\ds \(6\/6\) FINISHED$/);
    for (const label of ['build 1/3', 'build 2/3', 'build 3/3', 'stage-1 1/3', 'stage-1 2/3', 'stage-1 3/3']) {
      assert.equal(s.filter((l) => l.includes(`=> [${label}] `)).length, 1, `one line for ${label}:\n${s.join('\n')}`);
    }
    assert.ok(s.every((l) => l.length <= 100), 'no line wider than the terminal');
    assert.ok(s.some((l) => /^Build summary: 6 steps \(\d run, \d cached\) in \d+\.\ds$/.test(l)), s.join('\n'));
    assert.ok(s.some((l) => /^ {2}image id {2}sha256:[0-9a-f]{64}$/.test(l)));
    assert.ok(s.some((l) => /^ {2}digest {4}sha256:[0-9a-f]{64}$/.test(l)));
    assert.ok(s.some((l) => /^ {2}size {6}\d+(\.\d)?[kM]?B$/.test(l)));
    assert.ok(s.includes(' => naming to hello:tty'));

    const again = runTty(root, ['build', '-t', 'hello:tty', path.join(REPO, 'fixtures/hello')]);
    assert.equal(again.code, 0);
    assert.equal(again.screen.filter((l) => / => CACHED \[(build|stage-1) \d\/3\] .* 0\.0s$/.test(l)).length, 6, again.screen.join('\n'));
    assert.ok(again.screen.some((l) => /^Build summary: 6 steps \(0 run, 6 cached\)/.test(l)));
    fs.writeFileSync(path.join(work, 'hello-tty.txt'), `${first.screen.join('\n')}\n`);
  });

  test('tty: a running step shows its elapsed time and the last lines of its output while it runs', (t) => {
    if (!requireSandbox(t, ['script'])) return;
    const ctx = makeContext({ Dockerfile: 'FROM busybox\nRUN for i in 1 2 3 4 5 6 7 8 9; do echo tick $i; sleep 0.2; done\n' });
    const r = runTty(root, ['build', '--no-cache', '--progress', 'tty', ctx]);
    assert.equal(r.code, 0, r.screen.join('\n'));
    assert.match(r.raw, / => => # tick 3/, 'the output tail is drawn under the running step');
    const frames = r.raw.split(/\x1b\[\d+A/);
    assert.ok(frames.length > 5, `redrawn many times (${frames.length})`);
    const times = [...r.raw.matchAll(/=> \[stage-0 1\/1\] RUN for i[^\r\n]*?(\d+\.\d)s/g)].map((m) => Number(m[1]));
    assert.ok(times.length > 3 && times[times.length - 1]! > times[0]!, `elapsed time grows: ${times.join(' ')}`);
    assert.ok(!r.screen.some((l) => l.includes('=> => #')), 'the final frame drops the tail');
    fs.rmSync(ctx, { recursive: true });
  });

  test('plain: numbered, timestamped lines and the unclipped output of a step that prints 5 MB', (t) => {
    if (!requireSandbox(t)) return;
    const pad = 'x'.repeat(100);
    const ctx = makeContext({ Dockerfile: `FROM busybox\nRUN seq 1 50000 | sed 's/^/${pad} /'\n` });
    const r = run(root, ['build', '--no-cache', ctx]);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const lines = r.stderr.split('\n');
    assert.match(lines[0]!, /^#1 \d+\.\d{3}  => \[stage-0 1\/1\] RUN seq 1 50000/);
    const logged = lines.filter((l) => /^#1 \d+\.\d{3} x{100} \d+$/.test(l)).map((l) => l.replace(/^#1 \S+ /, ''));
    const out = logged.map((l) => Number(l.split(' ').pop()));
    assert.equal(out.length, 50000, 'every line of output');
    assert.deepEqual(out, Array.from({ length: 50000 }, (_, i) => i + 1), 'in order');
    assert.ok(logged.reduce((n, l) => n + l.length + 1, 0) > 5_000_000, 'more than 5 MB of output, all shown');
    assert.ok(lines.some((l) => /^#1 \d+\.\d{3}  => DONE \d+\.\ds/.test(l)));
    assert.ok(lines.some((l) => /^Build summary: 1 step \(1 run, 0 cached\)/.test(l)));
    fs.rmSync(ctx, { recursive: true });
  });

  test('json: the event stream validates against its schema and carries every byte of output', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = makeContext({ Dockerfile: 'FROM busybox\nRUN printf "h\\303\\251llo\\n"; printf "\\377\\376" >&2\nCOPY a.txt /a.txt\n', 'a.txt': 'a' });
    const r = run(root, ['build', '--no-cache', '--progress', 'json', '-t', 'json:1', ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const events = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l));
    for (const e of events) assert.deepEqual(validate(e, SCHEMA), [], JSON.stringify(e));
    const types = events.map((e) => e.type);
    assert.deepEqual([...new Set(types)].sort(), ['result', 'stage.base', 'step.done', 'step.log', 'step.start']);
    const bytes = (stream: string) => Buffer.concat(events.filter((e) => e.type === 'step.log' && e.stream === stream).map((e) => Buffer.from(e.data, e.encoding)));
    assert.equal(bytes('stdout').toString(), 'héllo\n');
    assert.deepEqual(bytes('stderr'), Buffer.from([0xff, 0xfe]));
    const result = events.at(-1);
    assert.equal(result.type, 'result');
    assert.deepEqual(result.tags, ['json:1']);
    assert.deepEqual(result.steps, { total: 2, run: 2, cached: 0 });
    const again = run(root, ['build', '--progress=json', ctx]);
    assert.ok(again.stderr.includes('"type":"step.cached"'));
    fs.rmSync(ctx, { recursive: true });
  });

  test('a failing RUN: one error with the code, the step, a code frame and the last 20 output lines', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = makeContext({ Dockerfile: 'FROM busybox\nRUN echo before\nRUN for i in $(seq 1 30); do echo out $i; done; exit 3\nRUN echo after\n' });
    const r = run(root, ['build', ctx]);
    assert.equal(r.code, 1);
    const err = r.stderr.slice(r.stderr.indexOf('\nerror:') + 1);
    assert.match(err, /^error: process "\/bin\/sh -c for i .*" did not complete successfully: exit code: 3 \[TSB_RUN_FAILED\]\n/);
    assert.match(err, /\n step: RUN for i/);
    assert.match(err, /\n --> \S*Dockerfile:3:1\n/);
    assert.match(err, / {3}3 \| >>> RUN for i in \$\(seq 1 30\)/);
    assert.match(err, / {3}2 \| {5}RUN echo before/);
    assert.match(err, /output \(last \d+ lines\):\n {2}\| out \d+/);
    assert.match(err, / {2}\| out 30\n/);
    const tail = err.split('\n').filter((l) => l.startsWith('  | out ')).length;
    assert.equal(tail, 20, `the last 20 output lines: ${tail}`);
    assert.match(err, / {2}\| out 11\n/);
    assert.doesNotMatch(err, / {2}\| out 10\n/);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1);
    assert.match(r.stderr, /#\d+ \d+\.\d{3} out 1\n/, 'plain mode showed the full output as it ran');
    assert.match(r.stderr, /=> ERROR \[stage-0 2\/3\]/);

    const json = run(root, ['build', '--progress', 'json', ctx]);
    assert.equal(json.code, 1);
    const events = json.stderr.trimEnd().split('\n').map((l) => JSON.parse(l));
    for (const e of events) assert.deepEqual(validate(e, SCHEMA), [], JSON.stringify(e));
    const last = events.at(-1);
    assert.equal(last.type, 'error');
    assert.equal(last.code, 'TSB_RUN_FAILED');
    assert.equal(last.location.line, 3);
    assert.ok(events.some((e) => e.type === 'step.error' && e.step.label === 'stage-0 2/3'));

    const tty = runTty(root, ['build', ctx]);
    assert.equal(tty.code, 1);
    assert.ok(tty.screen.some((l) => /^\[\+\] Building .* ERROR$/.test(l)), tty.screen.join('\n'));
    assert.ok(tty.screen.some((l) => / => ERROR \[stage-0 2\/3\] RUN for i/.test(l)));
    assert.ok(tty.screen.some((l) => /^error: .*\[TSB_RUN_FAILED\]$/.test(l)));
    fs.rmSync(ctx, { recursive: true });
  });

  test('a syntax error in a real build: code frame, code, hint', (t) => {
    if (!requireSandbox(t)) return;
    const ctx = makeContext({ Dockerfile: 'FROM busybox\nRUN echo ok\nCOPPY a b\n' });
    const r = run(root, ['build', ctx]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: unknown instruction "COPPY" \[TSB_DOCKERFILE_UNKNOWN_INSTRUCTION\]\n --> \S*Dockerfile:3:1\n/);
    assert.match(r.stderr, / {3}3 \| >>> COPPY a b/);
    assert.match(r.stderr, /hint: did you mean COPY\?/);
    fs.rmSync(ctx, { recursive: true });
  });

  test('-q prints only the image id; --iidfile and --metadata-file are written as buildx writes them', (t) => {
    if (!requireSandbox(t)) return;
    const iid = path.join(work, 'iid');
    const meta = path.join(work, 'meta.json');
    const r = run(root, ['build', '-q', '--iidfile', iid, '--metadata-file', meta, '-t', 'meta:1', '-t', 'meta:2', path.join(REPO, 'fixtures/hello')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(r.stderr, '');
    assert.equal(fs.readFileSync(iid, 'utf8'), r.stdout.trim());
    const m = JSON.parse(fs.readFileSync(meta, 'utf8'));
    assert.equal(m['containerimage.config.digest'], r.stdout.trim());
    assert.match(m['containerimage.digest'], /^sha256:[0-9a-f]{64}$/);
    assert.equal(m['containerimage.descriptor'].digest, m['containerimage.digest']);
    assert.equal(m['image.name'], 'meta:1,meta:2');
  });
});
