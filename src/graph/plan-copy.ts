import type { Instruction } from '../dockerfile/index.js';
import { TsbuildError } from '../util/index.js';
import { addStep, flag, type StageBuilder } from './builder.js';
import type { CopySource, Op } from './types.js';

/** COPY and ADD: sources, destination and flags, expanded with the stage's variables. */
export async function planCopy(b: StageBuilder, ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>, x: (s: string) => string): Promise<void> {
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
