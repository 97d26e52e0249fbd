import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Step } from '../graph/index.js';
import { explain, opJson, sameRecord, type BuildRecord, type StepRecord } from './explain.js';

const rec = (steps: Array<Partial<StepRecord> & { title: string }>, epoch?: number): BuildRecord => ({
  version: 1, dockerfile: '/x/Dockerfile', target: '', created: '2024-01-01T00:00:00Z', ...(epoch === undefined ? {} : { epoch }),
  steps: steps.map((s, index) => ({ id: `0/${index}`, stage: 'b', index, key: `k-${s.title}`, parentKey: index === 0 ? 'img' : `k-${steps[index - 1]!.title}`, op: { kind: 'run', args: [s.title], env: [] }, ...s })),
});
const decisions = (r: BuildRecord, cached: boolean[]) =>
  r.steps.map((s, n) => ({ step: { id: s.id, title: s.title } as Step, label: `b ${n + 1}/${r.steps.length}`, cached: cached[n]! }));
const texts = (x: ReturnType<typeof explain>) => x.map((e) => e.reasons.map((r) => r.text));

test('new, removed and changed steps are told apart by aligning titles', () => {
  const prev = rec([{ title: 'A' }, { title: 'B' }, { title: 'C' }, { title: 'D' }]);
  const cur = rec([{ title: 'A' }, { title: 'C', key: 'k-C2' }, { title: 'N' }, { title: 'D2' }]);
  cur.steps[2]!.parentKey = 'k-C2';
  const x = explain(prev, cur, decisions(cur, [true, false, false, false]), { noCache: false });
  assert.deepEqual(texts(x), [
    [],
    ['step removed before this one: [b 2/4] B'],
    ['instruction changed: D → N', 'an earlier step changed: [b 2/4] C'],
    ['new step (not in the last build)'],
  ]);
});

test('env, op fields and files name what changed; an untouched key means the entry is gone', () => {
  const files = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, 'f:1:644']));
  const prev = rec([
    { title: 'R', op: { kind: 'run', args: ['x'], env: ['A=1', 'B=2'], cwd: '/', user: '' } },
    { title: 'C', op: { kind: 'copy', sources: ['.'] }, files: files(8), filesDigest: 'd1', filesCount: 8 },
    { title: 'S' },
  ]);
  const cur = rec([
    { title: 'R', op: { kind: 'run', args: ['x'], env: ['A=1', 'C=3'], cwd: '/w', user: '' }, key: 'k2' },
    { title: 'C', op: { kind: 'copy', sources: ['.'] }, files: { ...files(8), f7: 'f:2:644' }, filesDigest: 'd2', filesCount: 8, parentKey: 'k-R' },
    { title: 'S', key: 'k-S' },
  ]);
  const x = explain(prev, cur, decisions(cur, [false, false, false]), { noCache: false });
  assert.deepEqual(texts(x), [
    ['build-arg/env B changed: 2 → (unset)', 'build-arg/env C changed: (unset) → 3', 'workdir changed: / → /w'],
    ['files changed: f7'],
    ['cache entry missing (pruned, or last built with --no-cache): same inputs as the last build'],
  ]);
  assert.deepEqual(x[0]!.reasons[0], { kind: 'env', name: 'B', old: '2', text: 'build-arg/env B changed: 2 → (unset)' });
});

test('more than five files are summarised; first build and --no-cache say so', () => {
  const prev = rec([{ title: 'C', files: {}, filesDigest: 'd1' }]);
  const cur = rec([{ title: 'C', files: Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((p) => [p, 'f:1:644'])), filesDigest: 'd2', key: 'k2' }]);
  const x = explain(prev, cur, decisions(cur, [false]), { noCache: false });
  assert.deepEqual(x[0]!.reasons, [{ kind: 'files', name: 'added', text: 'files added: a, b, c, d, e and 2 more', paths: ['a', 'b', 'c', 'd', 'e'], more: 2 }]);
  assert.deepEqual(texts(explain(undefined, cur, decisions(cur, [false]), { noCache: false })), [['first build of this Dockerfile and target']]);
  assert.deepEqual(texts(explain(prev, cur, decisions(cur, [false]), { noCache: true })), [['cache not used (--no-cache)']]);
  assert.ok(sameRecord(cur, rec(cur.steps)) && !sameRecord(prev, cur));
});

test('opJson keeps images by name and id and digests long heredocs', () => {
  const j = opJson({ kind: 'copy', add: false, sources: ['/x'], dest: '/', cwd: '/', from: { kind: 'image', image: { id: 'sha256:1', name: 'img', config: {}, layers: [] } as never }, heredocs: [{ name: 'h', content: 'x'.repeat(300) }] });
  assert.deepEqual(j.from, { kind: 'image', name: 'img', id: 'sha256:1' });
  assert.match((j.heredocs as Array<{ content: string }>)[0]!.content, /^sha256:[0-9a-f]{64}$/);
});
