import { TsbuildError } from '../util/index.js';

// Our own ustar+PAX header codec. tar-stream v3 builds and parses PAX records as UTF-8 strings, which
// corrupts binary values such as security.capability; here PAX values stay raw bytes both ways.

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** Path inside the layer, without a leading slash; dirs may end with '/'. */
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
}

const FLAGS: Record<EntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const ASCII = /^[\x01-\x7f]*$/;
export const BLOCK = 512;

function writeOctal(buf: Buffer, off: number, len: number, value: number): boolean {
  const s = Math.max(0, Math.floor(value)).toString(8);
  if (value < 0 || s.length > len - 1) {
    buf.write('0'.repeat(len - 1), off, 'latin1');
    return false;
  }
  buf.write(s.padStart(len - 1, '0'), off, 'latin1');
  return true;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + String(body.length).length;
  if (String(len).length > String(body.length).length) len++;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

function splitUstar(name: string): [string, string] | undefined {
  if (!ASCII.test(name)) return undefined;
  if (name.length <= 100) return [name, ''];
  for (let i = name.indexOf('/'); i !== -1 && i <= 155; i = name.indexOf('/', i + 1)) {
    const rest = name.slice(i + 1);
    if (rest.length > 0 && rest.length <= 100) return [rest, name.slice(0, i)];
  }
  return undefined;
}

/** Padding after `size` bytes of data up to the next 512-byte boundary. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function block(h: { name: string; prefix?: string; type: string; mode: number; uid: number; gid: number; size: number; mtime: number; linkname?: string; devmajor?: number; devminor?: number }): Buffer {
  const b = Buffer.allocUnsafe(BLOCK).fill(0);
  b.write(h.name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, h.mode & 0o7777);
  writeOctal(b, 108, 8, h.uid);
  writeOctal(b, 116, 8, h.gid);
  writeOctal(b, 124, 12, h.size);
  writeOctal(b, 136, 12, h.mtime);
  b.write(h.type, 156, 1, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 8, 'latin1');
  writeOctal(b, 329, 8, h.devmajor ?? 0);
  writeOctal(b, 337, 8, h.devminor ?? 0);
  if (h.prefix) b.write(h.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** Encodes one entry's header blocks (a PAX header first when needed); the caller writes data and padding. */
export function encodeHeader(h: TarHeader): Buffer {
  const name = h.type === 'dir' && !h.name.endsWith('/') ? h.name + '/' : h.name;
  const pax: Buffer[] = [];
  const split = splitUstar(name);
  if (!split) pax.push(paxRecord('path', Buffer.from(name, 'utf8')));
  const link = h.linkname ?? '';
  const linkFits = ASCII.test(link) && link.length <= 100;
  if (!linkFits) pax.push(paxRecord('linkpath', Buffer.from(link, 'utf8')));
  const fields: Array<[string, number, number]> = [['uid', h.uid, 0o7777777], ['gid', h.gid, 0o7777777], ['size', h.size, 0o77777777777], ['mtime', h.mtime, 0o77777777777]];
  for (const [key, v, max] of fields) if (v < 0 || v > max) pax.push(paxRecord(key, Buffer.from(String(v), 'latin1')));
  for (const key of Object.keys(h.xattrs ?? {}).sort()) pax.push(paxRecord(`SCHILY.xattr.${key}`, h.xattrs![key]!));
  const main = block({
    ...h,
    name: split ? split[0] : asciiFallback(name, 100),
    prefix: split ? split[1] : '',
    type: FLAGS[h.type],
    linkname: linkFits ? link : asciiFallback(link, 100),
  });
  if (pax.length === 0) return main;
  const body = Buffer.concat(pax);
  const paxHead = block({ name: 'PaxHeader', type: 'x', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: Math.max(0, Math.min(h.mtime, 0o77777777777)) });
  return Buffer.concat([paxHead, body, Buffer.alloc(padding(body.length)), main]);
}

function asciiFallback(s: string, max: number): string {
  return s.replace(/[^\x01-\x7f]/g, '_').slice(-max);
}

/** The two zero blocks that end an archive. */
export const TRAILER = Buffer.alloc(2 * BLOCK);

// ---------- decoding ----------

export interface RawHeader {
  name: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  flag: string;
  devmajor: number;
  devminor: number;
}

function invalid(msg: string): TsbuildError {
  return new TsbuildError('TSB_TAR_INVALID', `invalid tar: ${msg}`);
}

/** Parses an octal or base-256 numeric field. */
export function parseNumeric(b: Buffer, off: number, len: number, field: string): number {
  const f = b.subarray(off, off + len);
  if (f[0] === 0x80) {
    let v = 0;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    if (!Number.isSafeInteger(v)) throw invalid(`${field} out of range`);
    return v;
  }
  if (f[0]! & 0x80) throw invalid(`negative ${field}`);
  let i = 0;
  while (i < f.length && (f[i] === 0x20 || f[i] === 0)) i++;
  let v = 0;
  for (; i < f.length && f[i] !== 0x20 && f[i] !== 0; i++) {
    const d = f[i]! - 0x30;
    if (d < 0 || d > 7) throw invalid(`bad ${field} field`);
    v = v * 8 + d;
  }
  return v;
}

function cstr(b: Buffer, off: number, len: number): string {
  const f = b.subarray(off, off + len);
  const nul = f.indexOf(0);
  return (nul === -1 ? f : f.subarray(0, nul)).toString('utf8');
}

/** Decodes one header block; undefined for an all-zero block; throws TSB_TAR_INVALID on a bad checksum. */
export function decodeHeader(b: Buffer): RawHeader | undefined {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  if (unsigned === 8 * 0x20 && b.every((x) => x === 0)) return undefined;
  const sum = parseNumeric(b, 148, 8, 'checksum');
  if (sum !== unsigned && sum !== signed) throw invalid('header checksum mismatch (corrupt or not a tar)');
  const magic = b.toString('latin1', 257, 263);
  let name = cstr(b, 0, 100);
  if (magic === 'ustar\0' && b[345] !== 0) name = `${cstr(b, 345, 155)}/${name}`;
  return {
    name,
    linkname: cstr(b, 157, 100),
    mode: parseNumeric(b, 100, 8, 'mode') & 0o7777,
    uid: parseNumeric(b, 108, 8, 'uid'),
    gid: parseNumeric(b, 116, 8, 'gid'),
    size: parseNumeric(b, 124, 12, 'size'),
    mtime: parseNumeric(b, 136, 12, 'mtime'),
    flag: b[156] === 0 ? '0' : String.fromCharCode(b[156]!),
    devmajor: parseNumeric(b, 329, 8, 'devmajor'),
    devminor: parseNumeric(b, 337, 8, 'devminor'),
  };
}

/** Parses PAX extended header records; values stay raw bytes. */
export function parsePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break;
    const sp = body.indexOf(0x20, pos);
    const len = sp === -1 ? NaN : Number(body.toString('latin1', pos, sp));
    if (!Number.isInteger(len) || len <= sp - pos + 1 || pos + len > body.length || body[pos + len - 1] !== 0x0a) {
      throw invalid('malformed PAX record');
    }
    const rec = body.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw invalid('malformed PAX record');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    pos += len;
  }
  return out;
}
