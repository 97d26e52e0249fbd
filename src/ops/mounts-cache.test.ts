import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireCacheMount, cacheMountsDir } from './mounts-cache.js';

const KEY = 'ab'.repeat(32);

test('cache mounts: shared users get one dir, private users a free one, init runs once per dir', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-cm-'));
  try {
    let inits = 0;
    const o = (priv: boolean) => ({
      root,
      key: KEY,
      private: priv,
      lock: <T>(_name: string, fn: () => Promise<T>) => fn(),
      init: async (dir: string) => {
        inits++;
        fs.writeFileSync(path.join(dir, 'seed'), 'x');
      },
    });
    const a = await acquireCacheMount(o(false));
    const b = await acquireCacheMount(o(false));
    assert.equal(a.dir, b.dir);
    assert.equal(fs.readFileSync(path.join(a.dir, 'seed'), 'utf8'), 'x');
    const p = await acquireCacheMount(o(true));
    assert.notEqual(p.dir, a.dir, 'a private user avoids a dir in use');
    assert.equal(inits, 2);
    a.release();
    b.release();
    p.release();
    const again = await acquireCacheMount(o(true));
    assert.equal(again.dir, a.dir, 'once released, the first dir is free again');
    again.release();
    assert.ok(a.dir.startsWith(cacheMountsDir(root)));
    await assert.rejects(acquireCacheMount({ ...o(false), key: '../x' }), /invalid cache mount key/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
