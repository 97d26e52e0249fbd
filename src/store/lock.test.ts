import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { isTsbuildError } from '../util/index.js';
import { openStore } from './index.js';
import { processStartTime as processStart } from '../util/index.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function store() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-lock-'));
  dirs.push(d);
  return openStore(d);
}

function plantOwner(root: string, name: string, owner: object | string): void {
  const dir = path.join(root, 'locks', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'owner-planted'), typeof owner === 'string' ? owner : JSON.stringify(owner));
}

test('processStart reads field 22 of /proc/PID/stat', () => {
  assert.match(processStart(process.pid) ?? '', /^\d+$/);
  assert.equal(processStart(2 ** 22 + 12345), undefined);
});

test('withLock serializes callers in one process', async () => {
  const s = store();
  let inside = 0;
  let max = 0;
  await Promise.all(
    Array.from({ length: 10 }, () =>
      s.withLock('x', async () => {
        inside++;
        max = Math.max(max, inside);
        await sleep(2);
        inside--;
      }),
    ),
  );
  assert.equal(max, 1);
  assert.deepEqual(fs.readdirSync(path.join(s.root, 'locks', 'x')), []);
});

test('a lock of a dead pid, a reused pid, or a damaged owner file is stolen', async () => {
  const s = store();
  plantOwner(s.root, 'a', { pid: 2 ** 22 + 12345, start: '1', nonce: 'planted' });
  assert.equal(await s.withLock('a', async () => 'ok', { timeoutMs: 2000 }), 'ok');
  plantOwner(s.root, 'b', { pid: process.pid, start: 'not-my-start', nonce: 'planted' });
  assert.equal(await s.withLock('b', async () => 'ok', { timeoutMs: 2000 }), 'ok');
  plantOwner(s.root, 'c', '{"pid":');
  assert.equal(await s.withLock('c', async () => 'ok', { timeoutMs: 2000 }), 'ok');
});

test('a live holder makes waiters time out with TSB_STORE_LOCKED', async () => {
  const s = store();
  plantOwner(s.root, 'held', { pid: process.pid, start: processStart(process.pid), nonce: 'planted' });
  await assert.rejects(
    s.withLock('held', async () => 'never', { timeoutMs: 150 }),
    (e) => isTsbuildError(e, 'TSB_STORE_LOCKED') && /pid \d+/.test(e.message),
  );
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(s.withLock('held', async () => 'never', { signal: ac.signal }), (e) => isTsbuildError(e, 'TSB_CANCELLED'));
  fs.rmSync(path.join(s.root, 'locks', 'held', 'owner-planted'));
  assert.equal(await s.withLock('held', async () => 'now', { timeoutMs: 1000 }), 'now');
});

test('lock names are validated', async () => {
  await assert.rejects(store().withLock('../x', async () => 1), /invalid lock name/);
});
