import * as path from 'node:path';
import { expandWord, parseHeredocMarker, type Instruction } from '../dockerfile/index.js';
import { TsbuildError, type SourceLocation } from '../util/index.js';
import { addStep, flag, type StageBuilder } from './builder.js';
import type { CopySource, Op, RunMount, RunOp } from './types.js';

type RunInstruction = Extract<Instruction, { kind: 'RUN' }>;

/** RUN: the command (shell or exec form, heredocs), mounts, environment, user, directory and network. */
export async function planRun(b: StageBuilder, ins: RunInstruction, shell: string[]): Promise<void> {
  const network = flag(ins, 'network');
  if (network !== undefined && !['default', 'none', 'host'].includes(network)) {
    throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `unsupported network mode "${network}" (want default, none or host)`, { location: ins.loc });
  }
  const cfg = b.stage.config.config;
  const cwd = cfg.WorkingDir || '/';
  const { args, script } = runCommand(ins, shell);
  const op: RunOp = {
    kind: 'run',
    args,
    env: b.scope.runEnv(b.proxies),
    cwd,
    user: cfg.User ?? '',
    network: network === undefined || network === 'default' ? b.network : (network as 'host' | 'none'),
  };
  const mounts = await planMounts(b, ins, cwd);
  if (mounts.length > 0) op.mounts = mounts;
  if (script) op.script = script;
  // BuildKit's history names the command as run (shell included, exec form joined by spaces) after the
  // declared ARGs as `|N k=v …`, never the mounts or other flags.
  addStep(b, ins, op as Op, `RUN ${b.scope.runHistoryPrefix()}${args.join(' ')} # buildkit`);
}

/**
 * BuildKit's heredoc rules: a command that is only `<<EOF` runs the heredoc body (a `#!` body as an executable
 * file at /dev/pipes/<name>, else as the shell's command string); any other command line is handed to the shell
 * with the heredoc bodies appended, so the shell itself applies redirections, `<<-` and quoting rules.
 */
export function runCommand(ins: RunInstruction, shell: string[]): { args: string[]; script?: { name: string; content: string } } {
  if (ins.form === 'exec') return { args: ins.cmd };
  const line = ins.cmd[0] ?? '';
  if (ins.heredocs.length === 0) return { args: [...shell, line] };
  const only = parseHeredocMarker(line.trim());
  const first = ins.heredocs[0]!;
  if (only && only.name === first.name) {
    if (first.content.startsWith('#!')) {
      const name = first.name.replace(/\//g, '_');
      return { args: [...shell, `/dev/pipes/${name}`], script: { name, content: first.content } };
    }
    return { args: [...shell, first.content] };
  }
  return { args: [...shell, line + ins.heredocs.map((h) => `\n${h.content}${h.name}`).join('')] };
}

/** Splits a CSV record (`a=b,"c=d,e"`) into fields, as Go's encoding/csv does for one line. */
export function csvFields(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) throw new Error('extraneous or missing " in quoted-field');
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += value[i++];
      }
      if (i < value.length && value[i] !== ',') throw new Error('extraneous or missing " in quoted-field');
    } else {
      const end = value.indexOf(',', i);
      field = end < 0 ? value.slice(i) : value.slice(i, end);
      i = end < 0 ? value.length : end;
    }
    out.push(field);
    if (i >= value.length) return out;
    i++; // the comma
  }
}

/** Size strings as docker's units.RAMInBytes reads them: "64m", "1.5g", "100" (bytes), "2GiB"; binary units. */
export function parseRamBytes(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  if (!m) return undefined;
  const power = ' kmgtp'.indexOf(m[2]!.toLowerCase() || ' ');
  return Math.floor(Number(m[1]) * 1024 ** power);
}

const MOUNT_TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
const SHARING = ['shared', 'private', 'locked'] as const;
const ALL_KEYS = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env'];

/** Raw `--mount` fields after expansion, before defaults (BuildKit's instructions.Mount). */
interface RawMount {
  type: (typeof MOUNT_TYPES)[number];
  from: string;
  source: string;
  target: string;
  readonly: boolean;
  roAuto: boolean;
  size?: number;
  id: string;
  sharing?: (typeof SHARING)[number];
  required: boolean;
  env?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (['1', 't', 'true'].includes(v)) return true;
  if (['0', 'f', 'false'].includes(v)) return false;
  throw new Error(`invalid value for ${key}: ${value}`);
}

function parseUint(key: string, value: string, radix: 8 | 10): number {
  if (!(radix === 8 ? /^[0-7]+$/ : /^\d+$/).test(value) || parseInt(value, radix) > 0xffffffff) throw new Error(`invalid value ${value} for ${key}`);
  return parseInt(value, radix);
}

/** Parses one `--mount` value with BuildKit's keys, defaults and checks; values are expanded with `x`. */
export function parseMountFlag(value: string, x: (s: string) => string): RawMount {
  const m: RawMount = { type: 'bind', from: '', source: '', target: '', readonly: false, roAuto: true, id: '', required: false };
  for (const field of csvFields(value)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') m.readonly = true;
      else if (key === 'readwrite' || key === 'rw') m.readonly = false;
      else if (key === 'required' && (m.type === 'secret' || m.type === 'ssh')) m.required = true;
      else if (key === 'required') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      if (key !== 'required') m.roAuto = false;
      continue;
    }
    const raw = field.slice(eq + 1);
    if (key === 'from' && raw.indexOf('$') >= 0 && raw.indexOf('$') !== raw.length - 1) {
      throw new Error(`'${key}' doesn't support variable expansion, define alias stage instead`);
    }
    const v = x(raw);
    switch (key) {
      case 'type': {
        const t = v.toLowerCase();
        if (!(MOUNT_TYPES as readonly string[]).includes(t)) throw new Error(`unsupported mount type "${v}"`);
        m.type = t as RawMount['type'];
        break;
      }
      case 'from': m.from = v; break;
      case 'source': case 'src': m.source = v; break;
      case 'target': case 'dst': case 'destination': m.target = v; break;
      case 'readonly': case 'ro': m.readonly = parseBool(key, v); m.roAuto = false; break;
      case 'readwrite': case 'rw': m.readonly = !parseBool(key, v); m.roAuto = false; break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = parseBool(key, v);
        break;
      case 'size': {
        if (m.type !== 'tmpfs') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        const n = parseRamBytes(v);
        if (n === undefined) throw new Error(`invalid value for ${key}: ${v}`);
        m.size = n;
        break;
      }
      case 'id': m.id = v; break;
      case 'sharing': {
        const s = v.toLowerCase();
        if (!(SHARING as readonly string[]).includes(s)) throw new Error(`unsupported sharing value "${v}"`);
        m.sharing = s as RawMount['sharing'];
        break;
      }
      case 'mode': m.mode = parseUint(key, v, 8); break;
      case 'uid': m.uid = parseUint(key, v, 10); break;
      case 'gid': m.gid = parseUint(key, v, 10); break;
      case 'env': m.env = v; break;
      default: {
        const close = ALL_KEYS.find((k) => k.startsWith(key.slice(0, 3)) && key.length > 2);
        throw new Error(`unexpected key '${key}' in '${field}'${close ? ` (did you mean ${close}?)` : ''}`);
      }
    }
  }
  if (!['secret', 'ssh', 'cache'].includes(m.type)) {
    for (const k of ['mode', 'uid', 'gid'] as const) if (m[k] !== undefined) throw new Error(`${k} not allowed for "${m.type}" type mounts`);
  }
  if (m.roAuto) m.readonly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== '') throw new Error('secret mount should not have a from');
    if (m.sharing !== undefined) throw new Error('secret mount should not define sharing');
    if (m.source === '' && m.target === '' && m.id === '') throw new Error('invalid secret mount. one of source, target required');
    if (m.source !== '' && m.id !== '') throw new Error("both source and id can't be set");
  }
  if (m.sharing !== undefined && m.type !== 'cache') throw new Error(`invalid cache sharing set for ${m.type} mount`);
  return m;
}

/** Absolute mount target: relative targets are joined with the working directory; "/" is refused. */
function absTarget(target: string, cwd: string): string {
  const t = path.posix.resolve(cwd, target);
  if (t === '/') throw new Error(`invalid mount target "${t}"`);
  return t;
}

async function planMounts(b: StageBuilder, ins: RunInstruction, cwd: string): Promise<RunMount[]> {
  const x = (s: string) => expandWord(s, b.scope.forExpansion(), b.escape);
  const out: RunMount[] = [];
  let sshIndex = 0;
  const fail = (e: unknown, loc: SourceLocation): never => {
    if (e instanceof TsbuildError) throw e;
    throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', (e as Error).message, { location: loc });
  };
  for (const value of ins.flags.mount ?? []) {
    try {
      const m = parseMountFlag(value, x);
      const from = async (): Promise<CopySource | undefined> => (m.from === '' ? undefined : b.resolveFrom(m.from, ins.loc));
      switch (m.type) {
        case 'bind':
          out.push({ type: 'bind', target: absTarget(m.target, cwd), source: m.source, from: (await from()) ?? { kind: 'context' }, readonly: m.readonly });
          break;
        case 'cache': {
          const c: RunMount = {
            type: 'cache',
            target: absTarget(m.target, cwd),
            id: m.id !== '' ? m.id : path.posix.normalize(m.target).replace(/(.)\/+$/, '$1'),
            sharing: m.sharing ?? 'shared',
            readonly: m.readonly,
            source: m.source,
          };
          const f = await from();
          if (f) c.from = f;
          if (m.mode !== undefined) c.mode = m.mode;
          if (m.uid !== undefined) c.uid = m.uid;
          if (m.gid !== undefined) c.gid = m.gid;
          out.push(c);
          break;
        }
        case 'tmpfs':
          out.push(m.size !== undefined ? { type: 'tmpfs', target: absTarget(m.target, cwd), size: m.size } : { type: 'tmpfs', target: absTarget(m.target, cwd) });
          break;
        case 'secret': {
          const id = m.source || m.id || path.posix.basename(m.target);
          const s: RunMount = { type: 'secret', id, required: m.required, mode: m.mode ?? 0o400, uid: m.uid ?? 0, gid: m.gid ?? 0 };
          if (m.env === undefined || m.target !== '') s.target = path.posix.resolve(cwd, m.target || `/run/secrets/${path.posix.basename(id)}`);
          if (m.env !== undefined) s.env = m.env;
          out.push(s);
          break;
        }
        case 'ssh':
          if (m.source !== '') throw new Error('ssh does not support source');
          out.push({
            type: 'ssh',
            id: m.id || 'default',
            target: m.target === '' ? `/run/buildkit/ssh_agent.${sshIndex}` : path.posix.resolve(cwd, m.target),
            required: m.required,
            mode: m.mode ?? 0o600,
            uid: m.uid ?? 0,
            gid: m.gid ?? 0,
          });
          sshIndex++;
          break;
      }
    } catch (e) {
      fail(e, ins.loc);
    }
  }
  return out;
}
