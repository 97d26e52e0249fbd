import type { Paint } from './color.js';
import { checkDockerfile, loadDockerfile, type DockerfileSource } from '../api/lint.js';
import { outline, type Outline, type OutlineArg } from '../api/outline.js';
import { TsbuildError } from '../util/index.js';
import { renderLintWarning } from './render.js';

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('').trimEnd());
}

/** `--check` / `--call check`: every finding in full; exit 1 when there are any (like buildx). */
export function runCheck(src: DockerfileSource, out: (s: string) => void, c: Paint): number {
  const r = checkDockerfile(src);
  const n = r.warnings.length;
  if (n === 0) {
    out(`${c.green('Check complete, no warnings found.')}\n`);
    return 0;
  }
  out(`${c.yellow(`Check complete, ${n} warning${n === 1 ? ' has' : 's have'} been found!`)}\n`);
  for (const w of r.warnings) out(`\n${renderLintWarning(w, r.dockerfile.lines, c)}`);
  if (r.failOnWarnings) out(`\n${c.red('error: lint violation found for rules:')} ${[...new Set(r.warnings.map((w) => w.rule))].join(', ')} (# check=error=true)\n`);
  return 1;
}

function argRows(args: OutlineArg[]): string[][] {
  return [['BUILD ARG', 'VALUE', 'DESCRIPTION'], ...args.map((a) => [a.name, a.defaultValue ?? '', [a.global ? '(global)' : '', a.description ?? ''].filter(Boolean).join(' ')])];
}

function stageName(o: Outline, i: number): string {
  const s = o.stages[i]!;
  return s.name ?? `stage-${s.index}`;
}

/** `--call outline`: each stage with its description (the comment above its FROM) and the ARGs it uses. */
export function printOutline(o: Outline, out: (s: string) => void, c: Paint): void {
  const blocks = o.stages.map((s, i) => {
    const lines = [`${c.bold('TARGET:')}      ${stageName(o, i)}${i === o.target ? c.green(' (default)') : ''}`, `${c.bold('FROM:')}        ${s.base} (line ${s.line})`];
    if (s.description) lines.push(`${c.bold('DESCRIPTION:')} ${s.description}`);
    if (s.args.length) lines.push('', ...table(argRows(s.args)));
    return lines.join('\n');
  });
  out(`${blocks.join('\n\n')}\n`);
}

/** `--call targets`: the stages one can pass to --target, with their descriptions. */
export function printTargets(o: Outline, out: (s: string) => void): void {
  const rows = [['TARGET', 'DESCRIPTION'], ...o.stages.map((s, i) => [`${stageName(o, i)}${i === o.target ? ' (default)' : ''}`, s.description ?? ''])];
  out(`${table(rows).join('\n')}\n`);
}

/** `--call NAME[,format=json]`: check, outline or targets; the exit code. */
export function runCall(call: string, src: DockerfileSource & { target?: string }, out: (s: string) => void, c: Paint): number {
  const [name, ...opts] = call.split(',');
  const json = opts.includes('format=json');
  if (name === 'build') throw new Error('build is not a --call method here');
  if (name === 'check' || name === 'lint') {
    if (!json) return runCheck(src, out, c);
    const r = checkDockerfile(src);
    out(`${JSON.stringify({ warnings: r.warnings, error: r.failOnWarnings && r.warnings.length > 0 }, null, 2)}\n`);
    return r.warnings.length ? 1 : 0;
  }
  if (name === 'outline' || name === 'targets') {
    const o = outline(loadDockerfile(src), src.target);
    if (json) out(`${JSON.stringify(name === 'outline' ? o : o.stages.map((s, i) => ({ name: stageName(o, i), description: s.description, default: i === o.target })), null, 2)}\n`);
    else if (name === 'outline') printOutline(o, out, c);
    else printTargets(o, out);
    return 0;
  }
  throw new TsbuildError('TSB_USAGE', `unknown --call method "${name}"`, { hint: 'use --call build, check, outline or targets' });
}
