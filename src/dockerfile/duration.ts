const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration ("1m30s", "1.5h", "-2ms", "0") in nanoseconds, or undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]+)/u;
  while (s !== '') {
    const m = part.exec(s);
    if (!m) return undefined;
    const [all, whole = '', frac, unit = ''] = m;
    if (whole === '' && (frac ?? '') === '') return undefined;
    const scale = UNIT_NS[unit];
    if (scale === undefined) return undefined;
    total += Number(whole || '0') * scale + (frac ? Number(`0.${frac}`) * scale : 0);
    s = s.slice(all.length);
  }
  return sign * Math.round(total);
}
