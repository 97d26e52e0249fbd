import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { BuildEvent } from '../../src/api/index.js';
import { JsonProgress, PlainProgress, TtyProgress, resolveMode, type BuildSummary } from '../../src/cli/progress/index.js';
import { screen } from '../../src/cli/progress/vt.js';
import { validate, type Schema } from '../../src/cli/schema.js';
import { TsbuildError } from '../../src/util/index.js';
import { REPO } from '../helpers/env.js';

type Step = Extract<BuildEvent, { type: 'step.start' }>['step'];
const step = (id: string, title: string, line = 2): Step =>
  ({ id, stage: Number(id.split('/')[0]), op: { kind: 'run' }, title, createdBy: title, loc: { file: '/ctx/Dockerfile', startLine: line, endLine: line } }) as unknown as Step;
const A = step('0/0', 'RUN echo a');
const B = step('0/1', 'RUN make', 3);
const SUMMARY: BuildSummary = { id: `sha256:${'1'.repeat(64)}`, digest: `sha256:${'2'.repeat(64)}`, size: 1234567, tags: ['app:1'], ms: 2500 };

function clock() {
  let t = 1_700_000_000_000;
  return { now: () => t, tick: (ms: number) => (t += ms) };
}

function capture() {
  const chunks: string[] = [];
  return { write: (s: string) => void chunks.push(s), text: () => chunks.join(''), chunks };
}

export const SCHEMA = JSON.parse(fs.readFileSync(path.join(REPO, 'src/cli/progress-events.schema.json'), 'utf8')) as Schema;

describe('progress mode', () => {
  const env = {};
  test('auto is tty on a terminal, plain otherwise and in CI; the flag beats $TSBUILD_PROGRESS; -q wins', () => {
    assert.equal(resolveMode({ quiet: false, env, isTTY: true, flag: undefined }), 'tty');
    assert.equal(resolveMode({ quiet: false, env, isTTY: false, flag: undefined }), 'plain');
    assert.equal(resolveMode({ quiet: false, env: { CI: 'true' }, isTTY: true, flag: undefined }), 'plain');
    assert.equal(resolveMode({ quiet: false, env: { TSBUILD_PROGRESS: 'json' }, isTTY: true, flag: undefined }), 'json');
    assert.equal(resolveMode({ quiet: false, env: { TSBUILD_PROGRESS: 'json' }, isTTY: true, flag: 'plain' }), 'plain');
    assert.equal(resolveMode({ quiet: true, env, isTTY: true, flag: 'tty' }), 'quiet');
    assert.equal(resolveMode({ quiet: false, env, isTTY: false, flag: 'rawjson' }), 'json');
    assert.throws(() => resolveMode({ quiet: false, env, isTTY: false, flag: 'fancy' }), /invalid progress mode/);
  });
});

describe('tty progress', () => {
  test('redraws one line per step in place, with elapsed time, the output tail, CACHED and a summary', () => {
    const c = clock();
    const out = capture();
    const p = new TtyProgress({ write: out.write, now: c.now, columns: 80, rows: 24, env: { NO_COLOR: '1' } }, { intervalMs: 0 });
    p.onEvent({ type: 'step.cached', step: A, label: 'stage-0 1/2' });
    p.onEvent({ type: 'step.start', step: B, label: 'stage-0 2/2' });
    c.tick(1200);
    p.onEvent({ type: 'step.log', step: B, stream: 'stdout', chunk: Buffer.from('compiling 1\ncompiling 2\npart') });
    p.render(false);
    const first = screen(out.text());
    assert.deepEqual(first, [
      '[+] Building 1.2s (1/2)',
      ' => CACHED [stage-0 1/2] RUN echo a                                        0.0s',
      ' => [stage-0 2/2] RUN make                                                 1.2s',
      ' => => # compiling 1',
      ' => => # compiling 2',
    ]);
    c.tick(900);
    p.onEvent({ type: 'step.done', step: B, label: 'stage-0 2/2', ms: 2100 });
    p.done(SUMMARY);
    const raw = out.text();
    assert.match(raw, /\x1b\[5A/, 'the second frame moves up over the first one');
    assert.match(raw, /\x1b\[2K/, 'and erases the lines it rewrites');
    const final = screen(raw);
    assert.deepEqual(final.slice(0, 3), [
      '[+] Building 2.1s (2/2) FINISHED',
      ' => CACHED [stage-0 1/2] RUN echo a                                        0.0s',
      ' => [stage-0 2/2] RUN make                                                 2.1s',
    ]);
    assert.ok(!final.some((l) => l.includes('=> => #')), 'a finished step drops its output tail');
    const rest = final.slice(3).join('\n');
    assert.match(rest, /built sha256:1{64} in 2\.5s/);
    assert.match(rest, /naming to app:1/);
    assert.match(rest, /Build summary: 2 steps \(1 run, 1 cached\) in 2\.5s/);
    assert.match(rest, /digest {4}sha256:2{64}/);
    assert.match(rest, /size {6}1\.2MB/);
    assert.doesNotMatch(raw, /\x1b\[3\dm/, 'NO_COLOR: no colours');
  });

  test('lines never wrap: long titles are clipped to the terminal width', () => {
    const out = capture();
    const p = new TtyProgress({ write: out.write, columns: 40, env: { NO_COLOR: '1' } }, { intervalMs: 0 });
    p.onEvent({ type: 'step.start', step: step('0/0', `RUN ${'x'.repeat(200)}`), label: 'stage-0 1/1' });
    p.render(false);
    for (const l of screen(out.text())) assert.ok(Array.from(l).length <= 39, l);
  });

  test('pull and push progress show byte bars, and colours are on for a terminal', () => {
    const out = capture();
    const p = new TtyProgress({ write: out.write, columns: 100, env: { FORCE_COLOR: '1' } }, { intervalMs: 0 });
    p.onEvent({ type: 'pull.progress', ref: 'docker.io/library/alpine:3', digest: `sha256:${'a'.repeat(64)}`, current: 1_500_000, total: 3_000_000 });
    p.onEvent({ type: 'push.progress', ref: 'localhost:5000/app:1', digest: `sha256:${'b'.repeat(64)}`, current: 0, total: 10, exists: true });
    p.render(false);
    const s = screen(out.text());
    assert.ok(s.some((l) => /pulling docker.io\/library\/alpine:3 sha256:aaaaaaaaaaaa \[=========>          \] 1\.5MB \/ 3\.0MB/.test(l)), s.join('\n'));
    assert.ok(s.some((l) => /pushing localhost:5000\/app:1 sha256:bbbbbbbbbbbb already exists/.test(l)), s.join('\n'));
    assert.match(out.text(), /\x1b\[1m/, 'bold header with FORCE_COLOR');
  });

  test('a failed build marks the step ERROR and keeps the frame', () => {
    const out = capture();
    const p = new TtyProgress({ write: out.write, columns: 80, env: { NO_COLOR: '1' } }, { intervalMs: 0 });
    p.onEvent({ type: 'step.start', step: B, label: 'stage-0 2/2' });
    const e = new TsbuildError('TSB_RUN_FAILED', 'boom');
    e.step = 'RUN make';
    p.failed(e);
    const s = screen(out.text());
    assert.match(s[0]!, /ERROR$/);
    assert.match(s[1]!, /=> ERROR \[stage-0 2\/2\] RUN make/);
  });
});

describe('plain progress', () => {
  test('numbered, timestamped lines and the full, unclipped output of every step', () => {
    const c = clock();
    const out = capture();
    const p = new PlainProgress({ write: out.write, now: c.now, env: {} });
    p.onEvent({ type: 'step.cached', step: A, label: 'stage-0 1/2' });
    p.onEvent({ type: 'step.start', step: B, label: 'stage-0 2/2' });
    const big = Array.from({ length: 50_000 }, (_, i) => `line ${i} ${'y'.repeat(90)}`).join('\n'); // ~5 MB
    for (let i = 0; i < big.length; i += 65536) p.onEvent({ type: 'step.log', step: B, stream: 'stdout', chunk: Buffer.from(big.slice(i, i + 65536)) });
    c.tick(1500);
    p.onEvent({ type: 'step.done', step: B, label: 'stage-0 2/2', ms: 1500, layerSize: 2048 });
    p.done(SUMMARY);
    const lines = out.text().split('\n');
    assert.equal(lines[0], '#1 0.000  => CACHED [stage-0 1/2] RUN echo a');
    assert.equal(lines[1], '#2 0.000  => [stage-0 2/2] RUN make');
    const logged = lines.filter((l) => l.startsWith('#2 ') && !l.includes(' => '));
    assert.equal(logged.length, 50_000, 'every line, none dropped');
    assert.equal(logged.map((l) => l.replace(/^#2 \d+\.\d{3} /, '')).join('\n'), big, 'byte for byte');
    assert.ok(lines.includes('#2 1.500  => DONE 1.5s, layer 2.0kB'));
    assert.ok(lines.some((l) => /Build summary: 2 steps \(1 run, 1 cached\)/.test(l)));
  });

  test('warnings are listed after the build with their rule and line', () => {
    const out = capture();
    const p = new PlainProgress({ write: out.write, env: {} });
    p.onEvent({ type: 'warning', message: 'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals', rule: 'JSONArgsRecommended', location: { file: '/x/Dockerfile', startLine: 4, endLine: 4 } });
    p.onEvent({ type: 'warning', message: 'One or more build-args [X] were not consumed' });
    p.done(SUMMARY);
    assert.match(out.text(), /2 warnings found/);
    assert.match(out.text(), / - JSONArgsRecommended: JSON arguments recommended for CMD .* \(\/x\/Dockerfile:4\)/);
    assert.match(out.text(), / - One or more build-args \[X\] were not consumed/);
  });
});

describe('json progress', () => {
  test('every event validates against the versioned schema; logs are utf8 or base64 as flagged', () => {
    const out = capture();
    const p = new JsonProgress({ write: out.write });
    const digest = `sha256:${'c'.repeat(64)}`;
    const events: BuildEvent[] = [
      { type: 'stage.base', stage: 0, label: 'stage-0' },
      { type: 'pull.progress', ref: 'alpine:3', digest, current: 10, total: 100 },
      { type: 'pull.progress', ref: 'alpine:3', digest, current: 100, total: 100, done: true },
      { type: 'push.progress', ref: 'reg/app:1', digest, current: 0, exists: true, done: true },
      { type: 'step.cached', step: A, label: 'stage-0 1/2' },
      { type: 'step.start', step: B, label: 'stage-0 2/2' },
      { type: 'step.log', step: B, stream: 'stdout', chunk: Buffer.from('héllo\n') },
      { type: 'step.log', step: B, stream: 'stderr', chunk: Buffer.from([0xff, 0xfe, 0x00]) },
      { type: 'step.done', step: B, label: 'stage-0 2/2', ms: 12, layerSize: 99 },
      { type: 'warning', message: 'w', rule: 'UndefinedVar', description: 'd', location: { file: 'Dockerfile', startLine: 3, endLine: 3, column: 5 } },
    ];
    for (const e of events) p.onEvent(e);
    p.done(SUMMARY);
    const lines = out.text().trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, events.length + 1);
    for (const l of lines) assert.deepEqual(validate(l, SCHEMA), [], JSON.stringify(l));
    const logs = lines.filter((l) => l.type === 'step.log');
    assert.deepEqual([logs[0].encoding, logs[0].data], ['utf8', 'héllo\n']);
    assert.deepEqual(Buffer.from(logs[1].data, logs[1].encoding), Buffer.from([0xff, 0xfe, 0x00]));
    assert.deepEqual(lines.at(-1).steps, { total: 2, run: 1, cached: 1 });
  });

  test('a failure ends the stream with step.error and error events that validate', () => {
    const out = capture();
    const p = new JsonProgress({ write: out.write });
    p.onEvent({ type: 'step.start', step: B, label: 'stage-0 2/2' });
    const e = new TsbuildError('TSB_RUN_FAILED', 'exit code: 2', { hint: 'h', details: ['a', 'b'], location: { file: 'Dockerfile', startLine: 3, endLine: 3 } });
    e.step = 'RUN make';
    p.failed(e);
    assert.ok(p.rendersError);
    const lines = out.text().trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.type), ['step.start', 'step.error', 'error']);
    for (const l of lines) assert.deepEqual(validate(l, SCHEMA), [], JSON.stringify(l));
    assert.deepEqual(lines[2].details, ['a', 'b']);
  });

  test('the validator rejects what the schema forbids', () => {
    const ok = { v: 1, type: 'step.start', time: new Date().toISOString(), step: { id: '0/0', n: 1, label: 'x', title: 't', stage: 0 } };
    assert.deepEqual(validate(ok, SCHEMA), []);
    assert.notDeepEqual(validate({ ...ok, v: 2 }, SCHEMA), []);
    assert.notDeepEqual(validate({ ...ok, extra: 1 }, SCHEMA), []);
    assert.notDeepEqual(validate({ ...ok, type: 'step.nope' }, SCHEMA), []);
    assert.notDeepEqual(validate({ ...ok, step: { ...ok.step, n: 0 } }, SCHEMA), []);
    assert.notDeepEqual(validate({ v: 1, type: 'step.log', time: ok.time, step: ok.step, stream: 'stdout', encoding: 'hex', data: '' }, SCHEMA), []);
  });
});
