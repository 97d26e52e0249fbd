import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// Node has no xattr calls: this file drives attr(1)'s getfattr/setfattr, one process per batch or tree.
// Both tools escape names as `\ooo` octal (getfattr: backslash, CR, LF, and `=` in attribute names).

export interface XattrItem {
  path: string;
  name: string;
  value: Buffer;
}

const MAX_OUTPUT = 1024 * 1024 * 1024;

/** Escapes bytes for attr(1)'s text format: backslash, `=`, controls and DEL become `\ooo`. */
export function escapeAttrText(s: string): Buffer {
  const src = Buffer.from(s, 'utf8');
  const out: number[] = [];
  for (const b of src) {
    if (b === 0x5c || b === 0x3d || b < 0x20 || b === 0x7f) {
      out.push(0x5c, 0x30 + (b >> 6), 0x30 + ((b >> 3) & 7), 0x30 + (b & 7));
    } else out.push(b);
  }
  return Buffer.from(out);
}

/** Decodes attr(1)'s `\ooo` escapes back to the raw bytes, read as UTF-8. */
export function unescapeAttrText(b: Buffer): string {
  if (!b.includes(0x5c)) return b.toString('utf8');
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x5c && i + 3 < b.length && isOct(b[i + 1]) && isOct(b[i + 2]) && isOct(b[i + 3])) {
      out.push(((b[i + 1]! - 0x30) << 6) | ((b[i + 2]! - 0x30) << 3) | (b[i + 3]! - 0x30));
      i += 3;
    } else out.push(c);
  }
  return Buffer.from(out).toString('utf8');
}

function isOct(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x37;
}

function checkPath(p: string): void {
  if (!path.isAbsolute(p) || p.includes('\0')) throw new Error(`xattr path must be absolute without NUL: ${JSON.stringify(p)}`);
}

/** Sets many xattrs with one `setfattr -h --restore=-` (never follows symlinks); throws with setfattr's stderr on failure. */
export function setXattrBatch(items: XattrItem[]): void {
  if (items.length === 0) return;
  const parts: Buffer[] = [];
  let last: string | undefined;
  for (const it of items) {
    checkPath(it.path);
    if (it.name === '' || it.name.includes('\0')) throw new Error(`invalid xattr name ${JSON.stringify(it.name)}`);
    if (it.path !== last) {
      parts.push(Buffer.from(last === undefined ? '# file: ' : '\n# file: '), escapeAttrText(it.path), Buffer.from('\n'));
      last = it.path;
    }
    parts.push(escapeAttrText(it.name), Buffer.from(`=0x${it.value.toString('hex')}\n`));
  }
  parts.push(Buffer.from('\n'));
  const r = spawnSync('setfattr', ['-h', '--restore=-'], { input: Buffer.concat(parts), maxBuffer: MAX_OUTPUT });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`setfattr failed: ${r.stderr.toString('utf8').trim()}`);
}

/** Parses `getfattr -d -e hex --absolute-names` output into path → (name → value). */
export function parseGetfattrDump(out: Buffer): Map<string, Map<string, Buffer>> {
  const result = new Map<string, Map<string, Buffer>>();
  let current: Map<string, Buffer> | undefined;
  let start = 0;
  while (start < out.length) {
    let end = out.indexOf(0x0a, start);
    if (end === -1) end = out.length;
    const line = out.subarray(start, end);
    start = end + 1;
    if (line.length === 0) {
      current = undefined;
    } else if (line.subarray(0, 8).toString('latin1') === '# file: ') {
      const file = unescapeAttrText(line.subarray(8));
      current = result.get(file) ?? new Map<string, Buffer>();
      result.set(file, current);
    } else if (current !== undefined) {
      const eq = line.indexOf(0x3d);
      if (eq === -1) {
        current.set(unescapeAttrText(line), Buffer.alloc(0));
        continue;
      }
      const raw = line.subarray(eq + 1).toString('latin1');
      if (!raw.startsWith('0x')) throw new Error(`unexpected getfattr value encoding: ${raw.slice(0, 20)}`);
      current.set(unescapeAttrText(line.subarray(0, eq)), Buffer.from(raw.slice(2), 'hex'));
    }
  }
  return result;
}

/** All xattrs of every entry under `root` (one getfattr process, never follows symlinks), keyed by path relative to root ('' = root). */
export function readXattrTree(root: string): Map<string, Map<string, Buffer>> {
  const abs = path.resolve(root);
  const r = spawnSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--physical', '--', abs], {
    maxBuffer: MAX_OUTPUT,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`getfattr -R ${abs} failed: ${r.stderr.toString('utf8').trim()}`);
  const tree = new Map<string, Map<string, Buffer>>();
  const prefix = abs === '/' ? '/' : abs + '/';
  for (const [file, attrs] of parseGetfattrDump(r.stdout)) {
    if (file === abs) tree.set('', attrs);
    else if (file.startsWith(prefix)) tree.set(file.slice(prefix.length), attrs);
    else throw new Error(`getfattr reported a path outside ${abs}: ${file}`);
  }
  return tree;
}

/** One xattr of one path (symlinks not followed), or undefined when it is not set. */
export function getXattr(file: string, name: string): Buffer | undefined {
  const r = spawnSync('getfattr', ['-h', '-n', name, '-e', 'hex', '--absolute-names', '--', file], { maxBuffer: MAX_OUTPUT });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const err = r.stderr.toString('utf8');
    if (/No such attribute/.test(err)) return undefined;
    throw new Error(`getfattr ${file} failed: ${err.trim()}`);
  }
  for (const attrs of parseGetfattrDump(r.stdout).values()) {
    const v = attrs.get(name);
    if (v !== undefined) return v;
  }
  return undefined;
}
