import { Chalk, type ChalkInstance } from 'chalk';

/**
 * Colour for a stream: off when NO_COLOR is set (to anything non-empty), TERM=dumb, or the stream is not a terminal;
 * FORCE_COLOR=1..3 forces it on (and FORCE_COLOR=0 off), as chalk's own convention.
 */
export function colorFor(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  return new Chalk({ level: colorLevel(isTTY, env) });
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
