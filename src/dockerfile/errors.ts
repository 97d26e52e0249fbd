import { TsbuildError, type SourceLocation } from '../util/index.js';

/** A TSB_DOCKERFILE_SYNTAX error; the location is usually attached later by the parse loop. */
export function syntaxError(message: string, hint?: string, location?: SourceLocation): TsbuildError {
  return new TsbuildError('TSB_DOCKERFILE_SYNTAX', message, { hint, location });
}

/** Attach `location` to a TsbuildError that has none yet; other errors pass through untouched. */
export function withLocation(e: unknown, location: SourceLocation): unknown {
  if (e instanceof TsbuildError && e.location === undefined) e.location = location;
  return e;
}
