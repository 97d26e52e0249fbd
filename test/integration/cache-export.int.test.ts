import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { build, type BuildEvent } from '../../src/api/index.js';
import { REPO, removeStore, requireSandbox, storeWithBusybox, tempDir, tsbuild } from '../helpers/env.js';

const cleanup: Array<() => void> = [];
after(() => cleanup.forEach((f) => f()));

async function buildHello(root: string, extra: { cacheTo?: string; cacheFrom?: string; mode?: 'min' | 'max' }) {
  const events: BuildEvent[] = [];
  await build({
    root,
    contextDir: path.join(REPO, 'fixtures/hello'),
    tags: ['hello:cache'],
    buildArgs: {},
    noCache: false,
    network: 'host',
    outputs: [],
    onEvent: (e) => events.push(e),
    signal: new AbortController().signal,
    ...(extra.cacheTo ? { cacheTo: [{ type: 'local' as const, location: extra.cacheTo, mode: extra.mode ?? 'min' }] } : {}),
    ...(extra.cacheFrom ? { cacheFrom: [{ type: 'local' as const, location: extra.cacheFrom, mode: 'min' as const }] } : {}),
  });
  return {
    ran: events.filter((e) => e.type === 'step.start').map((e) => (e as { label: string }).label),
    cached: events.filter((e) => e.type === 'step.cached').map((e) => (e as { label: string }).label),
  };
}

test('a cache exported by one store makes a fresh store build from cache (mode=max and min)', async (t) => {
  if (!requireSandbox(t)) return;
  const first = storeWithBusybox({ sameBase: true });
  const dir = tempDir('tsb-cache-out-');
  cleanup.push(() => removeStore(first), () => fs.rmSync(dir, { recursive: true, force: true }));
  await buildHello(first, { cacheTo: dir, mode: 'max' });
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  assert.equal(index.manifests.length, 1);
  const skopeo = tsbuild(first, ['--version']); // the CLI stays usable; the layout itself is checked below
  assert.equal(skopeo.code, 0);

  const fresh = storeWithBusybox({ sameBase: true });
  cleanup.push(() => removeStore(fresh));
  const second = await buildHello(fresh, { cacheFrom: dir });
  assert.deepEqual(second.ran, [], `every step came from the imported cache; ran: ${second.ran.join(', ')}`);
  assert.ok(second.cached.length >= 6);
  const a = JSON.parse(tsbuild(first, ['inspect', 'hello:cache']).stdout)[0];
  const b = JSON.parse(tsbuild(fresh, ['inspect', 'hello:cache']).stdout)[0];
  assert.deepEqual(b.Config.rootfs, a.Config.rootfs, 'same layers');
  assert.match(tsbuild(fresh, ['run', '--rm', 'hello:cache']).stdout, /Hello from a tsbuild image!/);

  // mode=min exports only the target stage's steps: the build stage reruns, the final stage's RUN is cached.
  const minDir = tempDir('tsb-cache-min-');
  cleanup.push(() => fs.rmSync(minDir, { recursive: true, force: true }));
  await buildHello(first, { cacheTo: minDir, mode: 'min' });
  const third = storeWithBusybox({ sameBase: true });
  cleanup.push(() => removeStore(third));
  const r = await buildHello(third, { cacheFrom: minDir });
  assert.ok(r.ran.some((l) => l.startsWith('build ')), `build stage reran: ${r.ran.join(', ')}`);
  assert.ok(r.cached.some((l) => l.startsWith('stage-1 ')));
});

test('a missing --cache-from directory is not an error (like buildx)', async (t) => {
  if (!requireSandbox(t)) return;
  const root = storeWithBusybox({ sameBase: true });
  cleanup.push(() => removeStore(root));
  const r = await buildHello(root, { cacheFrom: '/nonexistent/tsbuild-cache' });
  assert.ok(r.ran.length > 0);
});
