import * as fs from 'node:fs';
import { isErrno } from '../util/index.js';

/** One framed log record, as Docker's json-file driver writes it: one JSON object a line. */
export interface LogRecord {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

/** Appends output chunks to a log file, one record per line of output (a partial line is its own record). */
export function openLogWriter(file: string): { write(stream: 'stdout' | 'stderr', chunk: Buffer): void; close(): void } {
  const fd = fs.openSync(file, 'a', 0o640);
  return {
    write(stream, chunk) {
      const time = new Date().toISOString();
      const text = chunk.toString('utf8');
      let out = '';
      let start = 0;
      while (start < text.length) {
        const nl = text.indexOf('\n', start);
        const end = nl < 0 ? text.length : nl + 1;
        out += `${JSON.stringify({ log: text.slice(start, end), stream, time })}\n`;
        start = end;
      }
      fs.writeSync(fd, out);
    },
    close: () => fs.closeSync(fd),
  };
}

/** Parses whole records from log text; returns them and how many bytes were consumed. */
export function parseLog(text: string): { records: LogRecord[]; consumed: number } {
  const records: LogRecord[] = [];
  let consumed = 0;
  for (;;) {
    const nl = text.indexOf('\n', consumed);
    if (nl < 0) break;
    const line = text.slice(consumed, nl);
    consumed = nl + 1;
    if (line) records.push(JSON.parse(line) as LogRecord);
  }
  return { records, consumed: Buffer.byteLength(text.slice(0, consumed)) };
}

/** Reads a log file from `offset`; returns whole records and the offset after them. */
export function readLog(file: string, offset = 0): { records: LogRecord[]; offset: number } {
  let buf: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      buf = Buffer.alloc(Math.max(0, size - offset));
      if (buf.length > 0) fs.readSync(fd, buf, 0, buf.length, offset);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { records: [], offset };
    throw e;
  }
  const { records, consumed } = parseLog(buf.toString('utf8'));
  return { records, offset: offset + consumed };
}
