/**
 * A BuildKit-style code frame: numbered lines, `>>>` on the lines of `loc` (1-based, inclusive), `context` lines
 * around them. Returns '' when `loc` is outside `lines`.
 */
export function formatCodeFrame(lines: string[], loc: { startLine: number; endLine: number }, context = 2): string {
  const start = loc.startLine;
  const end = Math.max(loc.startLine, loc.endLine);
  if (start < 1 || start > lines.length) return '';
  const first = Math.max(1, start - context);
  const last = Math.min(lines.length, end + context);
  const width = Math.max(3, String(last).length);
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const marker = n >= start && n <= end ? '>>>' : '   ';
    const text = lines[n - 1] ?? '';
    const row = ` ${String(n).padStart(width)} | ${marker} ${text}`;
    out.push(text === '' ? row.trimEnd() : row);
  }
  return out.join('\n');
}
