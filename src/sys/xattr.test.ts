import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { rootOrSkip } from '../../test/helpers/tars.js';
import { escapeAttrText, getXattr, parseGetfattrDump, readXattrTree, setXattrBatch, unescapeAttrText } from './index.js';

const skip = rootOrSkip('xattr tests need root (trusted.* xattrs)');

test('escapeAttrText/unescapeAttrText round-trip odd names', () => {
  for (const s of ['plain', 'a b', 'nl\nx', 'cr\rx', 'back\\slash', 'e=q', 'ümlaut', 'tab\tx', '\\012 literal']) {
    assert.equal(unescapeAttrText(escapeAttrText(s)), s);
  }
  assert.equal(escapeAttrText('a\nb\\c=').toString(), 'a\\012b\\134c\\075');
});

test('parseGetfattrDump reads getfattr -e hex output, escapes included', () => {
  const dump = Buffer.from('# file: /r/nl\\012x\nuser.t=0x6869\n\n# file: /r/a b\nuser.e\\075q=0x00ff\nuser.empty=0x\n\n');
  const m = parseGetfattrDump(dump);
  assert.deepEqual([...m.keys()], ['/r/nl\nx', '/r/a b']);
  assert.deepEqual(m.get('/r/nl\nx')!.get('user.t'), Buffer.from('hi'));
  assert.deepEqual(m.get('/r/a b')!.get('user.e=q'), Buffer.from([0, 0xff]));
  assert.deepEqual(m.get('/r/a b')!.get('user.empty'), Buffer.alloc(0));
});

test('readXattrTree/setXattrBatch/getXattr on a real tree, symlinks never followed', { skip }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-xattr-'));
  try {
    const names = ['a b', 'nl\nx', 'back\\slash', 'ümlaut', 'eq=x'];
    for (const n of names) fs.writeFileSync(path.join(root, n), '');
    fs.mkdirSync(path.join(root, 'd'));
    fs.symlinkSync(names[0]!, path.join(root, 'link'));
    const bin = Buffer.from([0, 1, 0xfe, 0xff, 0x0a, 0x3d, 0x5c]);
    setXattrBatch([
      ...names.map((n, i) => ({ path: path.join(root, n), name: 'user.i', value: Buffer.from(String(i)) })),
      { path: path.join(root, names[0]!), name: 'user.bin', value: bin },
      { path: path.join(root, names[0]!), name: 'user.we=ird\nname', value: Buffer.alloc(0) },
      { path: path.join(root, 'd'), name: 'trusted.overlay.opaque', value: Buffer.from('y') },
      { path: path.join(root, 'link'), name: 'trusted.onlink', value: Buffer.from('L') },
      { path: root, name: 'user.root', value: Buffer.from('r') },
    ]);
    const tree = readXattrTree(root + '/');
    assert.deepEqual(tree.get('')?.get('user.root'), Buffer.from('r'));
    for (const [i, n] of names.entries()) assert.deepEqual(tree.get(n)?.get('user.i'), Buffer.from(String(i)), n);
    assert.deepEqual(tree.get('a b')?.get('user.bin'), bin);
    assert.deepEqual(tree.get('a b')?.get('user.we=ird\nname'), Buffer.alloc(0));
    assert.deepEqual(tree.get('d')?.get('trusted.overlay.opaque'), Buffer.from('y'));
    assert.deepEqual([...(tree.get('link')?.keys() ?? [])], ['trusted.onlink'], 'the link itself, not its target');
    assert.equal(tree.get('a b')?.has('trusted.onlink'), false);
    assert.deepEqual(getXattr(path.join(root, 'a b'), 'user.bin'), bin);
    assert.equal(getXattr(path.join(root, 'a b'), 'user.missing'), undefined);
    assert.deepEqual(getXattr(path.join(root, 'link'), 'trusted.onlink'), Buffer.from('L'));
    assert.throws(() => setXattrBatch([{ path: path.join(root, 'nope'), name: 'user.x', value: Buffer.from('1') }]), /setfattr failed/);
    assert.throws(() => setXattrBatch([{ path: 'relative', name: 'user.x', value: Buffer.from('1') }]), /absolute/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
