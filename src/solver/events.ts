import type { Step } from '../graph/index.js';

/** Progress of a build, emitted by the solver and rendered by the CLI. */
export type BuildEvent =
  | { type: 'step.start'; step: Step; label: string }
  | { type: 'step.cached'; step: Step; label: string }
  | { type: 'step.done'; step: Step; label: string; ms: number; layerSize?: number }
  | { type: 'step.log'; step: Step; stream: 'stdout' | 'stderr'; chunk: Buffer }
  | { type: 'stage.base'; stage: number; label: string }
  | { type: 'warning'; message: string };
