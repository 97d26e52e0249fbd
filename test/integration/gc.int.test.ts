import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, test } from 'node:test';
import { build, du, type BuildEvent } from '../../src/api/index.js';
import { cacheBytes, gcCap, maybeCollect, parseSize } from '../../src/api/gc.js';
import { listCacheRecords } from '../../src/cache/index.js';
import { makeContext, removeStore, requireSandbox, storeWithBusybox, tsbuild } from '../helpers/env.js';

const cleanup: Array<() => void> = [];
after(() => cleanup.forEach((f) => f()));

// A stage whose big random layer only the cache holds; the named image keeps a few bytes of it.
const DOCKERFILE = `FROM busybox AS gen
ARG N
RUN head -c 300000 /dev/urandom > /big && echo "$N" > /n
FROM busybox
COPY --from=gen /n /n
`;

async function buildN(root: string, ctx: string, n: number) {
  const list: BuildEvent[] = [];
  // gc: false — the test drives maybeCollect itself, with its own cap.
  await build({ root, contextDir: ctx, tags: [`gc:${n}`], buildArgs: { N: String(n) }, noCache: false, network: 'host', outputs: [], onEvent: (e) => list.push(e), signal: new AbortController().signal, gc: false });
  return list.filter((e) => e.type === 'step.start').map((e) => (e as { label: string }).label);
}

/** What build.ts hands maybeCollect: the records of the build (here: every record; only new ones count). */
const allSteps = (root: string) => listCacheRecords(root).flatMap((r) => (r.record ? [{ key: r.key, record: r.record }] : []));

test('the automatic GC holds the build cache under TSBUILD_GC_KEEP, least recently used first; named images still run', async (t) => {
  if (!requireSandbox(t)) return;
  const root = storeWithBusybox();
  const ctx = makeContext({ Dockerfile: DOCKERFILE });
  cleanup.push(() => removeStore(root), () => fs.rmSync(ctx, { recursive: true, force: true }));
  const env = { TSBUILD_GC_KEEP: '1m' };
  const cap = 1024 * 1024;
  const results = [];
  for (let n = 1; n <= 6; n++) {
    await buildN(root, ctx, n);
    results.push(await maybeCollect(root, { env, steps: allSteps(root) }));
    const r = results.at(-1)!;
    assert.ok(r.checked ? cacheBytes(root) <= cap : r.estimate <= cap, `build ${n}: ${JSON.stringify(r)}`);
  }
  t.diagnostic(JSON.stringify(results));
  assert.equal(results[0]!.checked, true, 'the first call counts (no estimate yet)');
  assert.ok(results.slice(1, 3).every((r) => !r.checked), `under the cap: no walk (${JSON.stringify(results.map((r) => r.checked))})`);
  assert.ok(results.some((r) => r.pruned && r.pruned.records > 0), 'crossing the cap pruned');
  assert.ok(cacheBytes(root) <= cap, `cache ${cacheBytes(root)} <= cap ${cap}`);
  assert.ok((await du(root)).buildCache.bytes <= cap);
  for (let n = 1; n <= 6; n++) assert.equal(tsbuild(root, ['run', '--rm', `gc:${n}`, 'cat', '/n']).stdout, `${n}\n`, `gc:${n} still runs`);
  // Least recently used went first: the newest build is still cached, the oldest is not.
  assert.deepEqual(await buildN(root, ctx, 6), []);
  assert.ok((await buildN(root, ctx, 1)).some((l) => l.startsWith('gen ')), 'the oldest big layer was collected');
});

test('gcCap: option, TSBUILD_GC_KEEP (sizes, off), default min(10% of the filesystem, 20 GB)', () => {
  assert.equal(gcCap('/', { keepBytes: 5 }), 5);
  assert.equal(gcCap('/', { env: { TSBUILD_GC_KEEP: '2g' } }), 2 * 1024 ** 3);
  assert.equal(gcCap('/', { env: { TSBUILD_GC_KEEP: 'off' } }), undefined);
  const def = gcCap('/', { env: {} })!;
  const st = fs.statfsSync('/');
  assert.equal(def, Math.min(20 * 1024 ** 3, Math.floor((st.blocks * st.bsize) / 10)));
  assert.equal(parseSize('512MB'), 512 * 1024 ** 2);
  assert.equal(parseSize('1000'), 1000);
  assert.throws(() => parseSize('lots'), /invalid size/);
});

test('every build runs the automatic GC: through the CLI the cache stays under TSBUILD_GC_KEEP', (t) => {
  if (!requireSandbox(t)) return;
  const root = storeWithBusybox();
  const ctx = makeContext({ Dockerfile: DOCKERFILE });
  cleanup.push(() => removeStore(root), () => fs.rmSync(ctx, { recursive: true, force: true }));
  const cap = 1024 * 1024;
  for (let n = 1; n <= 6; n++) {
    const r = tsbuild(root, ['build', '-q', '-t', `cli:${n}`, '--build-arg', `N=${n}`, ctx], { env: { TSBUILD_GC_KEEP: '1m' } });
    assert.equal(r.code, 0, r.stderr);
  }
  assert.ok(cacheBytes(root) <= cap, `cache ${cacheBytes(root)} <= cap ${cap}`);
  assert.equal(tsbuild(root, ['run', '--rm', 'cli:1', 'cat', '/n']).stdout, '1\n', 'named images survive the GC');
});
