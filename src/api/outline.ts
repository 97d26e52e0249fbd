import { expandWord, type ArgInstruction, type Dockerfile, type Instruction } from '../dockerfile/index.js';
import { TsbuildError } from '../util/index.js';

export interface OutlineArg {
  name: string;
  /** The default as written (raw), when there is one (a stage ARG without one inherits the global default). */
  defaultValue?: string;
  /** The comment lines right above the ARG. */
  description?: string;
  /** Declared before the first FROM. */
  global: boolean;
  line: number;
}

export interface OutlineStage {
  index: number;
  name?: string;
  /** The FROM image as written. */
  base: string;
  /** The comment lines right above the FROM. */
  description?: string;
  line: number;
  /** ARGs this stage reads: its own ARG declarations and the global ARGs its FROM uses. */
  args: OutlineArg[];
}

export interface Outline {
  file: string;
  stages: OutlineStage[];
  /** Index of the stage `--target` selects (default: the last). */
  target: number;
}

const DIRECTIVE = /^#\s*(syntax|escape|check)\s*=/i;

/** The run of `#` comment lines directly above a line (no blank line between), joined with spaces. */
function commentAbove(df: Dockerfile, line: number): string | undefined {
  const out: string[] = [];
  for (let n = line - 1; n >= 1; n--) {
    const text = (df.lines[n - 1] ?? '').trim();
    if (!text.startsWith('#') || DIRECTIVE.test(text)) break;
    out.unshift(text.replace(/^#\s?/, ''));
  }
  const s = out.join(' ').trim();
  return s === '' ? undefined : s;
}

function argsOf(df: Dockerfile, i: ArgInstruction, global: boolean, defaults: Map<string, string | undefined>): OutlineArg[] {
  return i.args.map((a) => {
    const arg: OutlineArg = { name: a.name, global, line: i.loc.startLine };
    const d = a.defaultValue ?? defaults.get(a.name);
    if (d !== undefined) arg.defaultValue = d;
    const description = commentAbove(df, i.loc.startLine);
    if (description !== undefined) arg.description = description;
    return arg;
  });
}

/** `tsbuild build --call outline|targets`: the stages, their descriptions and the ARGs each uses. */
export function outline(df: Dockerfile, target?: string): Outline {
  const globals: OutlineArg[] = [];
  const stages: OutlineStage[] = [];
  const globalDefaults = new Map<string, string | undefined>();
  let current: OutlineStage | undefined;
  for (const i of df.instructions as Instruction[]) {
    if (i.kind === 'FROM') {
      current = { index: stages.length, base: i.image, line: i.loc.startLine, args: [] };
      if (i.stageName !== undefined) current.name = i.stageName;
      const description = commentAbove(df, i.loc.startLine);
      if (description !== undefined) current.description = description;
      const used = new Set<string>();
      const recorder = { get: (n: string) => (used.add(n), '') } as unknown as ReadonlyMap<string, string>;
      for (const w of [i.image, ...(i.flags.platform ?? [])]) {
        try {
          expandWord(w, recorder, df.directives.escape);
        } catch {
          // malformed words fail the build with a located error; the outline just lists what it can read
        }
      }
      current.args.push(...globals.filter((g) => used.has(g.name)));
      stages.push(current);
    } else if (i.kind === 'ARG') {
      const args = argsOf(df, i, current === undefined, globalDefaults);
      if (current) current.args.push(...args.filter((a) => !current!.args.some((b) => b.name === a.name)));
      else for (const a of args) (globals.push(a), globalDefaults.set(a.name, a.defaultValue));
    }
  }
  let index = stages.length - 1;
  if (target !== undefined) {
    index = stages.findIndex((s) => s.name === target.toLowerCase());
    if (index < 0) {
      throw new TsbuildError('TSB_STAGE_UNKNOWN', `target stage "${target}" could not be found`, { hint: `stages: ${stages.map((s) => s.name ?? `#${s.index}`).join(', ')}` });
    }
  }
  return { file: df.file, stages, target: index };
}
