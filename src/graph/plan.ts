import type { Dockerfile, FromInstruction, Instruction } from '../dockerfile/index.js';
import { expandWord, parseDockerfile, suggest } from '../dockerfile/index.js';
import { hostPlatform, type ImageConfig } from '../oci/index.js';
import { TsbuildError, type SourceLocation } from '../util/index.js';
import { cloneConfig } from './fold.js';
import { DEFAULT_PATH, PROXY_ARGS, Scope, platformArgs } from './scope.js';
import { planInstruction, type StageBuilder } from './instructions.js';
import type { BaseRef, BuildGraph, ImageResolver, PlannedStage } from './types.js';

export interface PlanOptions {
  dockerfile: Dockerfile;
  buildArgs: Record<string, string>;
  target?: string;
  network: 'host' | 'none';
  resolveImage: ImageResolver;
}

interface RawStage { index: number; name?: string; from: FromInstruction; body: Instruction[] }

/** Plans a build: splits stages, scopes ARGs, folds config, and lists the filesystem steps of every needed stage. */
export async function planBuild(o: PlanOptions): Promise<BuildGraph> {
  const { globals, stages } = splitStages(o.dockerfile);
  const globalScope = new Scope();
  const automatic = platformArgs(hostPlatform());
  for (const [k, v] of Object.entries(automatic)) globalScope.args.set(k, o.buildArgs[k] ?? v);
  for (const ins of globals) {
    if (ins.kind !== 'ARG') {
      throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `${ins.kind} is not allowed before the first FROM: no build stage in current context`, { location: ins.loc });
    }
    for (const a of ins.args) {
      const value = o.buildArgs[a.name] ?? (a.defaultValue === undefined ? undefined : expandWord(a.defaultValue, globalScope.forExpansion(), o.dockerfile.directives.escape));
      globalScope.args.set(a.name, value);
    }
  }
  if (stages.length === 0) {
    throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', 'the Dockerfile has no FROM instruction', { location: { file: o.dockerfile.file, startLine: 1, endLine: 1 } });
  }
  const target = pickTarget(stages, o.target);
  const planned = new Map<number, Promise<PlannedStage>>();
  const planStage = (i: number, chain: number[]): Promise<PlannedStage> => {
    if (chain.includes(i)) {
      throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', 'circular dependency between stages', { location: stages[i]!.from.loc });
    }
    let p = planned.get(i);
    if (!p) {
      p = planOne(stages[i]!, stages, globalScope, o, (j) => planStage(j, [...chain, i]));
      planned.set(i, p);
    }
    return p;
  };
  await planStage(target, []);
  const result: PlannedStage[] = [];
  for (const [, p] of [...planned].sort((a, b) => a[0] - b[0])) result.push(await p);
  const declared = new Set([...globals.flatMap((g) => (g.kind === 'ARG' ? g.args.map((a) => a.name) : [])), ...result.flatMap((s) => s.declaredArgs)]);
  const unusedBuildArgs = Object.keys(o.buildArgs).filter((k) => !declared.has(k) && !PROXY_ARGS.has(k)).sort();
  return { stages: result, target, unusedBuildArgs };
}

function splitStages(df: Dockerfile): { globals: Instruction[]; stages: RawStage[] } {
  const globals: Instruction[] = [];
  const stages: RawStage[] = [];
  for (const ins of df.instructions) {
    if (ins.kind === 'FROM') {
      const s: RawStage = { index: stages.length, from: ins, body: [] };
      if (ins.stageName !== undefined) s.name = ins.stageName.toLowerCase();
      if (s.name !== undefined && stages.some((o) => o.name === s.name)) {
        throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `duplicate stage name "${s.name}"`, { location: ins.loc });
      }
      stages.push(s);
    } else if (stages.length === 0) globals.push(ins);
    else stages[stages.length - 1]!.body.push(ins);
  }
  return { globals, stages };
}

function pickTarget(stages: RawStage[], target: string | undefined): number {
  if (target === undefined) return stages.length - 1;
  const found = stages.find((s) => s.name === target.toLowerCase());
  if (!found) {
    const names = stages.flatMap((s) => (s.name ? [s.name] : []));
    const close = suggest(target, names);
    throw new TsbuildError('TSB_STAGE_UNKNOWN', `target stage "${target}" could not be found`, {
      hint: close ? `did you mean "${close}"?` : names.length ? `stages: ${names.join(', ')}` : 'the Dockerfile names no stages (FROM image AS name)',
    });
  }
  return found.index;
}

/** Finds a stage by name or index among the stages before `before`. */
export function findStage(stages: readonly { index: number; name?: string }[], ref: string, before: number): number | undefined {
  if (/^\d+$/.test(ref)) {
    const i = Number(ref);
    return i < before ? i : undefined;
  }
  const s = stages.find((st) => st.index < before && st.name === ref.toLowerCase());
  return s?.index;
}

async function planOne(raw: RawStage, all: RawStage[], globals: Scope, o: PlanOptions, planDep: (i: number) => Promise<PlannedStage>): Promise<PlannedStage> {
  const escape = o.dockerfile.directives.escape;
  const image = expandWord(raw.from.image, globals.forExpansion(), escape);
  if (raw.from.flags.platform) {
    const platform = expandWord(raw.from.flags.platform[0] ?? '', globals.forExpansion(), escape);
    const host = hostPlatform();
    if (platform !== '' && !platform.startsWith(`${host.os}/${host.architecture}`)) {
      throw new TsbuildError('TSB_NOT_IMPLEMENTED', `--platform=${platform}: only the host platform (${host.os}/${host.architecture}) can be built yet`, { location: raw.from.loc });
    }
  }
  let base: BaseRef;
  let config: ImageConfig;
  let baseHistory: PlannedStage['baseHistory'] = [];
  const stageRef = findStage(all, image, raw.index);
  if (stageRef !== undefined) {
    const dep = await planDep(stageRef);
    base = { kind: 'stage', stage: stageRef };
    config = { ...dep.config, config: cloneConfig(dep.config.config) };
  } else if (image === 'scratch') {
    base = { kind: 'scratch' };
    const p = hostPlatform();
    // BuildKit's empty image config: WorkingDir "/" (and the default PATH, added below).
    config = { architecture: p.architecture, os: p.os, config: { WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [] } };
  } else {
    const img = await o.resolveImage(image, raw.from.loc);
    base = { kind: 'image', image: img };
    config = { ...img.config, config: cloneConfig(img.config.config ?? {}) };
    baseHistory = img.config.history ?? [];
  }
  const triggers = config.config.OnBuild ?? [];
  config.config.OnBuild = null;
  if (!(config.config.Env ?? []).some((e) => e.startsWith('PATH='))) config.config.Env = [`PATH=${DEFAULT_PATH}`, ...(config.config.Env ?? [])];
  const baseCreated = config.created;
  delete config.created;
  const stage: PlannedStage = { index: raw.index, base, steps: [], config, history: [], baseHistory, loc: raw.from.loc, declaredArgs: [] };
  if (baseCreated !== undefined) stage.baseCreated = baseCreated;
  if (raw.name !== undefined) stage.name = raw.name;
  const builder: StageBuilder = {
    stage,
    scope: Scope.fromEnv(config.config.Env),
    globals,
    buildArgs: o.buildArgs,
    proxies: Object.fromEntries(Object.entries(o.buildArgs).filter(([k]) => PROXY_ARGS.has(k))),
    escape,
    network: o.network,
    cmdSetInStage: false,
    resolveFrom: async (ref: string, loc: SourceLocation) => {
      const idx = findStage(all, ref, raw.index);
      if (idx !== undefined) {
        await planDep(idx);
        return { kind: 'stage', stage: idx };
      }
      if (all.some((s) => s.name === ref.toLowerCase())) {
        throw new TsbuildError('TSB_STAGE_UNKNOWN', `stage "${ref}" is defined after this instruction`, { location: loc });
      }
      return { kind: 'image', image: await o.resolveImage(ref, loc) };
    },
  };
  for (const ins of onbuildTriggers(triggers, raw.from, escape)) await planInstruction(builder, ins);
  for (const ins of raw.body) await planInstruction(builder, ins);
  return stage;
}

/** The base's ONBUILD triggers as instructions, fired right after FROM; errors point at the FROM line. */
function onbuildTriggers(triggers: string[], from: FromInstruction, escape: '\\' | '`'): Instruction[] {
  const out: Instruction[] = [];
  for (const t of triggers) {
    const text = escape === '`' ? `# escape=\`\n${t}\n` : `${t}\n`;
    let parsed: Instruction[];
    try {
      parsed = parseDockerfile(text, from.loc.file).instructions;
    } catch (e) {
      if (e instanceof TsbuildError) {
        e.location = from.loc;
        throw e;
      }
      throw e;
    }
    for (const ins of parsed) {
      if (ins.kind === 'FROM' || ins.kind === 'ONBUILD' || ins.kind === 'MAINTAINER') {
        throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `${ins.kind} isn't allowed as an ONBUILD trigger`, { location: from.loc });
      }
      out.push({ ...ins, loc: from.loc });
    }
  }
  return out;
}
