import type { Instruction } from '../dockerfile/index.js';
import { expandWord, expandWords } from '../dockerfile/index.js';
import { TsbuildError, type SourceLocation } from '../util/index.js';
import { goList, normalizePort } from './fold.js';
import type { Scope } from './scope.js';
import type { CopySource, Op, PlannedStage } from './types.js';
import * as path from 'node:path';

/** Mutable state while planning one stage. */
export interface StageBuilder {
  stage: PlannedStage;
  scope: Scope;
  globals: Scope;
  buildArgs: Record<string, string>;
  escape: '\\' | '`';
  network: 'host' | 'none';
  cmdSetInStage: boolean;
  resolveFrom: (ref: string, loc: SourceLocation) => Promise<CopySource>;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];

function addStep(b: StageBuilder, ins: Instruction, op: Op, createdBy: string): void {
  const step = { id: `${b.stage.index}/${b.stage.steps.length}`, stage: b.stage.index, op, title: ins.original, createdBy, loc: ins.loc };
  b.stage.steps.push(step);
  b.stage.history.push({ createdBy, step });
}

function meta(b: StageBuilder, createdBy: string): void {
  b.stage.history.push({ createdBy });
}

function flag(ins: Instruction, name: string): string | undefined {
  return ins.flags[name]?.[ins.flags[name]!.length - 1];
}

/** Applies one instruction to the stage: updates the config and scope, or adds a filesystem step. */
export async function planInstruction(b: StageBuilder, ins: Instruction): Promise<void> {
  const cfg = b.stage.config.config;
  const x = (raw: string) => expandWord(raw, b.scope.forExpansion(), b.escape);
  const shell = () => cfg.Shell ?? DEFAULT_SHELL;
  switch (ins.kind) {
    case 'FROM':
      throw new Error('FROM inside a stage body');
    case 'ARG':
      for (const a of ins.args) {
        const value = b.buildArgs[a.name] ?? (a.defaultValue !== undefined ? x(a.defaultValue) : b.globals.args.get(a.name));
        b.scope.args.set(a.name, value);
      }
      return;
    case 'ENV': {
      const vars = b.scope.forExpansion();
      const expanded = ins.pairs.map((p) => ({ key: p.key, value: expandWord(p.value, vars, b.escape) }));
      for (const p of expanded) b.scope.env.set(p.key, p.value);
      cfg.Env = b.scope.envList();
      return meta(b, `ENV ${expanded.map((p) => `${p.key}=${p.value}`).join(' ')}`);
    }
    case 'LABEL': {
      const vars = b.scope.forExpansion();
      cfg.Labels = cfg.Labels ?? {};
      const parts: string[] = [];
      for (const p of ins.pairs) {
        const key = expandWord(p.key, vars, b.escape);
        const value = expandWord(p.value, vars, b.escape);
        cfg.Labels[key] = value;
        parts.push(`${key}=${value}`);
      }
      return meta(b, `LABEL ${parts.join(' ')}`);
    }
    case 'MAINTAINER':
      b.stage.config.author = ins.name;
      return meta(b, `MAINTAINER ${ins.name}`);
    case 'WORKDIR': {
      const p = x(ins.path);
      const dir = path.posix.resolve(cfg.WorkingDir || '/', p);
      cfg.WorkingDir = dir;
      return addStep(b, ins, { kind: 'mkdir', path: dir, user: cfg.User ?? '' }, `WORKDIR ${dir}`);
    }
    case 'USER':
      cfg.User = x(ins.user);
      return meta(b, `USER ${cfg.User}`);
    case 'EXPOSE': {
      cfg.ExposedPorts = cfg.ExposedPorts ?? {};
      const ports = ins.ports.flatMap((p) => expandWords(p, b.scope.forExpansion(), b.escape)).map(normalizePort);
      for (const p of ports) cfg.ExposedPorts[p] = {};
      return meta(b, `EXPOSE map[${ports.map((p) => `${p}:{}`).join(' ')}]`);
    }
    case 'VOLUME': {
      cfg.Volumes = cfg.Volumes ?? {};
      const paths = ins.paths.map(x).filter((p) => p !== '');
      if (paths.length === 0) throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', 'VOLUME specified can not be an empty string', { location: ins.loc });
      for (const p of paths) cfg.Volumes[p] = {};
      return meta(b, `VOLUME ${goList(paths)}`);
    }
    case 'STOPSIGNAL':
      cfg.StopSignal = x(ins.signal);
      return meta(b, `STOPSIGNAL ${cfg.StopSignal}`);
    case 'SHELL':
      cfg.Shell = ins.shell;
      return meta(b, `SHELL ${goList(ins.shell)}`);
    case 'CMD': {
      cfg.Cmd = ins.form === 'exec' ? ins.cmd : [...shell(), ins.cmd[0] ?? ''];
      b.cmdSetInStage = true;
      return meta(b, `CMD ${goList(cfg.Cmd)}`);
    }
    case 'ENTRYPOINT': {
      cfg.Entrypoint = ins.form === 'exec' ? ins.cmd : [...shell(), ins.cmd[0] ?? ''];
      if (!b.cmdSetInStage) cfg.Cmd = null;
      return meta(b, `ENTRYPOINT ${goList(cfg.Entrypoint)}`);
    }
    case 'HEALTHCHECK': {
      const hc: NonNullable<typeof cfg.Healthcheck> = { Test: ins.test };
      if (ins.interval !== undefined) hc.Interval = ins.interval;
      if (ins.timeout !== undefined) hc.Timeout = ins.timeout;
      if (ins.startPeriod !== undefined) hc.StartPeriod = ins.startPeriod;
      if (ins.startInterval !== undefined) hc.StartInterval = ins.startInterval;
      if (ins.retries !== undefined) hc.Retries = ins.retries;
      cfg.Healthcheck = hc;
      return meta(b, `HEALTHCHECK &{${goList(ins.test)}}`);
    }
    case 'ONBUILD':
      cfg.OnBuild = [...(cfg.OnBuild ?? []), ins.expression];
      return meta(b, `ONBUILD ${ins.expression}`);
    case 'RUN':
      return planRun(b, ins, shell());
    case 'COPY':
    case 'ADD':
      return planCopy(b, ins, x);
  }
}

function planRun(b: StageBuilder, ins: Extract<Instruction, { kind: 'RUN' }>, shell: string[]): void {
  if (ins.flags.mount?.length) {
    throw new TsbuildError('TSB_NOT_IMPLEMENTED', 'RUN --mount is not supported yet', { location: ins.loc });
  }
  const network = flag(ins, 'network');
  if (network !== undefined && !['default', 'none', 'host'].includes(network)) {
    throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `unsupported network mode "${network}" (want default, none or host)`, { location: ins.loc });
  }
  let args: string[];
  if (ins.form === 'exec') args = ins.cmd;
  else if (ins.heredocs.length === 1 && /^<<-?["']?\w+["']?$/.test((ins.cmd[0] ?? '').trim())) args = [...shell, ins.heredocs[0]!.content];
  else if (ins.heredocs.length > 0) throw new TsbuildError('TSB_NOT_IMPLEMENTED', 'heredocs beyond `RUN <<EOF` are not supported yet', { location: ins.loc });
  else args = [...shell, ins.cmd[0] ?? ''];
  const cfg = b.stage.config.config;
  const op: Op = {
    kind: 'run',
    args,
    env: b.scope.runEnv(),
    cwd: cfg.WorkingDir || '/',
    user: cfg.User ?? '',
    network: network === undefined || network === 'default' ? b.network : (network as 'host' | 'none'),
  };
  addStep(b, ins, op, `RUN ${ins.form === 'exec' ? goList(args) : args.join(' ')} # buildkit`);
}

async function planCopy(b: StageBuilder, ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>, x: (s: string) => string): Promise<void> {
  for (const f of ['link', 'parents', 'exclude', 'checksum', 'keep-git-dir', 'unpack']) {
    if (ins.flags[f]?.length) throw new TsbuildError('TSB_NOT_IMPLEMENTED', `${ins.kind} --${f} is not supported yet`, { location: ins.loc });
  }
  if (ins.heredocs.length > 0) throw new TsbuildError('TSB_NOT_IMPLEMENTED', `${ins.kind} <<EOF is not supported yet`, { location: ins.loc });
  const fromRef = flag(ins, 'from');
  if (fromRef !== undefined && ins.kind === 'ADD') throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', 'ADD does not support --from', { location: ins.loc });
  const from: CopySource = fromRef === undefined ? { kind: 'context' } : await b.resolveFrom(x(fromRef), ins.loc);
  const sources = ins.sources.map(x);
  for (const s of sources) {
    if (ins.kind === 'ADD' && /^(https?|git):\/\//.test(s)) throw new TsbuildError('TSB_NOT_IMPLEMENTED', 'ADD of a URL is not supported yet', { location: ins.loc });
  }
  const cfg = b.stage.config.config;
  const op: Op = { kind: 'copy', add: ins.kind === 'ADD', sources, dest: x(ins.dest), from, cwd: cfg.WorkingDir || '/' };
  const chown = flag(ins, 'chown');
  const chmod = flag(ins, 'chmod');
  if (chown !== undefined) op.chown = x(chown);
  if (chmod !== undefined) {
    op.chmod = x(chmod);
    if (!/^[0-7]{3,4}$/.test(op.chmod)) throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `invalid --chmod=${op.chmod}: only octal modes are supported yet`, { location: ins.loc });
  }
  // BuildKit's history text names neither --from nor the flags.
  addStep(b, ins, op, `${ins.kind} ${sources.join(' ')} ${op.dest} # buildkit`);
}
