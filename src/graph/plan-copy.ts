import type { Instruction } from '../dockerfile/index.js';
import { TsbuildError } from '../util/index.js';
import { addStep, flag, type StageBuilder } from './builder.js';
import type { CopyOp, CopySource, Op } from './types.js';

const isHttp = (s: string) => /^https?:\/\//.test(s) && !isGit(s);
const isGit = (s: string) => /^git@|^git:\/\/|^ssh:\/\//.test(s) || (/^https?:\/\//.test(s) && /\.git(#|$)/.test(s));

/** Heredoc expansion: variables only; quotes and backslashes stay as written, `\$` gives `$`. */
function expandHeredoc(content: string, x: (s: string) => string): string {
  return content.replace(/\\\$|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, (tok) => (tok === '\\$' ? '$' : x(tok)));
}

/** COPY and ADD: sources, destination and flags, expanded with the stage's variables. */
export async function planCopy(b: StageBuilder, ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>, x: (s: string) => string): Promise<void> {
  const fail = (msg: string, code: 'TSB_DOCKERFILE_SYNTAX' | 'TSB_NOT_IMPLEMENTED' = 'TSB_DOCKERFILE_SYNTAX') => new TsbuildError(code, msg, { location: ins.loc });
  for (const f of ['keep-git-dir', 'unpack']) {
    if (ins.flags[f]?.length) throw fail(`${ins.kind} --${f} is not supported yet`, 'TSB_NOT_IMPLEMENTED');
  }
  const fromRef = flag(ins, 'from');
  if (fromRef !== undefined && ins.kind === 'ADD') throw fail('ADD does not support --from');
  const from: CopySource = fromRef === undefined ? { kind: 'context' } : await b.resolveFrom(x(fromRef), ins.loc);
  const sources = ins.sources.map(x);
  for (const s of sources) {
    if (isGit(s)) throw fail(`${ins.kind} of a git repository is not supported yet: ${s}`, 'TSB_NOT_IMPLEMENTED');
    if (isHttp(s) && ins.kind === 'COPY') throw fail('source can\'t be a URL for COPY');
  }
  const cfg = b.stage.config.config;
  const op: CopyOp = { kind: 'copy', add: ins.kind === 'ADD', sources, dest: x(ins.dest), from, cwd: cfg.WorkingDir || '/' };
  const chown = flag(ins, 'chown');
  const chmod = flag(ins, 'chmod');
  if (chown !== undefined && x(chown) !== '') op.chown = x(chown);
  if (chmod !== undefined && x(chmod) !== '') {
    op.chmod = x(chmod);
    if (!/^[0-7]{1,5}$/.test(op.chmod) && !/^([ugoa]*([-+=]([rwxXst]*|[ugo]))+)(,[ugoa]*([-+=]([rwxXst]*|[ugo]))+)*$/.test(op.chmod)) {
      throw fail(`invalid chmod parameter: '${op.chmod}'. it should be octal string and between 0 and 07777`);
    }
    if (/^[0-7]+$/.test(op.chmod) && parseInt(op.chmod, 8) > 0o7777) throw fail(`invalid chmod parameter: '${op.chmod}'. it should be octal string and between 0 and 07777`);
  }
  if (flag(ins, 'link') === 'true') op.link = true;
  if (flag(ins, 'parents') === 'true') op.parents = true;
  const exclude = (ins.flags.exclude ?? []).map(x).filter((e) => e !== '');
  if (exclude.length > 0) op.exclude = exclude;
  const checksum = flag(ins, 'checksum');
  if (checksum !== undefined) {
    op.checksum = x(checksum);
    if (ins.kind !== 'ADD') throw fail('checksum can\'t be specified for COPY');
    if (sources.length !== 1) throw fail('checksum can\'t be specified for multiple sources');
    if (!isHttp(sources[0]!)) throw fail('checksum requires HTTP(S) or Git sources');
    if (!/^sha256:[0-9a-f]{64}$/.test(op.checksum)) throw fail(`invalid checksum digest format: ${op.checksum}`);
  }
  if (ins.heredocs.length > 0) {
    op.heredocs = ins.heredocs.map((h) => ({ name: h.name, content: h.expand ? expandHeredoc(h.content, x) : h.content }));
  }
  const names = [...sources, ...(op.heredocs ?? []).map((h) => `<<${h.name}`)];
  // BuildKit's history text names neither --from nor the flags.
  addStep(b, ins, op as Op, `${ins.kind} ${names.join(' ')} ${op.dest} # buildkit`);
}
