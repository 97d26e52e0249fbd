import { Writable } from 'node:stream';
import { TsbuildError } from '../util/index.js';
import { CHUNK } from './compress.js';
import { BLOCK, decodeHeader, padding, parsePax, type EntryType, type RawHeader, type TarHeader } from './tar-format.js';

/** Receives a tar's entries synchronously, in stream order. */
export interface TarVisitor {
  entry(h: TarHeader): void;
  /** File content, in order; the buffer is only valid during the call. */
  data(chunk: Buffer): void;
  /** End of the current entry's content. */
  end(): void;
}

const TYPES: Record<string, EntryType> = { '0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };
const META_MAX = 4 * 1024 * 1024;

function invalid(msg: string): TsbuildError {
  return new TsbuildError('TSB_TAR_INVALID', `invalid tar: ${msg}`);
}

/**
 * A synchronous, push-style tar parser (ustar, PAX with binary values, GNU long names). Like Go's archive/tar,
 * header-only types (links, dirs, devices) carry no data whatever their size field says, and the archive ends
 * at two zero blocks; anything after that is ignored.
 */
export class TarReader {
  private buf: Buffer[] = [];
  private buffered = 0;
  private state: 'header' | 'meta' | 'data' | 'skip' | 'zero' | 'done' = 'header';
  private remaining = 0;
  private pad = 0;
  private meta: RawHeader | undefined;
  private pax: Map<string, Buffer> | undefined;
  private globalPax = new Map<string, Buffer>();
  private longName: string | undefined;
  private longLink: string | undefined;

  constructor(private readonly visitor: TarVisitor) {}

  /** Feeds bytes; throws TSB_TAR_INVALID (or the visitor's error). */
  write(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && this.state !== 'done') {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, chunk.length - off);
        if (n > 0) this.visitor.data(chunk.subarray(off, off + n));
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) this.finishData();
        continue;
      }
      if (this.state === 'skip') {
        const n = Math.min(this.remaining, chunk.length - off);
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'header';
        continue;
      }
      const need = this.state === 'meta' ? this.remaining + this.pad : BLOCK;
      const take = Math.min(need - this.buffered, chunk.length - off);
      this.buf.push(chunk.subarray(off, off + take));
      this.buffered += take;
      off += take;
      if (this.buffered < need) return;
      const whole = this.buf.length === 1 ? this.buf[0]! : Buffer.concat(this.buf);
      this.buf = [];
      this.buffered = 0;
      if (this.state === 'meta') this.onMeta(whole.subarray(0, this.remaining));
      else this.onHeader(whole);
    }
  }

  /** Ends the input; throws when the archive stopped in the middle of an entry. */
  finish(): void {
    if (this.state === 'done' || (this.state === 'header' && this.buffered === 0 && !this.meta && !this.pax && !this.longName)) return;
    if (this.state === 'zero' && this.buffered === 0) return;
    throw invalid('unexpected end of archive');
  }

  private onHeader(block: Buffer): void {
    const h = decodeHeader(block);
    if (!h) {
      this.state = this.state === 'zero' ? 'done' : 'zero';
      return;
    }
    if (this.state === 'zero') throw invalid('data after a zero block');
    switch (h.flag) {
      case 'x':
      case 'g':
      case 'L':
      case 'K':
        if (h.size > META_MAX) throw invalid(`extended header of ${h.size} bytes`);
        this.meta = h;
        this.state = 'meta';
        this.remaining = h.size;
        this.pad = padding(h.size);
        if (h.size === 0) this.onMeta(Buffer.alloc(0));
        return;
    }
    this.emit(h);
  }

  private onMeta(body: Buffer): void {
    const flag = this.meta!.flag;
    this.meta = undefined;
    this.state = 'header';
    if (flag === 'x') this.pax = new Map([...(this.pax ?? []), ...parsePax(body)]);
    else if (flag === 'g') for (const [k, v] of parsePax(body)) this.globalPax.set(k, v);
    else {
      const nul = body.indexOf(0);
      const s = (nul === -1 ? body : body.subarray(0, nul)).toString('utf8');
      if (flag === 'L') this.longName = s;
      else this.longLink = s;
    }
  }

  private emit(h: RawHeader): void {
    const pax = new Map([...this.globalPax, ...(this.pax ?? [])]);
    this.pax = undefined;
    let name = this.longName ?? h.name;
    let linkname = this.longLink ?? h.linkname;
    this.longName = this.longLink = undefined;
    const num = (key: string, fallback: number): number => {
      const v = pax.get(key);
      if (v === undefined) return fallback;
      const n = Math.floor(Number(v.toString('latin1')));
      if (!Number.isSafeInteger(n)) throw invalid(`bad PAX ${key}`);
      return n;
    };
    const xattrs: Record<string, Buffer> = {};
    let hasX = false;
    for (const [k, v] of pax) {
      if (k === 'path') name = v.toString('utf8');
      else if (k === 'linkpath') linkname = v.toString('utf8');
      else if (k.startsWith('SCHILY.xattr.')) {
        xattrs[k.slice('SCHILY.xattr.'.length)] = v;
        hasX = true;
      } else if (k.startsWith('GNU.sparse.')) throw new TsbuildError('TSB_NOT_IMPLEMENTED', `sparse tar entries are not supported (${name})`);
    }
    let type = TYPES[h.flag];
    if (!type) throw invalid(`entry "${name}" has unsupported type ${JSON.stringify(h.flag)}`);
    if (type === 'file' && name.endsWith('/')) type = 'dir';
    if (name === '' || name.includes('\0') || linkname.includes('\0')) throw invalid(`bad entry name ${JSON.stringify(name)}`);
    const size = type === 'file' ? num('size', h.size) : 0;
    const header: TarHeader = {
      name,
      type,
      mode: h.mode,
      uid: num('uid', h.uid),
      gid: num('gid', h.gid),
      size,
      mtime: num('mtime', h.mtime),
    };
    if (type === 'link' || type === 'symlink') header.linkname = linkname;
    if (type === 'char' || type === 'block') {
      header.devmajor = h.devmajor;
      header.devminor = h.devminor;
    }
    if (hasX) header.xattrs = xattrs;
    this.visitor.entry(header);
    this.remaining = size;
    this.pad = padding(size);
    if (size > 0) this.state = 'data';
    else this.finishData();
  }

  private finishData(): void {
    this.visitor.end();
    this.remaining = this.pad;
    this.pad = 0;
    this.state = this.remaining > 0 ? 'skip' : 'header';
  }
}

/**
 * A Writable that feeds a TarReader in stream order, with sync work per chunk (`onChunk` sees every raw
 * byte first, e.g. to hash it) and `onFinish` after the reader has seen the end of the archive.
 */
export function readerSink(reader: TarReader, hooks: { onChunk?: (chunk: Buffer) => void; onFinish?: () => void } = {}): Writable {
  return new Writable({
    highWaterMark: CHUNK,
    write(chunk: Buffer, _enc, cb) {
      try {
        hooks.onChunk?.(chunk);
        reader.write(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    final(cb) {
      try {
        reader.finish();
        hooks.onFinish?.();
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}
