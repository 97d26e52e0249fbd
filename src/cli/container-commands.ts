import * as containers from '../api/containers.js';
import { CommandNotRunnableError, runContainerFromImage, type RunOptions } from '../api/run.js';
import { TsbuildError } from '../util/index.js';
import { trace } from '../api/trace.js';
import { all, flag, opt, parseArgs, type OptionSpec } from './args.js';
import type { Io } from './commands.js';

const RUN_OPTIONS: OptionSpec[] = [
  { long: 'rm' }, { long: 'detach', short: 'd' }, { long: 'name', value: true },
  { long: 'interactive', short: 'i' }, { long: 'tty', short: 't' },
  { long: 'env', short: 'e', value: true, multiple: true }, { long: 'env-file', value: true, multiple: true },
  { long: 'entrypoint', value: true }, { long: 'network', value: true }, { long: 'net', value: true },
  { long: 'user', short: 'u', value: true }, { long: 'workdir', short: 'w', value: true },
  { long: 'volume', short: 'v', value: true, multiple: true }, { long: 'tmpfs', value: true, multiple: true },
  { long: 'mount', value: true, multiple: true }, { long: 'read-only' }, { long: 'hostname', short: 'h', value: true },
  { long: 'memory', short: 'm', value: true }, { long: 'cpus', value: true }, { long: 'pids-limit', value: true },
  { long: 'cap-add', value: true, multiple: true }, { long: 'cap-drop', value: true, multiple: true }, { long: 'init' },
  { long: 'stop-signal', value: true }, { long: 'stop-timeout', value: true },
  { long: 'publish', short: 'p', value: true, multiple: true }, { long: 'publish-all', short: 'P' },
];

function int(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new TsbuildError('TSB_USAGE', `invalid ${what} "${v}": an integer is required`);
  return n;
}

function networkMode(v: string | undefined): RunOptions['network'] {
  if (v === undefined) return undefined;
  if (v === 'host' || v === 'none' || v === 'private') return v;
  if (v === 'bridge' || v === 'default' || v === 'slirp4netns') return 'private';
  throw new TsbuildError('TSB_USAGE', `unsupported --network "${v}"`, { hint: 'use host, none or private' });
}

function usage(n: number, name: string, syntax: string, positionals: string[]): void {
  if (positionals.length < n) throw new TsbuildError('TSB_USAGE', `"${name}" requires at least ${n} argument${n > 1 ? 's' : ''}`, { hint: `usage: tsbuild ${syntax}` });
}

/** tsbuild run [OPTIONS] IMAGE [COMMAND] [ARG...] */
export async function runCommand(argv: string[], io: Io): Promise<number> {
  trace('runCommand');
  const p = parseArgs(argv, RUN_OPTIONS, { stopAtPositional: true });
  const [image, ...cmd] = p.positionals;
  usage(1, 'run', 'run [OPTIONS] IMAGE [COMMAND] [ARG...]', p.positionals);
  const o: RunOptions = {
    root: io.root, image: image!, cmd, env: all(p, 'env'), envFiles: all(p, 'env-file'),
    interactive: flag(p, 'interactive'), tty: flag(p, 'tty'), network: networkMode(opt(p, 'network') ?? opt(p, 'net')),
    signal: io.signal, detach: flag(p, 'detach'), rm: flag(p, 'rm'),
    volumes: all(p, 'volume'), tmpfs: all(p, 'tmpfs'), mounts: all(p, 'mount'), readOnly: flag(p, 'read-only'),
    capAdd: all(p, 'cap-add'), capDrop: all(p, 'cap-drop'), init: flag(p, 'init'),
    publish: all(p, 'publish'), publishAll: flag(p, 'publish-all'),
  };
  const optional: Array<[keyof RunOptions, string | number | undefined]> = [
    ['entrypoint', opt(p, 'entrypoint')], ['user', opt(p, 'user')], ['workdir', opt(p, 'workdir')], ['name', opt(p, 'name')],
    ['hostname', opt(p, 'hostname')], ['memory', opt(p, 'memory')], ['cpus', opt(p, 'cpus')],
    ['pidsLimit', int(opt(p, 'pids-limit'), '--pids-limit')], ['stopSignal', opt(p, 'stop-signal')],
    ['stopTimeout', int(opt(p, 'stop-timeout'), '--stop-timeout')],
  ];
  for (const [k, v] of optional) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  if (o.detach && o.tty && !o.interactive) o.interactive = true;
  try {
    const r = await runContainerFromImage(o);
    if (o.detach) io.out(`${r.id}\n`);
    return r.exitCode ?? 0;
  } catch (e) {
    if (!(e instanceof CommandNotRunnableError)) throw e;
    io.err((await import('./render.js')).renderError(e));
    return e.exitStatus;
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

function since(iso: string | undefined): string {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)} seconds`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours`;
  return `${Math.floor(s / 86400)} days`;
}

/** tsbuild ps [-a] [-q] [--no-trunc] */
export async function psCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'all', short: 'a' }, { long: 'quiet', short: 'q' }, { long: 'no-trunc' }]);
  const list = containers.listContainerInfos(io.root, flag(p, 'all'));
  const idOf = (id: string) => (flag(p, 'no-trunc') ? id : id.slice(0, 12));
  if (flag(p, 'quiet')) {
    io.out(list.map((c) => `${idOf(c.record.id)}\n`).join(''));
    return 0;
  }
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const { record: r, state: s } of list) {
    const command = JSON.stringify(r.spec.args.join(' ').slice(0, 20));
    const status = s.status === 'running' ? `Up ${since(s.startedAt)}` : s.status === 'exited' ? `Exited (${s.exitCode ?? 0}) ${since(s.finishedAt)} ago` : 'Created';
    const ports = s.status === 'running' ? (s.ports ?? []).map(containers.formatPortMapping).join(', ') : '';
    rows.push([idOf(r.id), r.image, command, `${since(r.created)} ago`, status, ports, r.name]);
  }
  io.out(table(rows));
  return 0;
}

/** tsbuild logs [-f] [--tail N] [-t] CONTAINER */
export async function logsCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'follow', short: 'f' }, { long: 'tail', short: 'n', value: true }, { long: 'timestamps', short: 't' }]);
  usage(1, 'logs', 'logs [OPTIONS] CONTAINER', p.positionals);
  const tailText = opt(p, 'tail');
  const tail = tailText === undefined || tailText === 'all' ? undefined : int(tailText, '--tail');
  const stamps = flag(p, 'timestamps');
  await containers.containerLogs(io.root, p.positionals[0]!, {
    follow: flag(p, 'follow'),
    ...(tail !== undefined ? { tail } : {}),
    signal: io.signal,
    onRecord: (r) => (r.stream === 'stderr' ? process.stderr : process.stdout).write(stamps ? `${r.time} ${r.log}` : r.log),
  });
  return 0;
}

async function each(refs: string[], io: Io, fn: (ref: string) => Promise<string | void>): Promise<number> {
  let code = 0;
  for (const ref of refs) {
    try {
      const shown = await fn(ref);
      io.out(`${shown ?? ref}\n`);
    } catch (e) {
      if (!(e instanceof TsbuildError)) throw e;
      io.err((await import('./render.js')).renderError(e));
      code = 1;
    }
  }
  return code;
}

/** tsbuild stop [-t SECONDS] CONTAINER... */
export async function stopCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'time', short: 't', value: true }, { long: 'timeout', value: true }]);
  usage(1, 'stop', 'stop [-t SECONDS] CONTAINER...', p.positionals);
  const t = int(opt(p, 'time') ?? opt(p, 'timeout'), '--time');
  return each(p.positionals, io, (ref) => containers.stopContainer(io.root, ref, t));
}

/** tsbuild kill [-s SIGNAL] CONTAINER... */
export async function killCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'signal', short: 's', value: true }]);
  usage(1, 'kill', 'kill [-s SIGNAL] CONTAINER...', p.positionals);
  return each(p.positionals, io, async (ref) => containers.killContainer(io.root, ref, opt(p, 'signal') ?? 'SIGKILL'));
}

/** tsbuild rm [-f] CONTAINER... */
export async function rmCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'force', short: 'f' }, { long: 'volumes', short: 'v' }]);
  usage(1, 'rm', 'rm [-f] CONTAINER...', p.positionals);
  return each(p.positionals, io, async (ref) => {
    await containers.removeContainer(io.root, ref, flag(p, 'force'));
  });
}

/** tsbuild wait CONTAINER... (prints each exit code) */
export async function waitCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, []);
  usage(1, 'wait', 'wait CONTAINER...', p.positionals);
  return each(p.positionals, io, async (ref) => String((await containers.waitContainer(io.root, ref)) ?? -1));
}

/** tsbuild start CONTAINER... */
export async function startCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'attach', short: 'a' }, { long: 'interactive', short: 'i' }]);
  usage(1, 'start', 'start CONTAINER...', p.positionals);
  return each(p.positionals, io, async (ref) => {
    await containers.startContainer(io.root, ref);
  });
}

/** tsbuild restart [-t SECONDS] CONTAINER... */
export async function restartCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'time', short: 't', value: true }]);
  usage(1, 'restart', 'restart [-t SECONDS] CONTAINER...', p.positionals);
  const t = int(opt(p, 'time'), '--time');
  return each(p.positionals, io, async (ref) => {
    await containers.restartContainer(io.root, ref, t);
  });
}

/** tsbuild exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...] */
export async function execCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [
    { long: 'interactive', short: 'i' }, { long: 'tty', short: 't' }, { long: 'detach', short: 'd' },
    { long: 'env', short: 'e', value: true, multiple: true }, { long: 'user', short: 'u', value: true }, { long: 'workdir', short: 'w', value: true },
  ], { stopAtPositional: true });
  usage(2, 'exec', 'exec [OPTIONS] CONTAINER COMMAND [ARG...]', p.positionals);
  const [ref, ...cmd] = p.positionals;
  const o: containers.ExecOptions = { cmd, tty: flag(p, 'tty'), interactive: flag(p, 'interactive'), detach: flag(p, 'detach'), env: all(p, 'env') };
  const user = opt(p, 'user');
  if (user !== undefined) o.user = user;
  const wd = opt(p, 'workdir');
  if (wd !== undefined) o.workdir = wd;
  try {
    return await containers.execInContainer(io.root, ref!, o);
  } catch (e) {
    if (!(e instanceof CommandNotRunnableError)) throw e;
    io.err((await import('./render.js')).renderError(e));
    return e.exitStatus;
  }
}

/** tsbuild container inspect CONTAINER... | container ls|ps|rm|stop|... (the same commands under `container`) */
export async function containerCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const subs: Record<string, (a: string[], io: Io) => Promise<number>> = {
    ls: psCommand, ps: psCommand, list: psCommand, logs: logsCommand, stop: stopCommand, kill: killCommand, rm: rmCommand,
    wait: waitCommand, start: startCommand, restart: restartCommand, exec: execCommand, run: runCommand, inspect: inspectContainerCommand,
  };
  const fn = sub === undefined ? undefined : subs[sub];
  if (!fn) throw new TsbuildError('TSB_USAGE', `unknown container command "${sub ?? ''}"`, { hint: `one of: ${Object.keys(subs).join(', ')}` });
  return fn(rest, io);
}

/** tsbuild container inspect CONTAINER... */
export async function inspectContainerCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, []);
  usage(1, 'container inspect', 'container inspect CONTAINER...', p.positionals);
  io.out(`${JSON.stringify(p.positionals.map((ref) => containers.inspectContainer(io.root, ref)), null, 4)}\n`);
  return 0;
}
