import type { Step } from '../graph/index.js';
import type { SourceLocation } from '../util/index.js';

/** Bytes moved for one blob of a registry pull or push; `done` once the blob is complete (or was already there). */
export interface TransferProgress {
  /** The image reference being pulled or pushed, as the user wrote it. */
  ref: string;
  /** The blob (layer, config or manifest) this progress is about. */
  digest: string;
  /** Bytes moved so far. */
  current: number;
  /** Blob size, when known. */
  total?: number;
  done?: boolean;
  /** True when the blob was already present (pull: in the store; push: in the registry) and nothing moved. */
  exists?: boolean;
}

/** Progress of a build, emitted by the solver (and api/registry code) and rendered by the CLI. */
export type BuildEvent =
  | { type: 'step.start'; step: Step; label: string }
  | { type: 'step.cached'; step: Step; label: string }
  | { type: 'step.done'; step: Step; label: string; ms: number; layerSize?: number }
  | { type: 'step.log'; step: Step; stream: 'stdout' | 'stderr'; chunk: Buffer }
  /** A step failed; the error itself is still thrown from build(). */
  | { type: 'step.error'; step: Step; label: string; ms?: number; message: string; code?: string }
  | { type: 'stage.base'; stage: number; label: string }
  | ({ type: 'pull.progress' } & TransferProgress)
  | ({ type: 'push.progress' } & TransferProgress)
  /** `rule` and `location` are set for Dockerfile lint warnings (build checks). */
  | { type: 'warning'; message: string; rule?: string; description?: string; location?: SourceLocation };
