import type { BuildEvent } from '../../api/index.js';
import { TsbuildError } from '../../util/index.js';
import { BuildState, type StepState } from './state.js';
import type { BuildSummary, Progress, ProgressIo } from './types.js';

/** Version of the `--progress json` event stream (src/cli/progress-events.schema.json). */
export const SCHEMA_VERSION = 1;

interface StepRef { id: string; n: number; label: string; title: string; stage: number; line?: number }

/** Log bytes as utf8 when they are valid UTF-8 (they round-trip), else base64. */
export function encodeChunk(chunk: Buffer): { encoding: 'utf8' | 'base64'; data: string } {
  const text = chunk.toString('utf8');
  return Buffer.byteLength(text) === chunk.length && Buffer.from(text, 'utf8').equals(chunk) ? { encoding: 'utf8', data: text } : { encoding: 'base64', data: chunk.toString('base64') };
}

/**
 * `--progress json`: one JSON object per line, each with `v` (schema version), `type` and `time` (ISO 8601).
 * Machine-readable and complete: every log byte, every step transition, the result or the error.
 */
export class JsonProgress implements Progress {
  readonly rendersError = true;
  private readonly now: () => number;
  private readonly state: BuildState;
  private readonly errored = new Set<string>();

  constructor(private readonly io: ProgressIo) {
    this.now = io.now ?? Date.now;
    this.state = new BuildState(this.now(), this.now);
  }

  private emit(type: string, body: Record<string, unknown>): void {
    this.io.write(`${JSON.stringify({ v: SCHEMA_VERSION, type, time: new Date(this.now()).toISOString(), ...body })}\n`);
  }

  private ref(s: StepState, step: { stage: number; loc?: { startLine: number } }): StepRef {
    const r: StepRef = { id: s.id, n: s.n, label: s.label, title: s.title, stage: step.stage };
    if (step.loc) r.line = step.loc.startLine;
    return r;
  }

  onEvent(e: BuildEvent): void {
    const r = this.state.apply(e);
    switch (e.type) {
      case 'step.start':
      case 'step.cached':
        return this.emit(e.type, { step: this.ref(r.step!, e.step) });
      case 'step.done': {
        const body: Record<string, unknown> = { step: this.ref(r.step!, e.step), ms: e.ms };
        if (e.layerSize !== undefined) body.layerSize = e.layerSize;
        return this.emit(e.type, body);
      }
      case 'step.error': {
        this.errored.add(e.step.id);
        const body: Record<string, unknown> = { step: this.ref(r.step!, e.step), message: e.message };
        if (e.code !== undefined) body.code = e.code;
        if (e.ms !== undefined) body.ms = e.ms;
        return this.emit(e.type, body);
      }
      case 'step.log':
        return this.emit(e.type, { step: this.ref(r.step!, e.step), stream: e.stream, ...encodeChunk(e.chunk) });
      case 'stage.base':
        return this.emit(e.type, { stage: e.stage, label: e.label });
      case 'pull.progress':
      case 'push.progress': {
        const body: Record<string, unknown> = { ref: e.ref, digest: e.digest, current: e.current };
        if (e.total !== undefined) body.total = e.total;
        if (e.done !== undefined) body.done = e.done;
        if (e.exists !== undefined) body.exists = e.exists;
        return this.emit(e.type, body);
      }
      case 'cache.explain': {
        const step = r.step ? this.ref(r.step, e.step) : { id: e.step.id, n: 1, label: e.label, title: e.step.title, stage: e.step.stage, line: e.step.loc.startLine };
        return this.emit(e.type, { step, cached: e.cached, reasons: e.reasons });
      }
      case 'warning': {
        const body: Record<string, unknown> = { message: e.message };
        if (e.rule !== undefined) body.rule = e.rule;
        if (e.description !== undefined) body.description = e.description;
        if (e.location) {
          const l: Record<string, unknown> = { file: e.location.file, line: e.location.startLine, endLine: e.location.endLine };
          if (e.location.column !== undefined) l.column = e.location.column;
          body.location = l;
        }
        return this.emit(e.type, body);
      }
    }
  }

  done(s: BuildSummary): void {
    this.emit('result', { id: s.id, digest: s.digest, size: s.size, tags: s.tags, ms: s.ms, steps: this.state.counts() });
  }

  failed(error: unknown): void {
    const te = error instanceof TsbuildError ? error : undefined;
    const s = this.state.failStep(te?.step);
    if (s && !this.errored.has(s.id)) {
      const body: Record<string, unknown> = { step: { id: s.id, n: s.n, label: s.label, title: s.title, stage: Number(s.id.split('/')[0]) || 0 }, message: te?.message ?? String(error), ms: s.ms ?? 0 };
      if (te) body.code = te.code;
      this.emit('step.error', body);
    }
    const body: Record<string, unknown> = { code: te?.code ?? 'TSB_INTERNAL', message: te?.message ?? (error as Error)?.message ?? String(error), details: te?.details ?? [] };
    if (te?.hint) body.hint = te.hint;
    if (te?.step) body.step = te.step;
    if (te?.location) {
      const l: Record<string, unknown> = { file: te.location.file, line: te.location.startLine, endLine: te.location.endLine };
      if (te.location.column !== undefined) l.column = te.location.column;
      body.location = l;
    }
    this.emit('error', body);
  }
}
