import type { Instruction } from '../dockerfile/index.js';
import type { SourceLocation } from '../util/index.js';
import type { Scope } from './scope.js';
import type { CopySource, Op, PlannedStage } from './types.js';

/** Mutable state while planning one stage. */
export interface StageBuilder {
  stage: PlannedStage;
  scope: Scope;
  globals: Scope;
  buildArgs: Record<string, string>;
  /** Proxy build-args (HTTP_PROXY, ...): in every RUN's environment, never in history. */
  proxies: Record<string, string>;
  escape: '\\' | '`';
  network: 'host' | 'none';
  cmdSetInStage: boolean;
  resolveFrom: (ref: string, loc: SourceLocation) => Promise<CopySource>;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export function addStep(b: StageBuilder, ins: Instruction, op: Op, createdBy: string): void {
  const step = { id: `${b.stage.index}/${b.stage.steps.length}`, stage: b.stage.index, op, title: ins.original, createdBy, loc: ins.loc };
  b.stage.steps.push(step);
  b.stage.history.push({ createdBy, step });
}

export function meta(b: StageBuilder, createdBy: string): void {
  b.stage.history.push({ createdBy });
}

export function flag(ins: Instruction, name: string): string | undefined {
  return ins.flags[name]?.[ins.flags[name]!.length - 1];
}

