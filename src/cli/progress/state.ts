import type { BuildEvent } from '../../api/index.js';
import type { ExplainEvent, TransferEvent, WarningEvent } from './types.js';

export interface StepState {
  /** Display number, in order of first appearance (BuildKit's #N). */
  n: number;
  id: string;
  label: string;
  title: string;
  status: 'running' | 'cached' | 'done' | 'error';
  started: number;
  ms?: number;
  layerSize?: number;
  /** The last few complete output lines (tty shows them under a running step). */
  tail: string[];
  partial: Record<'stdout' | 'stderr', string>;
}

export interface TransferState {
  kind: 'pull' | 'push';
  ref: string;
  digest: string;
  current: number;
  total?: number;
  done: boolean;
  exists: boolean;
  n: number;
}

const TAIL = 6;

/** Build progress folded from events: the steps in order of appearance, transfers and warnings. */
export class BuildState {
  readonly steps = new Map<string, StepState>();
  readonly order: StepState[] = [];
  readonly transfers = new Map<string, TransferState>();
  readonly warnings: WarningEvent[] = [];
  /** `--explain-cache`: every step's cache decision, in build order (shown after the summary). */
  readonly explains: ExplainEvent[] = [];
  private next = 1;

  constructor(readonly started: number, private readonly now: () => number) {}

  private step(e: { step: { id: string; title: string }; label?: string }): StepState {
    let s = this.steps.get(e.step.id);
    if (!s) {
      s = { n: this.next++, id: e.step.id, label: e.label ?? '', title: e.step.title, status: 'running', started: this.now(), tail: [], partial: { stdout: '', stderr: '' } };
      this.steps.set(e.step.id, s);
      this.order.push(s);
    }
    if (e.label && !s.label) s.label = e.label;
    return s;
  }

  /** A display number for a pull/push of one image reference. */
  private transferNumber(kind: string, ref: string): number {
    for (const t of this.transfers.values()) if (t.kind === kind && t.ref === ref) return t.n;
    return this.next++;
  }

  /** Folds one event in; for a log chunk, returns the complete lines it finished. */
  apply(e: BuildEvent): { step?: StepState; lines?: string[]; transfer?: TransferState } {
    switch (e.type) {
      case 'step.start': {
        const s = this.step(e);
        s.status = 'running';
        s.started = this.now();
        return { step: s };
      }
      case 'step.cached': {
        const s = this.step(e);
        s.status = 'cached';
        s.ms = 0;
        return { step: s };
      }
      case 'step.done': {
        const s = this.step(e);
        s.status = 'done';
        s.ms = e.ms;
        s.tail = [];
        if (e.layerSize !== undefined) s.layerSize = e.layerSize;
        return { step: s, lines: this.flush(s) };
      }
      case 'step.error': {
        const s = this.step(e);
        s.status = 'error';
        s.ms = e.ms ?? this.now() - s.started;
        return { step: s, lines: this.flush(s) };
      }
      case 'step.log': {
        const s = this.step(e);
        const parts = (s.partial[e.stream] + e.chunk.toString('utf8')).split('\n');
        s.partial[e.stream] = parts.pop() ?? '';
        s.tail.push(...parts.slice(-TAIL));
        if (s.tail.length > TAIL) s.tail.splice(0, s.tail.length - TAIL);
        return { step: s, lines: parts };
      }
      case 'pull.progress':
      case 'push.progress':
        return { transfer: this.transfer(e) };
      case 'warning':
        this.warnings.push(e);
        return {};
      case 'stage.base':
        return {};
      case 'cache.explain': {
        this.explains.push(e);
        const s = this.steps.get(e.step.id);
        return s ? { step: s } : {};
      }
    }
  }

  private transfer(e: TransferEvent): TransferState {
    const kind = e.type === 'pull.progress' ? 'pull' : 'push';
    const key = `${kind} ${e.ref} ${e.digest}`;
    let t = this.transfers.get(key);
    if (!t) {
      t = { kind, ref: e.ref, digest: e.digest, current: 0, done: false, exists: false, n: this.transferNumber(kind, e.ref) };
      this.transfers.set(key, t);
    }
    t.current = e.current;
    if (e.total !== undefined) t.total = e.total;
    t.done = e.done === true || e.exists === true;
    t.exists = e.exists === true;
    return t;
  }

  /** The unterminated last lines of a step, as complete lines (the step is over). */
  flush(s: StepState): string[] {
    const out = [s.partial.stdout, s.partial.stderr].filter((p) => p !== '');
    s.partial = { stdout: '', stderr: '' };
    return out;
  }

  /** Marks the step a TsbuildError names (by its title) as failed when no step.error did; returns it if it changed. */
  failStep(title: string | undefined): StepState | undefined {
    const running = [...this.order].reverse().filter((x) => x.status === 'running');
    const s = running.find((x) => x.title === title) ?? (title === undefined ? undefined : running[0]);
    if (!s) return undefined;
    s.status = 'error';
    s.ms = this.now() - s.started;
    return s;
  }

  counts(): { total: number; run: number; cached: number } {
    const cached = this.order.filter((s) => s.status === 'cached').length;
    const run = this.order.filter((s) => s.status === 'done').length;
    return { total: this.order.length, run, cached };
  }
}
