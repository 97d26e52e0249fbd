import type { BuildEvent } from '../../api/index.js';

/** What a finished build reports to the progress display. */
export interface BuildSummary {
  /** Docker's IMAGE ID (the config digest). */
  id: string;
  /** The manifest digest. */
  digest: string;
  /** Layers plus config, in bytes (as `tsbuild images` counts). */
  size: number;
  tags: string[];
  ms: number;
}

/** A progress display: fed build events, then told once how the build ended. */
export interface Progress {
  onEvent(e: BuildEvent): void;
  done(summary: BuildSummary): void;
  /** The build threw `error`; `rendersError` displays (json) print the error themselves. */
  failed(error: unknown): void;
  /** True when `failed` already reported the error (the caller must not print it again). */
  readonly rendersError: boolean;
}

export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

export interface ProgressIo {
  write(s: string): void;
  /** Terminal width and height (tty mode). */
  columns?: number;
  rows?: number;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  isTTY?: boolean;
}

export type StepEvent = Extract<BuildEvent, { step: unknown }>;
export type TransferEvent = Extract<BuildEvent, { type: 'pull.progress' | 'push.progress' }>;
export type WarningEvent = Extract<BuildEvent, { type: 'warning' }>;
export type ExplainEvent = Extract<BuildEvent, { type: 'cache.explain' }>;
