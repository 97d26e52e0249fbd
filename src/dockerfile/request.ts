import type { SourceLocation } from '../util/index.js';
import type { Flags, Heredoc } from './types.js';

/** One instruction line split into keyword, flags and argument text, with everything a builder needs. */
export interface Request {
  /** The keyword as written (any case). */
  keyword: string;
  /** Raw `--flag[=value]` words (quotes removed). */
  flagWords: string[];
  /** Argument text after the flags, trimmed. */
  args: string;
  original: string;
  loc: SourceLocation;
  escape: '\\' | '`';
  /** Bodies read after the line, for RUN/COPY/ADD (also when they are ONBUILD triggers). */
  heredocs: Heredoc[];
}

/** The fields every instruction shares. */
export function base(req: Request, flags: Flags): { loc: SourceLocation; original: string; flags: Flags } {
  return { loc: req.loc, original: req.original, flags };
}
