import type { Instruction } from '../dockerfile/index.js';
import { expandWord, expandWords } from '../dockerfile/index.js';
import { TsbuildError } from '../util/index.js';
import { DEFAULT_SHELL, addStep, meta, type StageBuilder } from './builder.js';
import { exposedPorts, goList, goValues } from './fold.js';
import { planCopy } from './plan-copy.js';
import { planRun } from './plan-run.js';
import * as path from 'node:path';

export type { StageBuilder } from './builder.js';

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
        b.stage.declaredArgs.push(a.name);
      }
      return meta(b, `ARG ${ins.args.map((a) => (a.defaultValue === undefined ? a.name : `${a.name}=${a.defaultValue}`)).join(' ')}`);
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
      const ports = new Set<string>();
      for (const spec of ins.ports.flatMap((p) => expandWords(p, b.scope.forExpansion(), b.escape))) {
        const expanded = exposedPorts(spec);
        if (!expanded) throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `Invalid containerPort: ${spec}`, { location: ins.loc });
        for (const p of expanded) ports.add(p);
      }
      for (const p of ports) cfg.ExposedPorts[p] = {};
      // Go prints a map with its keys sorted.
      return meta(b, `EXPOSE map[${[...ports].sort().map((p) => `${p}:{}`).join(' ')}]`);
    }
    case 'VOLUME': {
      cfg.Volumes = cfg.Volumes ?? {};
      const paths = ins.paths.map(x).filter((p) => p !== '');
      if (paths.length === 0) throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', 'VOLUME specified can not be an empty string', { location: ins.loc });
      for (const p of paths) cfg.Volumes[p] = {};
      return meta(b, `VOLUME ${goValues(paths)}`);
    }
    case 'STOPSIGNAL':
      cfg.StopSignal = x(ins.signal);
      return meta(b, `STOPSIGNAL ${cfg.StopSignal}`);
    case 'SHELL':
      cfg.Shell = ins.shell;
      return meta(b, `SHELL ${goValues(ins.shell)}`);
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
      // BuildKit records the trigger in the config only: no history entry.
      cfg.OnBuild = [...(cfg.OnBuild ?? []), ins.expression];
      return;
    case 'RUN':
      return planRun(b, ins, shell());
    case 'COPY':
    case 'ADD':
      return planCopy(b, ins, x);
  }
}

