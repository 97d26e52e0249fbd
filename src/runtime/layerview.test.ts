import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { rootOrSkip } from '../../test/helpers/tars.js';
import { mknodBatch, setXattrBatch } from '../sys/index.js';
import { LayerView } from './layerview.js';

const skip = rootOrSkip('whiteouts and opaque dirs need root');

function write(root: string, rel: string, content: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content, { mode });
}

test('LayerView reads a layer stack as overlayfs would merge it: whiteouts, opaque dirs, shadowing, symlinks in the view', { skip }, () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-view-'));
  try {
    const [top, mid, bottom] = ['top', 'mid', 'bottom'].map((n) => path.join(base, n)) as [string, string, string];
    write(bottom, 'etc/passwd', 'bottom');
    write(bottom, 'etc/group', 'group-bottom');
    write(bottom, 'usr/bin/a', 'a', 0o755);
    write(bottom, 'opt/x/file', 'x');
    write(bottom, 'srv/data', 'data');
    fs.symlinkSync('/etc', path.join(bottom, 'lnk'));
    write(mid, 'etc/passwd', 'mid');
    write(mid, 'opt/y', 'y');
    fs.mkdirSync(path.join(mid, 'usr/bin'), { recursive: true });
    mknodBatch([{ path: path.join(mid, 'usr/bin/a'), type: 'c', major: 0, minor: 0, mode: 0 }]);
    setXattrBatch([{ path: path.join(mid, 'opt'), name: 'trusted.overlay.opaque', value: Buffer.from('y') }]);
    write(top, 'bin/busybox', 'bb', 0o755);
    fs.symlinkSync('busybox', path.join(top, 'bin/sh'));
    fs.symlinkSync('../../../../etc/hostname', path.join(top, 'esc'));
    write(top, 'srv', 'a file over a directory');
    const v = new LayerView([top, mid, bottom]);

    assert.equal(v.readFile('/etc/passwd')?.toString(), 'mid', 'the topmost layer holding a name wins');
    assert.equal(v.readFile('/etc/group')?.toString(), 'group-bottom', 'names absent above come from below');
    assert.equal(v.lookup('/usr/bin/a'), undefined, 'a whiteout hides the name below it');
    assert.ok(v.lookup('/usr/bin'), 'the directory holding a whiteout still exists');
    assert.equal(v.lookup('/opt/x/file'), undefined, 'an opaque directory hides what lower layers hold under it');
    assert.equal(v.readFile('/opt/y')?.toString(), 'y');
    assert.equal(v.lookup('/srv/data'), undefined, 'a file hides a lower directory');
    assert.equal(v.readFile('/srv')?.toString(), 'a file over a directory');
    assert.equal(v.readFile('/lnk/passwd')?.toString(), 'mid', 'a symlink from one layer resolves in the merged view');
    const sh = v.lookup('/bin/sh', { followFinal: true });
    assert.equal(sh?.host, path.join(top, 'bin/busybox'));
    assert.ok(v.lookup('/bin/sh')?.st.isSymbolicLink(), 'the last component is followed only when asked');
    assert.equal(v.readFile('/../../etc/passwd')?.toString(), 'mid', '.. stops at the root');
    assert.equal(v.readFile('/esc'), undefined, 'a symlink climbing out resolves inside the view, never on the host');
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
