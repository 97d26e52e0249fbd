/** Stable error codes: callers match on these, never on messages. */
export type ErrorCode =
  | 'TSB_USAGE'
  | 'TSB_DOCKERFILE_NOT_FOUND'
  | 'TSB_DOCKERFILE_SYNTAX'
  | 'TSB_DOCKERFILE_UNKNOWN_INSTRUCTION'
  | 'TSB_CONTEXT_NOT_FOUND'
  | 'TSB_COPY_SOURCE_MISSING'
  | 'TSB_STAGE_UNKNOWN'
  | 'TSB_IMAGE_NOT_FOUND'
  | 'TSB_IMAGE_INVALID'
  | 'TSB_REFERENCE_INVALID'
  | 'TSB_RUN_FAILED'
  | 'TSB_RUNTIME_UNAVAILABLE'
  | 'TSB_CONTAINER_START'
  | 'TSB_DIGEST_MISMATCH'
  | 'TSB_TAR_UNSAFE'
  | 'TSB_TAR_INVALID'
  | 'TSB_ARCHIVE_INVALID'
  | 'TSB_STORE_LOCKED'
  | 'TSB_STORE_CORRUPT'
  | 'TSB_MOUNT_FAILED'
  | 'TSB_PATH_UNSAFE'
  | 'TSB_OUTPUT_INVALID'
  | 'TSB_USER_UNKNOWN'
  | 'TSB_CANCELLED'
  | 'TSB_REGISTRY_AUTH'
  | 'TSB_SSH_AGENT'
  | 'TSB_SSH_MISSING'
  | 'TSB_MOUNT_SOURCE_MISSING'
  | 'TSB_SECRET_MISSING'
  | 'TSB_NETWORK'
  | 'TSB_NOT_IMPLEMENTED';

/** A 1-based location in a Dockerfile: the span of lines an instruction covers. */
export interface SourceLocation {
  file: string;
  startLine: number;
  endLine: number;
  column?: number;
}

export interface TsbuildErrorOptions {
  hint?: string;
  cause?: unknown;
  location?: SourceLocation;
  /** Extra lines to show under the message (for example a failed RUN's last output). */
  details?: string[];
}

/** The one error class for expected failures; bugs throw plain Error. */
export class TsbuildError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  location: SourceLocation | undefined;
  /** The build step that failed, as written in the Dockerfile (set by the solver). */
  step: string | undefined;
  /** The text of `location.file`, when the file cannot be read again (a Dockerfile from stdin). */
  sourceLines: string[] | undefined;
  readonly details: string[];

  constructor(code: ErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsbuildError';
    this.code = code;
    this.hint = options.hint;
    this.location = options.location;
    this.details = options.details ?? [];
  }
}

export function isTsbuildError(e: unknown, code?: ErrorCode): e is TsbuildError {
  return e instanceof TsbuildError && (code === undefined || e.code === code);
}

/** True when `e` is a Node system error with the given errno code (ENOENT, EEXIST, ...). */
export function isErrno(e: unknown, code: string): e is NodeJS.ErrnoException {
  return typeof e === 'object' && e !== null && (e as NodeJS.ErrnoException).code === code;
}
