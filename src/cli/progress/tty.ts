import type { BuildEvent } from '../../api/index.js';
import { colorFor } from '../color.js';
import { bar, clip, formatSize, printable, seconds, shortDigest } from './format.js';
import { BuildState, type StepState, type TransferState } from './state.js';
import { explainLines, summaryLines, warningLines } from './summary.js';
import type { BuildSummary, Progress, ProgressIo } from './types.js';

const CSI = '\x1b[';

/**
 * BuildKit-style live progress for a terminal: a header with the elapsed time and a line per step that is redrawn
 * in place (cursor up, erase line) every 100 ms — running steps with their elapsed time and the last lines of their
 * output, CACHED steps, pull/push byte bars. The final frame stays on screen, followed by the summary.
 */
export class TtyProgress implements Progress {
  readonly rendersError = false;
  private readonly now: () => number;
  private readonly state: BuildState;
  private readonly c;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(private readonly io: ProgressIo, o: { intervalMs?: number } = {}) {
    this.now = io.now ?? Date.now;
    this.state = new BuildState(this.now(), this.now);
    this.c = colorFor(io.isTTY ?? true, io.env);
    if (o.intervalMs !== 0) {
      this.timer = setInterval(() => this.render(false), o.intervalMs ?? 100);
      this.timer.unref();
    }
  }

  onEvent(e: BuildEvent): void {
    this.state.apply(e);
  }

  private get width(): number {
    return Math.max(20, (this.io.columns ?? 80) - 1);
  }

  private stepLine(s: StepState): string {
    const ms = s.status === 'running' ? this.now() - s.started : s.ms ?? 0;
    const time = s.status === 'cached' ? '0.0s' : seconds(ms);
    const mark = s.status === 'cached' ? 'CACHED ' : s.status === 'error' ? 'ERROR ' : '';
    const left = clip(` => ${mark}[${s.label}] ${printable(s.title)}`, this.width - time.length - 1);
    const line = `${left}${' '.repeat(Math.max(1, this.width - Array.from(left).length - time.length))}${time}`;
    if (s.status === 'error') return this.c.red(line);
    if (s.status === 'running') return line;
    return this.c.blue(line);
  }

  private transferLine(t: TransferState): string {
    const size = t.total === undefined ? formatSize(t.current) : `${formatSize(t.current)} / ${formatSize(t.total)}`;
    const state = t.exists ? (t.kind === 'pull' ? 'already present' : 'already exists') : t.done ? `${size} done` : `${bar(t.current, t.total ?? 0)} ${size}`;
    const line = clip(` => ${t.kind}ing ${t.ref} ${shortDigest(t.digest)} ${state}`, this.width);
    return t.done ? this.c.blue(line) : line;
  }

  /** The frame: header, then every step (running ones with their output tail), then transfers. */
  frame(final: boolean, failed = false): string[] {
    const { total, run, cached } = this.state.counts();
    const status = final ? (failed ? ' ERROR' : ' FINISHED') : '';
    const header = `[+] Building ${seconds(this.now() - this.state.started)} (${run + cached}/${total})${status}`;
    const body: string[] = [];
    for (const s of this.state.order) {
      body.push(this.stepLine(s));
      if (s.status === 'running' && !final) for (const l of s.tail) body.push(this.c.dim(clip(` => => # ${printable(l)}`, this.width)));
    }
    for (const t of this.state.transfers.values()) if (!final || !t.done) body.push(this.transferLine(t));
    const rows = Math.max(4, (this.io.rows ?? 24) - 2);
    const shown = final || body.length <= rows ? body : body.slice(body.length - rows);
    return [final && failed ? this.c.red(header) : this.c.bold(header), ...shown];
  }

  /** Redraws in place: up over the last frame, erase each line as it is rewritten, erase what is left below. */
  render(final: boolean, failed = false): void {
    if (this.finished) return;
    const lines = this.frame(final, failed);
    let s = this.drawn > 0 ? `${CSI}${this.drawn}A\r` : '';
    for (const l of lines) s += `${CSI}2K${l}\n`;
    s += `${CSI}J`;
    this.io.write(s);
    this.drawn = lines.length;
  }

  private stop(failed: boolean): void {
    if (this.timer) clearInterval(this.timer);
    this.render(true, failed);
    this.finished = true;
  }

  done(summary: BuildSummary): void {
    this.stop(false);
    this.io.write([...summaryLines(summary, this.state, this.c), ...explainLines(this.state.explains, this.c), ...warningLines(this.state.warnings, this.c)].map((l) => `${l}\n`).join(''));
  }

  failed(error: unknown): void {
    this.state.failStep((error as { step?: string })?.step);
    this.stop(true);
    const w = warningLines(this.state.warnings, this.c);
    if (w.length) this.io.write(w.map((l) => `${l}\n`).join(''));
  }
}
