import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, makeContext, mountsUnder, removeStore, requireSandbox, sessionsLeft, storeWithBusybox, tsbuild } from '../helpers/env.js';

let root = '';
const contexts: string[] = [];
before(() => {
  if (process.getuid?.() === 0) root = storeWithBusybox();
});
const children: ChildProcess[] = [];
after(() => {
  // A failed test may leave a build (and its container) running: kill it, then let a new build recover the store.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (root && children.length > 0) tsbuild(root, ['build', '-q', makeContext({ Dockerfile: 'FROM busybox\n' })]);
  if (root) removeStore(root);
  for (const c of contexts) fs.rmSync(c, { recursive: true, force: true });
});

/** Starts a build in plain progress mode, where a RUN's output lines read `#N SECONDS TEXT`. */
function startBuild(dockerfile: string): { child: ChildProcess; output: () => string } {
  const ctx = makeContext({ Dockerfile: dockerfile });
  contexts.push(ctx);
  const child = spawn(path.join(REPO, 'bin/tsbuild'), ['--root', root, 'build', '--progress', 'plain', ctx], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  return { child, output: () => out };
}

async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
}

/** Our containers still known to runc. */
function runcContainers(): string[] {
  const r = spawnSync('runc', ['--root', '/run/tsbuild/runc', 'list', '-q'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

function sleepers(marker: string): number {
  return spawnSync('pgrep', ['-f', marker]).stdout.toString().split('\n').filter(Boolean).length;
}

test('kill -9 of a build mid-RUN, then a new build on the same store succeeds with nothing left behind', async (t) => {
  if (!requireSandbox(t)) return;
  const before = new Set(runcContainers());
  const b = startBuild('FROM busybox\nRUN echo started-9 && sleep 4242\n');
  await waitFor(() => /\n#\d+ [\d.]+ started-9\n/.test(b.output()), 'the RUN to start');
  assert.ok(mountsUnder(root).length > 0, 'the build has its overlay mounted');
  const done = exited(b.child);
  b.child.kill('SIGKILL');
  await done;

  const next = tsbuild(root, ['build', '-t', 'after-crash:1', makeContext({ Dockerfile: 'FROM busybox\nRUN echo second > /second\n' })]);
  assert.equal(next.code, 0, next.stderr);
  assert.deepEqual(mountsUnder(root), [], 'no stale mounts');
  assert.deepEqual(sessionsLeft(root), [], 'no stale sessions');
  assert.deepEqual(runcContainers().filter((c) => !before.has(c)), [], 'no stale containers');
  assert.equal(sleepers('sleep 4242'), 0, 'the orphaned RUN process was killed');
  const run = tsbuild(root, ['run', '--rm', 'after-crash:1', 'cat', '/second']);
  assert.equal(run.stdout, 'second\n');
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} during a RUN stops the container, unmounts and exits 130`, async (t) => {
    if (!requireSandbox(t)) return;
    const b = startBuild(`FROM busybox\nRUN echo started-${signal} && sleep 4343\n`);
    await waitFor(() => new RegExp(`\\n#\\d+ [\\d.]+ started-${signal}\\n`).test(b.output()), 'the RUN to start');
    const done = exited(b.child);
    b.child.kill(signal);
    const code = await done;
    assert.equal(code, 130, b.output());
    assert.match(b.output(), /cancelled/);
    assert.deepEqual(mountsUnder(root), []);
    assert.deepEqual(sessionsLeft(root), []);
    assert.equal(sleepers('sleep 4343'), 0);
  });
}
