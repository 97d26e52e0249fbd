import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { rootOrSkip } from '../../test/helpers/tars.js';
import { isTsbuildError } from '../util/index.js';
import { listLayerEntries } from './index.js';
import { decodeHeader, encodeHeader, padding, parseNumeric, TRAILER, type TarHeader } from './tar-format.js';
import { TarReader } from './tar-reader.js';

const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
const long = `${'d'.repeat(120)}/${'e'.repeat(90)}/${'f'.repeat(99)}`;

function archive(headers: Array<TarHeader & { content?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const h of headers) {
    parts.push(encodeHeader({ ...h, size: h.content?.length ?? 0 }));
    if (h.content) parts.push(h.content, Buffer.alloc(padding(h.content.length)));
  }
  return Buffer.concat([...parts, TRAILER]);
}

const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000 };
const sample: Array<TarHeader & { content?: Buffer }> = [
  { ...base, name: 'dir', type: 'dir', mode: 0o755 },
  { ...base, name: 'dir/f', type: 'file', mode: 0o4755, content: Buffer.from('hello'), xattrs: { 'security.capability': cap, 'user.raw': Buffer.from([0xff, 0, 0x0a]) } },
  { ...base, name: long, type: 'file', uid: 3_000_000, gid: 70_000, content: Buffer.alloc(700, 1) },
  { ...base, name: 'ü/ñ', type: 'symlink', linkname: `${'t'.repeat(150)}/ä` },
  { ...base, name: 'h', type: 'link', linkname: 'dir/f' },
  { ...base, name: 'null', type: 'char', devmajor: 1, devminor: 3 },
  { ...base, name: 'p', type: 'fifo' },
];

test('encodeHeader → TarReader round-trip (long names, PAX uid, binary xattrs)', async () => {
  const entries = await listLayerEntries(Readable.from([archive(sample)]));
  assert.deepEqual(entries.map((e) => e.name), ['dir/', 'dir/f', long, 'ü/ñ', 'h', 'null', 'p']);
  assert.deepEqual(entries[1]!.xattrs, { 'security.capability': cap, 'user.raw': Buffer.from([0xff, 0, 0x0a]) });
  assert.equal(entries[1]!.mode, 0o4755);
  assert.deepEqual(entries[1]!.content, Buffer.from('hello'));
  assert.deepEqual([entries[2]!.uid, entries[2]!.gid, entries[2]!.size], [3_000_000, 70_000, 700]);
  assert.equal(entries[3]!.linkname, `${'t'.repeat(150)}/ä`);
  assert.deepEqual([entries[5]!.type, entries[5]!.devmajor, entries[5]!.devminor], ['char', 1, 3]);
});

test('GNU tar reads our archives, xattrs included', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-tarfmt-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.tar'), archive(sample));
    const list = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', path.join(dir, 'a.tar')]).toString();
    assert.match(list, /-rwsr-xr-x\*? +0\/0 +5 .* dir\/f\n +x: 20 security\.capability\n +x: 3 user\.raw\n/);
    assert.ok(list.includes(long));
    assert.match(list, /3000000\/70000/);
    assert.ok(list.includes(`ü/ñ -> ${'t'.repeat(150)}/ä`));
    assert.match(list, /h link to dir\/f/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('TarReader reads GNU tar output in gnu, pax and ustar formats', { skip: rootOrSkip('needs root for security.capability') }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-tarfmt-'));
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'x'.repeat(120)), { recursive: true });
    fs.writeFileSync(path.join(src, 'x'.repeat(120), 'y'.repeat(110)), 'deep');
    fs.writeFileSync(path.join(src, 'capped'), 'c');
    execFileSync('setfattr', ['-n', 'security.capability', '-v', `0x${cap.toString('hex')}`, path.join(src, 'capped')]);
    for (const format of ['gnu', 'pax', 'ustar']) {
      const out = path.join(dir, `${format}.tar`);
      const files = format === 'ustar' ? ['capped'] : ['.'];
      execFileSync('tar', [`--format=${format}`, ...(format === 'pax' ? ['--xattrs', '--xattrs-include=*'] : []), '-cf', out, '-C', src, ...files]);
      const entries = await listLayerEntries(fs.createReadStream(out));
      if (format !== 'ustar') assert.ok(entries.some((e) => e.name === `./${'x'.repeat(120)}/${'y'.repeat(110)}` && e.content?.toString() === 'deep'), format);
      if (format === 'pax') assert.deepEqual(entries.find((e) => e.name === './capped')?.xattrs?.['security.capability'], cap);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('numeric fields: octal with padding, base-256, rejects garbage', () => {
  const b = Buffer.alloc(12);
  b.write(' 0000644\0', 0, 'latin1');
  assert.equal(parseNumeric(b, 0, 8, 'mode'), 0o644);
  const big = Buffer.alloc(12);
  big[0] = 0x80;
  big.writeUInt32BE(0x12345678, 8);
  assert.equal(parseNumeric(big, 0, 12, 'size'), 0x12345678);
  assert.throws(() => parseNumeric(Buffer.from('12x4567\0'), 0, 8, 'mode'), (e: unknown) => isTsbuildError(e, 'TSB_TAR_INVALID'));
  assert.equal(decodeHeader(Buffer.alloc(512)), undefined);
});

test('TarReader: byte-at-a-time feeding, end-of-archive rules, size field of header-only types', () => {
  const data = archive(sample);
  const names: string[] = [];
  const r = new TarReader({ entry: (h) => void names.push(h.name), data: () => undefined, end: () => undefined });
  for (let i = 0; i < data.length; i++) r.write(data.subarray(i, i + 1));
  r.finish();
  assert.equal(names.length, sample.length);
  const bad = new TarReader({ entry: () => undefined, data: () => undefined, end: () => undefined });
  bad.write(encodeHeader({ ...base, name: 'f', type: 'file', size: 10 }));
  assert.throws(() => bad.finish(), /unexpected end/);
  const afterZero = new TarReader({ entry: () => undefined, data: () => undefined, end: () => undefined });
  assert.throws(() => afterZero.write(Buffer.concat([Buffer.alloc(512), encodeHeader({ ...base, name: 'f', type: 'dir' })])), /after a zero block/);
});
