import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanTemp, openStore } from '../../src/store/index.js';
import { sha256 } from '../../src/oci/index.js';

const STORE_MODULE = new URL('../../src/store/index.js', import.meta.url).href;

/** Runs an ESM snippet in a child node process with `openStore` and the store root in scope. */
function child(root: string, body: string): { proc: ChildProcess; out: () => string; done: Promise<number | null> } {
  const script = `import { openStore } from ${JSON.stringify(STORE_MODULE)};\nconst s = openStore(${JSON.stringify(root)});\n${body}`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, out: () => out, done };
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tmpRoot(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-storeint-'));
  dirs.push(d);
  return d;
}

test('4 processes adding 20 refs each lose none of the 80', async () => {
  const root = tmpRoot();
  openStore(root);
  const kids = [0, 1, 2, 3].map((k) =>
    child(
      root,
      `for (let i = 0; i < 20; i++) {
        await s.setRef('p${k}/img:' + i, { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + '${k}'.repeat(64), size: i });
      }`,
    ),
  );
  const codes = await Promise.all(kids.map((k) => k.done));
  assert.deepEqual(codes, [0, 0, 0, 0], kids.map((k) => k.out()).join('\n'));
  const refs = openStore(root).listRefs();
  assert.equal(refs.length, 80);
  assert.equal(new Set(refs.map((r) => r.name)).size, 80);
  assert.deepEqual(fs.readdirSync(root).filter((n) => n.startsWith('.tmp-')), []);
});

test('a holder killed with -9 does not wedge the lock; a live holder blocks', async () => {
  const root = tmpRoot();
  openStore(root);
  const holder = child(root, `await s.withLock('index', async () => { console.log('locked'); await new Promise(() => setInterval(() => {}, 1000)); });`);
  await waitFor('holder to lock', () => holder.out().includes('locked'));
  const blocked = child(
    root,
    `try { await s.withLock('index', async () => {}, { timeoutMs: 300 }); console.log('acquired'); } catch (e) { console.log(e.code); }`,
  );
  await blocked.done;
  assert.match(blocked.out(), /TSB_STORE_LOCKED/);
  holder.proc.kill('SIGKILL');
  await holder.done;
  const next = child(root, `await s.setRef('after:kill', { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + 'a'.repeat(64), size: 1 }, ); console.log('ok');`);
  const t0 = Date.now();
  assert.equal(await next.done, 0, next.out());
  assert.match(next.out(), /ok/);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(openStore(root).resolveRef('after:kill')?.size, 1);
});

test('a putBlobStream killed mid-write leaves no partial blob; cleanTemp removes its temp file', async () => {
  const root = tmpRoot();
  openStore(root);
  const writer = child(
    root,
    `import('node:stream').then(({ Readable }) => {
      const r = new Readable({ read() {} });
      r.push(Buffer.alloc(1 << 20, 7));
      s.putBlobStream(r);
    });`,
  );
  const tmpDir = path.join(root, 'tmp');
  const partial = () => fs.readdirSync(tmpDir).filter((n) => fs.statSync(path.join(tmpDir, n)).size > 0);
  await waitFor('partial temp blob', () => partial().length > 0);
  writer.proc.kill('SIGKILL');
  await writer.done;
  assert.deepEqual(fs.readdirSync(path.join(root, 'blobs', 'sha256')), []);
  assert.match(partial()[0]!, new RegExp(`^blob-${writer.proc.pid}-\\d+-[0-9a-f]+$`));
  assert.equal(cleanTemp(root), 1);
  assert.deepEqual(fs.readdirSync(tmpDir), []);
  const data = Buffer.alloc(1 << 20, 7);
  const s = openStore(root);
  assert.equal((await s.putBlob(data)).digest, sha256(data));
});
