/**
 * A minimal virtual terminal for the escape sequences the tty progress writes (CR, LF, cursor up `ESC[nA`, erase
 * line `ESC[2K`, erase below `ESC[J`; colours `ESC[…m` are dropped): replays a captured byte stream and returns
 * the text left on screen, as a user would see it. Used by tests and to make the README capture.
 */
export function screen(raw: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    const l = lines[row] ?? '';
    lines[row] = l.length < col ? l.padEnd(col) + ch : l.slice(0, col) + ch + l.slice(col + 1);
    col++;
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\x1b' && raw[i + 1] === '[') {
      const m = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(raw.slice(i, i + 16));
      if (!m) continue;
      i += m[0].length - 1;
      const n = Number(m[1] || '0');
      if (m[2] === 'A') row = Math.max(0, row - (n || 1));
      else if (m[2] === 'K') lines[row] = n === 2 ? '' : (lines[row] ?? '').slice(0, col);
      else if (m[2] === 'J') lines.splice(row + 1), (lines[row] = (lines[row] ?? '').slice(0, col));
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
      if (lines[row] === undefined) lines[row] = '';
    } else put(ch);
  }
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.trimEnd());
}
