import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, test } from 'node:test';
import { makeContext, removeStore, requireSandbox, storeWithBusybox, tsbuild } from '../helpers/env.js';

const cleanup: Array<() => void> = [];
after(() => cleanup.forEach((f) => f()));

// /proc/uptime is one clock for every container (no time namespace) with 10 ms steps; busybox date has no %N.
const now = "cut -d' ' -f1 /proc/uptime";
const DOCKERFILE = `FROM busybox AS a
RUN ${now} > /start && sleep 2 && ${now} > /end
FROM busybox AS b
RUN echo b > /who && ${now} > /start && sleep 2 && ${now} > /end
FROM busybox
COPY --from=a /start /a.start
COPY --from=a /end /a.end
COPY --from=b /start /b.start
COPY --from=b /end /b.end
`;

test('independent stages run at the same time: their RUN intervals overlap and the build takes less than their sum', (t) => {
  if (!requireSandbox(t)) return;
  const root = storeWithBusybox();
  const ctx = makeContext({ Dockerfile: DOCKERFILE });
  cleanup.push(() => removeStore(root), () => fs.rmSync(ctx, { recursive: true, force: true }));
  const t0 = process.hrtime.bigint();
  const r = tsbuild(root, ['build', '--progress', 'plain', '-t', 'par:1', ctx]);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  assert.equal(r.code, 0, r.stderr);
  const out = tsbuild(root, ['run', '--rm', 'par:1', 'cat', '/a.start', '/a.end', '/b.start', '/b.end']);
  assert.equal(out.code, 0, out.stderr);
  const [aStart, aEnd, bStart, bEnd] = out.stdout.trim().split('\n').map(Number) as [number, number, number, number];
  assert.ok([aStart, aEnd, bStart, bEnd].every((x) => Number.isFinite(x) && x > 0), out.stdout);
  assert.ok(Math.max(aStart, bStart) < Math.min(aEnd, bEnd), `intervals overlap: a ${aStart}-${aEnd}, b ${bStart}-${bEnd}`);
  const sum = aEnd - aStart + (bEnd - bStart);
  t.diagnostic(`a ${aStart}-${aEnd} b ${bStart}-${bEnd} wall ${wall.toFixed(2)}s`);
  assert.ok(wall < sum, `wall time ${wall.toFixed(2)}s < sum of the two RUNs ${sum.toFixed(2)}s`);
});
