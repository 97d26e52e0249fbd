import type { BuildGraph, LayerInfo, Op, PlannedStage, Step } from '../graph/index.js';
import { sha256, type Digest, type HistoryEntry, type ImageConfig } from '../oci/index.js';
import { availableParallelism } from 'node:os';
import type { CacheIndex, CacheRecord } from '../cache/index.js';
import { TsbuildError, createLimiter } from '../util/index.js';
import type { BuildEvent } from './events.js';

/** A solved stage: its final cache key, layers and the image config with rootfs and history filled. */
export interface StageResult {
  key: Digest;
  layers: LayerInfo[];
  config: ImageConfig;
  /** Every step record this stage used or made, with its key (for cache export; mode=min). */
  steps: Array<{ key: Digest; record: CacheRecord }>;
}

/** The target's result plus every step record of the build (for cache export with mode=max). */
export interface SolveResult extends StageResult {
  allSteps: Array<{ key: Digest; record: CacheRecord }>;
}

export interface StepInput { parentKey: Digest; layers: LayerInfo[] }

/** A step's cache decision: its key, its parent's key (the chain), and whether it was a hit. */
export interface StepTrace {
  step: Step;
  label: string;
  key: Digest;
  parentKey: Digest;
  cached: boolean;
}

/** Links a handler may follow to other stages. */
export interface StageLinks {
  stageLayers(stage: number): Promise<LayerInfo[]>;
  stageKey(stage: number): Promise<Digest>;
}

/** Handlers keyed by Op kind, generic over the context the caller injects (the solver never imports ops). */
export type Handlers<C> = {
  [K in Op['kind']]: {
    cacheKey(op: Extract<Op, { kind: K }>, input: StepInput, ctx: C): Promise<Digest>;
    exec(op: Extract<Op, { kind: K }>, input: StepInput, ctx: C): Promise<LayerInfo | undefined>;
  };
};

export interface SolveOptions<C> {
  graph: BuildGraph;
  handlers: Handlers<C>;
  cache: CacheIndex;
  noCache: boolean;
  /** True when a cached layer's blob is still present. */
  layerAvailable(layer: LayerInfo): boolean;
  contextFor(step: Step, links: StageLinks): C;
  emit(e: BuildEvent): void;
  signal: AbortSignal;
  /**
   * Runs `fn` holding an inter-process lock for one cache key, so two builds on one store never run the
   * same step at once (the second finds the first one's result when it gets the lock).
   */
  lockStep<T>(key: Digest, fn: () => Promise<T>): Promise<T>;
  /** Called once per step with its cache decision (for --explain-cache and tools). */
  trace?(t: StepTrace): void;
  /** Called with every cached layer the build reuses (a concurrent prune must keep it). */
  retain?(layer: LayerInfo): void;
  /** Steps executing at once (default: the number of cores). */
  concurrency?: number;
  /** SOURCE_DATE_EPOCH (seconds): part of every step key, and the clamp for history and image times. */
  sourceDateEpoch?: number;
}

/** Solves every planned stage (independent stages concurrently) and returns the target's result. */
export async function solve<C>(o: SolveOptions<C>): Promise<SolveResult> {
  const results = new Map<number, Promise<StageResult>>();
  const byIndex = new Map(o.graph.stages.map((s) => [s.index, s]));
  const solveStage = (i: number): Promise<StageResult> => {
    let p = results.get(i);
    if (!p) {
      const stage = byIndex.get(i);
      if (!stage) throw new Error(`stage ${i} was not planned`);
      p = solveOne(stage);
      results.set(i, p);
    }
    return p;
  };
  const inflight = new Map<Digest, Promise<CacheRecord>>();
  const limit = createLimiter(o.concurrency ?? availableParallelism());
  const links: StageLinks = {
    stageLayers: async (i) => (await solveStage(i)).layers,
    stageKey: async (i) => (await solveStage(i)).key,
  };

  async function runStep(step: Step, input: StepInput, label: string) {
    const started = Date.now();
    try {
      return await runStepInner(step, input, label);
    } catch (e) {
      if (e instanceof TsbuildError && e.location === undefined) e.location = step.loc;
      if (e instanceof TsbuildError && e.step === undefined) e.step = step.title;
      const failed: BuildEvent = { type: 'step.error', step, label, ms: Date.now() - started, message: e instanceof Error ? e.message : String(e) };
      if (e instanceof TsbuildError) failed.code = e.code;
      o.emit(failed);
      throw e;
    }
  }

  const lookup = (key: Digest): CacheRecord | undefined => {
    const c = o.noCache ? undefined : o.cache.get(key);
    if (!c || (c.layer && !o.layerAvailable(c.layer))) return undefined;
    if (c.layer) o.retain?.(c.layer);
    return c;
  };

  async function runStepInner(step: Step, input: StepInput, label: string) {
    const handler = o.handlers[step.op.kind] as Handlers<C>['run'];
    const ctx = o.contextFor(step, links);
    const opKey = await handler.cacheKey(step.op as never, input, ctx);
    // A reproducible build makes different layer bytes (clamped times): it gets its own cache entries.
    const key = o.sourceDateEpoch === undefined ? opKey : sha256(JSON.stringify([opKey, 'epoch', o.sourceDateEpoch]));
    const cached = lookup(key);
    const trace = (hit: boolean) => o.trace?.({ step, label, key, parentKey: input.parentKey, cached: hit });
    if (cached) {
      trace(true);
      o.emit({ type: 'step.cached', step, label });
      return { key, record: cached };
    }
    // The same step twice in one build (identical stage prefixes) runs once; the twin waits for it.
    const twin = inflight.get(key);
    if (twin) {
      const record = await twin;
      trace(true);
      o.emit({ type: 'step.cached', step, label });
      return { key, record };
    }
    const work = o.lockStep(key, async () => {
      const meanwhile = lookup(key);
      trace(meanwhile !== undefined);
      if (meanwhile) {
        o.emit({ type: 'step.cached', step, label });
        return meanwhile;
      }
      return limit(async () => {
        if (o.signal.aborted) throw new TsbuildError('TSB_CANCELLED', 'build cancelled');
        o.emit({ type: 'step.start', step, label });
        const started = Date.now();
        const layer = await handler.exec(step.op as never, input, ctx);
        const record: CacheRecord = layer ? { layer, created: new Date().toISOString() } : { created: new Date().toISOString() };
        o.cache.put(key, record);
        const done: BuildEvent = { type: 'step.done', step, label, ms: Date.now() - started };
        if (layer) done.layerSize = layer.descriptor.size;
        o.emit(done);
        return record;
      });
    });
    inflight.set(key, work);
    return { key, record: await work };
  }

  async function solveOne(stage: PlannedStage): Promise<StageResult> {
    let key: Digest;
    let layers: LayerInfo[];
    let history: HistoryEntry[];
    if (stage.base.kind === 'scratch') {
      key = sha256('scratch');
      layers = [];
      history = [];
    } else if (stage.base.kind === 'image') {
      key = stage.base.image.id;
      layers = [...stage.base.image.layers];
      for (const l of layers) o.retain?.(l);
      history = [...stage.baseHistory];
    } else {
      const dep = await solveStage(stage.base.stage);
      ({ key, layers } = dep);
      layers = [...layers];
      history = [...(dep.config.history ?? [])];
    }
    o.emit({ type: 'stage.base', stage: stage.index, label: stageLabel(stage) });
    const created = new Map<Step, { created: string; empty: boolean }>();
    const steps: StageResult['steps'] = stage.base.kind === 'stage' ? [...(await solveStage(stage.base.stage)).steps] : [];
    for (const [n, step] of stage.steps.entries()) {
      const label = `${stageLabel(stage)} ${n + 1}/${stage.steps.length}`;
      const { key: k, record } = await runStep(step, { parentKey: key, layers }, label);
      steps.push({ key: k, record });
      if (record.layer) layers.push(record.layer);
      created.set(step, { created: record.created, empty: !record.layer });
      key = k;
    }
    const stamps = [...created.values()].map((c) => c.created).sort();
    const baseCreated = stage.base.kind === 'stage' ? (await solveStage(stage.base.stage)).config.created : stage.baseCreated;
    let when = stamps[stamps.length - 1] ?? baseCreated ?? new Date(0).toISOString();
    const clamp = (t: string) => (o.sourceDateEpoch !== undefined && Date.parse(t) > o.sourceDateEpoch * 1000 ? new Date(o.sourceDateEpoch * 1000).toISOString() : t);
    when = clamp(when);
    for (const h of stage.history) {
      const entry: HistoryEntry = { created: when, created_by: h.createdBy, comment: 'buildkit.dockerfile.v0' };
      const c = h.step ? created.get(h.step) : undefined;
      if (c) entry.created = clamp(c.created);
      if (!c || c.empty) entry.empty_layer = true;
      history.push(entry);
    }
    const config: ImageConfig = { ...stage.config, created: when, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) }, history };
    return { key, layers, config, steps };
  }

  for (const s of o.graph.stages) solveStage(s.index).catch(() => {});
  const target = await solveStage(o.graph.target);
  const all = new Map<string, { key: Digest; record: CacheRecord }>();
  for (const s of o.graph.stages) for (const st of (await solveStage(s.index)).steps) all.set(st.key, st);
  return { ...target, allSteps: [...all.values()] };
}

function stageLabel(stage: PlannedStage): string {
  return stage.name ?? `stage-${stage.index}`;
}
