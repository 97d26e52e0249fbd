import type { BuildEvent } from '../../api/index.js';
import { colorFor } from '../color.js';
import { formatSize, seconds, shortDigest } from './format.js';
import { BuildState, type StepState, type TransferState } from './state.js';
import { explainLines, summaryLines, warningLines } from './summary.js';
import type { BuildSummary, Progress, ProgressIo } from './types.js';

/**
 * Line-oriented progress for logs and CI: every line is `#N T.TTT …` (N the step's number, T seconds since the
 * build started), with step lines ` => [stage i/n] TITLE`, ` => CACHED [...]`, ` => DONE 1.2s` and, between them,
 * the step's complete, unclipped output, line by line. Nothing is ever redrawn.
 */
export class PlainProgress implements Progress {
  readonly rendersError = false;
  private readonly now: () => number;
  private readonly state: BuildState;
  private readonly c;
  private readonly lastShown = new Map<TransferState, number>();

  constructor(private readonly io: ProgressIo) {
    this.now = io.now ?? Date.now;
    this.state = new BuildState(this.now(), this.now);
    this.c = colorFor(io.isTTY ?? false, io.env);
  }

  private prefix(n: number): string {
    return `#${n} ${((this.now() - this.state.started) / 1000).toFixed(3)}`;
  }

  private out(n: number, lines: string[]): void {
    if (lines.length === 0) return;
    const p = this.prefix(n);
    this.io.write(lines.map((l) => `${p} ${l}\n`).join(''));
  }

  private head(s: StepState): string {
    return `[${s.label}] ${s.title}`;
  }

  onEvent(e: BuildEvent): void {
    const r = this.state.apply(e);
    const s = r.step;
    switch (e.type) {
      case 'step.start':
        return this.out(s!.n, [this.c.blue(` => ${this.head(s!)}`)]);
      case 'step.cached':
        return this.out(s!.n, [this.c.blue(` => CACHED ${this.head(s!)}`)]);
      case 'step.log':
        return this.out(s!.n, r.lines!);
      case 'step.done':
        this.out(s!.n, r.lines!);
        return this.out(s!.n, [this.c.blue(` => DONE ${seconds(e.ms)}${e.layerSize === undefined ? '' : `, layer ${formatSize(e.layerSize)}`}`)]);
      case 'step.error':
        this.out(s!.n, r.lines!);
        return this.out(s!.n, [this.c.red(` => ERROR ${this.head(s!)}: ${e.message}`)]);
      case 'pull.progress':
      case 'push.progress': {
        const t = r.transfer!;
        const last = this.lastShown.get(t);
        if (!t.done && last !== undefined && this.now() - last < 1000) return;
        this.lastShown.set(t, this.now());
        const size = t.total === undefined ? formatSize(t.current) : `${formatSize(t.current)} / ${formatSize(t.total)}`;
        const what = t.exists ? (t.kind === 'pull' ? 'already present' : 'already exists') : t.done ? `${size} done` : size;
        return this.out(t.n, [` => ${t.kind}ing ${t.ref} ${shortDigest(t.digest)} ${what}`]);
      }
      case 'warning':
      case 'stage.base':
      case 'cache.explain':
        return;
    }
  }

  private flushAll(): void {
    for (const s of this.state.order) this.out(s.n, this.state.flush(s));
  }

  done(summary: BuildSummary): void {
    this.flushAll();
    this.io.write([...summaryLines(summary, this.state, this.c), ...explainLines(this.state.explains, this.c), ...warningLines(this.state.warnings, this.c)].map((l) => `${l}\n`).join(''));
  }

  failed(error: unknown): void {
    this.flushAll();
    const s = this.state.failStep((error as { step?: string })?.step);
    if (s && s.status === 'error') this.out(s.n, [this.c.red(` => ERROR ${this.head(s)}`)]);
    const w = warningLines(this.state.warnings, this.c);
    if (w.length) this.io.write(w.map((l) => `${l}\n`).join(''));
  }
}
