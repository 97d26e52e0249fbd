import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { makeContext, mountsUnder, removeStore, requireSandbox, sessionsLeft, storeWithBusybox, tempDir, tsbuild } from '../helpers/env.js';
import { buildTar, hostileTars, snapshotTree } from '../helpers/tars.js';

let root = '';
let outside = '';
let work = '';
before(() => {
  if (process.getuid?.() !== 0) return;
  root = storeWithBusybox();
  work = tempDir('tsb-hostile-');
  outside = path.join(work, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'target'), 'original');
});
after(() => {
  if (root) removeStore(root);
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const passwd = () => {
  const st = fs.statSync('/etc/passwd');
  return `${fs.readFileSync('/etc/passwd', 'utf8')}|${st.mtimeMs}|${st.mode}`;
};
// The store lives in /tmp/<store>/snapshots/<hex>/: 4 levels below /, so 12 `..` reach far past the root.
const cases = () => hostileTars(outside, 12);

test('hostile base-layer tars imported as images never touch the host when tsbuild unpacks them', async (t) => {
  if (!requireSandbox(t)) return;
  const host = { outside: snapshotTree(outside), passwd: passwd() };
  for (const [i, c] of cases().entries()) {
    const file = path.join(work, `base-${i}.tar`);
    fs.writeFileSync(file, await buildTar(c.entries));
    // import unpacks the layer into a snapshot at once, as docker import does.
    const imp = tsbuild(root, ['import', file, `evil:${i}`]);
    if (c.unsafe) {
      assert.equal(imp.code, 1, `${c.name}: an escaping entry is refused`);
      assert.match(imp.stderr, /error: .*(unsafe|outside|escape|loop|symbolic links|not allowed|hardlink)/i, `${c.name}: ${imp.stderr}`);
      assert.equal(tsbuild(root, ['inspect', `evil:${i}`]).code, 1, `${c.name}: no image is named after a refused layer`);
    } else {
      assert.equal(imp.code, 0, `${c.name}: clamped and extracted: ${imp.stderr}`);
      const ctx = makeContext({ Dockerfile: `FROM evil:${i}\nCOPY a.txt /a.txt\n`, 'a.txt': 'a' });
      const b = tsbuild(root, ['build', ctx]);
      fs.rmSync(ctx, { recursive: true, force: true });
      assert.equal(b.code, 0, `${c.name}: builds on the clamped layer: ${b.stderr}`);
    }
    assert.deepEqual(snapshotTree(outside), host.outside, `${c.name}: nothing outside changed`);
    assert.equal(passwd(), host.passwd, `${c.name}: /etc/passwd untouched`);
  }
  assert.deepEqual(mountsUnder(root), []);
  assert.deepEqual(sessionsLeft(root), []);
});

test('ADD of a hostile local tar extracts inside the image only', async (t) => {
  if (!requireSandbox(t)) return;
  const host = { outside: snapshotTree(outside), passwd: passwd() };
  for (const [i, c] of cases().filter((x) => !x.unsafe).entries()) {
    const ctx = makeContext({ Dockerfile: 'FROM busybox\nADD evil.tar /dest/\nRUN ls -la /dest >/dev/null\n' });
    fs.writeFileSync(path.join(ctx, 'evil.tar'), await buildTar(c.entries));
    const b = tsbuild(root, ['build', '-t', `added:${i}`, ctx]);
    fs.rmSync(ctx, { recursive: true, force: true });
    assert.equal(b.code, 0, `${c.name}: ${b.stderr}`);
    assert.deepEqual(snapshotTree(outside), host.outside, `${c.name}: nothing outside changed`);
    assert.equal(passwd(), host.passwd);
  }
});
