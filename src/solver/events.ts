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

/** Why a step missed the cache (`--explain-cache`): a stable `kind`, a sentence, and the details it names. */
export interface CacheReason {
  kind: 'first-build' | 'new-step' | 'removed-step' | 'instruction' | 'base' | 'env' | 'op' | 'files' | 'source' | 'parent' | 'epoch' | 'no-cache' | 'missing' | 'unknown';
  text: string;
  /** The build-arg/env variable or op field that changed. */
  name?: string;
  old?: string;
  new?: string;
  /** Context files that changed, were added or removed (the first few; `more` counts the rest). */
  paths?: string[];
  more?: number;
  /** The step (`[stage i/n] TITLE`) this reason points at: the first change of the chain, a removed step. */
  step?: string;
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
  /** After the build (`--explain-cache`): a step's cache decision and, for a miss, why, compared with the last build. */
  | { type: 'cache.explain'; step: Step; label: string; cached: boolean; reasons: CacheReason[] }
  | ({ type: 'pull.progress' } & TransferProgress)
  | ({ type: 'push.progress' } & TransferProgress)
  /** `rule` and `location` are set for Dockerfile lint warnings (build checks). */
  | { type: 'warning'; message: string; rule?: string; description?: string; location?: SourceLocation };
