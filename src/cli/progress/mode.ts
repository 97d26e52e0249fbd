import { TsbuildError } from '../../util/index.js';
import type { ProgressMode } from './types.js';

const MODES = ['auto', 'tty', 'plain', 'json', 'quiet', 'rawjson'];

/**
 * `--progress` (or $TSBUILD_PROGRESS, or auto): auto is tty on a terminal and plain otherwise, and plain when CI=true.
 * `-q` is quiet whatever else was asked. `rawjson` is accepted as buildx's name for json.
 */
export function resolveMode(o: { flag?: string; quiet: boolean; env: NodeJS.ProcessEnv; isTTY: boolean }): ProgressMode {
  if (o.quiet) return 'quiet';
  const asked = (o.flag ?? o.env.TSBUILD_PROGRESS ?? 'auto').toLowerCase() || 'auto';
  if (!MODES.includes(asked)) {
    throw new TsbuildError('TSB_USAGE', `invalid progress mode "${asked}"`, { hint: 'use --progress auto, tty, plain, json or quiet' });
  }
  if (asked === 'rawjson') return 'json';
  if (asked !== 'auto') return asked as ProgressMode;
  if (o.env.CI === 'true' || o.env.TERM === 'dumb') return 'plain';
  return o.isTTY ? 'tty' : 'plain';
}
