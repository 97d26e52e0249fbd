import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validate, type Schema } from '../../src/cli/schema.js';
import { REPO, makeContext, removeStore, requireSandbox, storeWithBusybox, tsbuild } from '../helpers/env.js';

const SCHEMA = JSON.parse(fs.readFileSync(path.join(REPO, 'src/cli/progress-events.schema.json'), 'utf8')) as Schema;

const DOCKERFILE = `FROM busybox:latest
ARG V=1
WORKDIR /app
COPY . /app/
RUN echo "v=$V" > /app/v.txt
RUN cat /app/a.txt /app/v.txt > /app/all.txt
`;

/** The explanation block of a plain build: `MISS`/`CACHED` step lines and the reasons under each. */
function explanation(stderr: string): Array<{ mark: string; label: string; title: string; reasons: string[] }> {
  const lines = stderr.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Cache explanation:'));
  assert.ok(start >= 0, `no explanation in:\n${stderr}`);
  const out: Array<{ mark: string; label: string; title: string; reasons: string[] }> = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^ => (CACHED|MISS) +\[([^\]]+)\] (.*)$/.exec(l);
    if (m) out.push({ mark: m[1]!, label: m[2]!, title: m[3]!, reasons: [] });
    else if (/^ {6}- /.test(l) && out.length) out[out.length - 1]!.reasons.push(l.slice(8));
    else break;
  }
  return out;
}

describe('--explain-cache', () => {
  let root = '';
  let ctx = '';
  before(() => {
    if (process.getuid?.() === 0) root = storeWithBusybox();
    ctx = makeContext({ Dockerfile: DOCKERFILE, '.dockerignore': 'Dockerfile\n', 'a.txt': 'a\n', 'b.txt': 'b\n' });
  });
  after(() => {
    if (root) removeStore(root);
    fs.rmSync(ctx, { recursive: true, force: true });
  });
  const build = (...args: string[]) => {
    const r = tsbuild(root, ['build', '--progress', 'plain', '--explain-cache', ...args, ctx], { env: { NO_COLOR: '1' } });
    assert.equal(r.code, 0, r.stderr);
    return explanation(r.stderr);
  };

  test('says why each step missed, compared with the last build of the Dockerfile and target', (t) => {
    if (!requireSandbox(t)) return;
    const first = build();
    assert.equal(first.length, 4);
    for (const s of first) assert.deepEqual([s.mark, s.reasons], ['MISS', ['first build of this Dockerfile and target']]);
    assert.ok(fs.readdirSync(path.join(root, 'explain')).some((f) => f.endsWith('.json')), 'a record is kept in the store');

    const again = build();
    assert.deepEqual(again.map((s) => s.mark), ['CACHED', 'CACHED', 'CACHED', 'CACHED']);

    // A build-arg: the RUN that sees it names it with both values; earlier steps stay CACHED; the next RUN follows.
    const arg = build('--build-arg', 'V=2');
    assert.deepEqual(arg.map((s) => s.mark), ['CACHED', 'CACHED', 'MISS', 'MISS']);
    assert.ok(arg[2]!.reasons.includes('build-arg/env V changed: 1 → 2'), arg[2]!.reasons.join('\n'));
    assert.ok(arg[3]!.reasons.some((r) => r.startsWith('an earlier step changed: [stage-0 3/4] RUN echo "v=$V"')), arg[3]!.reasons.join('\n'));

    // One context file: the COPY names it (and only it).
    fs.writeFileSync(path.join(ctx, 'b.txt'), 'b2\n');
    const file = build('--build-arg', 'V=2');
    assert.deepEqual(file.map((s) => s.mark), ['CACHED', 'MISS', 'MISS', 'MISS']);
    assert.deepEqual(file[1]!.reasons, ['files changed: b.txt']);
    assert.ok(file[2]!.reasons.some((r) => r.startsWith('an earlier step changed: [stage-0 2/4] COPY . /app/')), file[2]!.reasons.join('\n'));

    fs.writeFileSync(path.join(ctx, 'c.txt'), 'c\n');
    const added = build('--build-arg', 'V=2');
    assert.deepEqual(added[1]!.reasons, ['files added: c.txt']);

    // An instruction's text.
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), DOCKERFILE.replace('cat /app/a.txt /app/v.txt', 'cat /app/v.txt /app/a.txt'));
    const text = build('--build-arg', 'V=2');
    assert.deepEqual(text.map((s) => s.mark), ['CACHED', 'CACHED', 'CACHED', 'MISS']);
    assert.deepEqual(text[3]!.reasons, ['instruction changed: RUN cat /app/a.txt /app/v.txt > /app/all.txt → RUN cat /app/v.txt /app/a.txt > /app/all.txt']);

    const none = build('--build-arg', 'V=2', '--no-cache');
    for (const s of none) assert.deepEqual([s.mark, s.reasons], ['MISS', ['cache not used (--no-cache)']]);
  });

  test('the JSON stream carries cache.explain events that match the schema', (t) => {
    if (!requireSandbox(t)) return;
    const r = tsbuild(root, ['build', '--progress', 'json', '--explain-cache', '--build-arg', 'V=3', ctx]);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { type: string; cached?: boolean; reasons?: Array<{ kind: string; name?: string; old?: string; new?: string }> });
    for (const e of events) assert.deepEqual(validate(e, SCHEMA), [], JSON.stringify(e));
    const explains = events.filter((e) => e.type === 'cache.explain');
    assert.equal(explains.length, 4);
    assert.deepEqual(explains.map((e) => e.cached), [true, true, false, false]);
    assert.deepEqual(explains[2]!.reasons!.find((x) => x.kind === 'env'), { kind: 'env', name: 'V', old: '2', new: '3', text: 'build-arg/env V changed: 2 → 3' });
    assert.equal(events[events.length - 1]!.type, 'result');
    const plain = tsbuild(root, ['build', '--progress', 'json', '--build-arg', 'V=3', ctx]);
    assert.ok(!plain.stderr.includes('cache.explain'), 'no explain events without --explain-cache');
  });
});
