/**
 * Terminal colours: the few styles the CLI uses, in chalk's escape sequences and nesting. Our own rather
 * than chalk's: importing chalk runs its terminal detection and builds every style at start-up (~9 ms of
 * each command, coloured or not), while the level here is decided by colorLevel for the stream at hand.
 */

const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  cyan: [36, 39],
} as const;

type Style = keyof typeof STYLES;

/** A painter: call it on a string; chain styles as properties (`c.red.bold('x')`). */
export type Paint = ((s: string) => string) & { readonly [K in Style]: Paint };

function painter(on: boolean, open: string, close: string): Paint {
  const f = ((s: string) => (on && s !== '' ? `${open}${s}${close}` : s)) as Paint;
  for (const [name, [o, c]] of Object.entries(STYLES)) {
    Object.defineProperty(f, name, { get: () => painter(on, `${open}\x1b[${o}m`, `\x1b[${c}m${close}`) });
  }
  return f;
}

/**
 * Colour for a stream: off when NO_COLOR is set (to anything non-empty), TERM=dumb, or the stream is not a terminal;
 * FORCE_COLOR=1..3 forces it on (and FORCE_COLOR=0 off), as chalk's own convention.
 */
export function colorFor(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): Paint {
  return painter(colorLevel(isTTY, env) > 0, '', '');
}

export function colorLevel(isTTY: boolean, env: NodeJS.ProcessEnv): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR) return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') {
    if (force === '0' || force === 'false') return 0;
    const n = Number(force);
    return n === 2 || n === 3 ? n : 1;
  }
  if (!isTTY || env.TERM === 'dumb') return 0;
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  return env.TERM?.includes('256') ? 2 : 1;
}
