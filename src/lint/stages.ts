import type { ArgInstruction, Dockerfile, FromInstruction, Instruction } from '../dockerfile/index.js';

/** A FROM and the instructions under it, with the stage name as written (the model keeps it lowercased). */
export interface LintStage {
  index: number;
  from: FromInstruction;
  rawName?: string;
  instructions: Instruction[];
}

export interface LintView {
  df: Dockerfile;
  /** ARGs before the first FROM. */
  globals: ArgInstruction[];
  stages: LintStage[];
}

/** The keyword as written: the first word of the instruction's text. */
export function keywordOf(i: Instruction): string {
  return /^\s*(\S+)/.exec(i.original)?.[1] ?? i.kind;
}

/** Whitespace-separated words of the instruction's original text. */
export function wordsOf(i: Instruction): string[] {
  return i.original.trim().split(/[\t\v\f\r ]+/);
}

/** Splits a parsed Dockerfile into its global ARGs and stages. */
export function viewOf(df: Dockerfile): LintView {
  const globals: ArgInstruction[] = [];
  const stages: LintStage[] = [];
  for (const i of df.instructions) {
    if (i.kind === 'FROM') {
      const words = wordsOf(i);
      const stage: LintStage = { index: stages.length, from: i, instructions: [] };
      if (i.stageName !== undefined) stage.rawName = words[words.length - 1];
      stages.push(stage);
    } else if (stages.length === 0) {
      if (i.kind === 'ARG') globals.push(i);
    } else stages[stages.length - 1]!.instructions.push(i);
  }
  return { df, globals, stages };
}

/** 1-based column of `needle` in the instruction's first line (searching from `after`), else its first non-blank. */
export function columnOf(df: Dockerfile, i: Instruction, needle?: string, line = i.loc.startLine): number {
  const text = df.lines[line - 1] ?? '';
  if (needle) {
    const at = text.indexOf(needle, Math.max(0, text.search(/\S/)));
    if (at >= 0) return at + 1;
  }
  return Math.max(0, text.search(/\S/)) + 1;
}
