import type { Instruction } from '../dockerfile/index.js';
import { TsbuildError } from '../util/index.js';
import { addStep, flag, type StageBuilder } from './builder.js';
import { goList } from './fold.js';
import type { Op } from './types.js';

/** RUN: the command (shell or exec form, heredoc scripts), its environment, user, directory and network. */
export function planRun(b: StageBuilder, ins: Extract<Instruction, { kind: 'RUN' }>, shell: string[]): void {
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

