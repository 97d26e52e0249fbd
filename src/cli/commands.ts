import * as api from '../api/index.js';
import { TsbuildError } from '../util/index.js';
import { all, flag, opt, parseArgs, type OptionSpec } from './args.js';
import { runBuild } from './build.js';
import { formatSize } from './render.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  root: string;
  signal: AbortSignal;
  /** stderr is a terminal (progress and colour follow it); its size. */
  errIsTTY?: boolean;
  columns?: number;
  rows?: number;
  env?: NodeJS.ProcessEnv;
  /** `--debug`: errors with their stack and cause chain. */
  debug?: boolean;
}

const BUILD_OPTIONS: OptionSpec[] = [
  { long: 'tag', short: 't', value: true, multiple: true },
  { long: 'file', short: 'f', value: true },
  { long: 'build-arg', value: true, multiple: true },
  { long: 'target', value: true },
  { long: 'no-cache' },
  { long: 'network', value: true },
  { long: 'output', short: 'o', value: true, multiple: true },
  { long: 'quiet', short: 'q' },
  { long: 'progress', value: true },
  { long: 'label', value: true, multiple: true },
  { long: 'secret', value: true, multiple: true },
  { long: 'ssh', value: true, multiple: true },
  { long: 'check' },
  { long: 'call', value: true },
  { long: 'iidfile', value: true },
  { long: 'metadata-file', value: true },
  { long: 'debug' },
  { long: 'pull' },
  { long: 'cache-to', value: true, multiple: true },
  { long: 'cache-from', value: true, multiple: true },
  { long: 'source-date-epoch', value: true },
  { long: 'explain-cache' },
];

function keyValues(items: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of items) {
    const eq = kv.indexOf('=');
    if (eq === 0) throw new TsbuildError('TSB_USAGE', `invalid ${what} "${kv}"`);
    if (eq < 0) {
      const v = process.env[kv];
      if (v !== undefined) out[kv] = v;
    } else out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function network(v: string | undefined): 'host' | 'none' {
  if (v === undefined || v === 'host' || v === 'default') return 'host';
  if (v === 'none') return 'none';
  throw new TsbuildError('TSB_USAGE', `unsupported --network "${v}"`, { hint: 'use host or none' });
}

function one(positionals: string[], usage: string, count = 1): string[] {
  if (positionals.length !== count) throw new TsbuildError('TSB_USAGE', `"${usage.split(' ')[0]}" requires exactly ${count} argument${count > 1 ? 's' : ''}`, { hint: `usage: tsbuild ${usage}` });
  return positionals;
}

/** tsbuild build [OPTIONS] CONTEXT */
export async function buildCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, BUILD_OPTIONS);
  const [context] = one(p.positionals, 'build [OPTIONS] PATH');
  const opts: api.BuildOptions = {
    root: io.root,
    contextDir: context!,
    tags: all(p, 'tag'),
    buildArgs: keyValues(all(p, 'build-arg'), 'build-arg'),
    noCache: flag(p, 'no-cache'),
    network: network(opt(p, 'network')),
    outputs: all(p, 'output').map(api.parseOutput),
    onEvent: () => {},
    signal: io.signal,
    labels: keyValues(all(p, 'label'), 'label'),
    secrets: new Map(all(p, 'secret').map(api.parseSecret)),
    ssh: new Map(all(p, 'ssh').map(api.parseSsh)),
    cacheTo: all(p, 'cache-to').map((v) => api.parseCacheSpec(v, 'to')),
    cacheFrom: all(p, 'cache-from').map((v) => api.parseCacheSpec(v, 'from')),
  };
  if (flag(p, 'pull')) opts.pull = 'always';
  if (flag(p, 'explain-cache')) opts.explainCache = true;
  const epoch = opt(p, 'source-date-epoch');
  if (epoch !== undefined) {
    if (!/^\d+$/.test(epoch)) throw new TsbuildError('TSB_USAGE', `--source-date-epoch wants seconds since 1970, not "${epoch}"`);
    opts.sourceDateEpoch = Number(epoch);
  }
  const file = opt(p, 'file');
  if (file !== undefined) opts.dockerfile = file;
  const target = opt(p, 'target');
  if (target !== undefined) opts.target = target;
  return runBuild(opts, {
    quiet: flag(p, 'quiet'),
    progress: opt(p, 'progress'),
    call: flag(p, 'check') ? 'check' : opt(p, 'call'),
    iidfile: opt(p, 'iidfile'),
    metadataFile: opt(p, 'metadata-file'),
    debug: flag(p, 'debug') || io.debug === true,
  }, io);
}


function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

function ago(iso: string | undefined): string {
  if (!iso) return 'N/A';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 60) return 'Less than a minute ago';
  if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

/** tsbuild images [-q] */
export async function imagesCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'quiet', short: 'q' }, { long: 'no-trunc' }]);
  const rows = await api.images(io.root);
  if (flag(p, 'quiet')) {
    io.out([...new Set(rows.map((r) => r.id))].map((id) => `${id}\n`).join(''));
    return 0;
  }
  const lines = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
  for (const r of rows) {
    const at = r.name.lastIndexOf(':');
    const slash = r.name.lastIndexOf('/');
    const [repo, tagName] = at > slash ? [r.name.slice(0, at), r.name.slice(at + 1)] : [r.name, '<none>'];
    lines.push([repo, tagName, r.id, ago(r.created), formatSize(r.size)]);
  }
  io.out(table(lines));
  return 0;
}

/** tsbuild tag SOURCE TARGET */
export async function tagCommand(argv: string[], io: Io): Promise<number> {
  const [src, dst] = one(parseArgs(argv, []).positionals, 'tag SOURCE_IMAGE TARGET_IMAGE', 2);
  await api.tag(io.root, src!, dst!);
  return 0;
}

/** tsbuild rmi IMAGE... */
export async function rmiCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'force', short: 'f' }]);
  if (p.positionals.length === 0) throw new TsbuildError('TSB_USAGE', '"rmi" requires at least 1 argument');
  for (const r of await api.rmi(io.root, p.positionals)) io.out(`Untagged: ${r}\n`);
  return 0;
}

/** tsbuild inspect IMAGE... */
export async function inspectCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, []);
  if (p.positionals.length === 0) throw new TsbuildError('TSB_USAGE', '"inspect" requires at least 1 argument');
  const out = [];
  for (const name of p.positionals) out.push(await api.inspect(io.root, name));
  io.out(`${JSON.stringify(out, null, 4)}\n`);
  return 0;
}

/** tsbuild history IMAGE */
export async function historyCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'no-trunc' }]);
  const [name] = one(p.positionals, 'history IMAGE');
  const rows = await api.history(io.root, name!);
  const trunc = (s: string) => (flag(p, 'no-trunc') || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
  io.out(table([['CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], ...rows.map((r) => [ago(r.created), trunc(r.createdBy), formatSize(r.size), r.comment])]));
  return 0;
}

/** tsbuild import FILE|- NAME */
export async function importCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'message', short: 'm', value: true }]);
  const [file, name] = one(p.positionals, 'import FILE|- REPOSITORY[:TAG]', 2);
  const message = opt(p, 'message');
  const img = await api.importRootfs(io.root, file!, name!, message === undefined ? { signal: io.signal } : { message, signal: io.signal });
  io.out(`${img.configDigest}\n`);
  return 0;
}

/** tsbuild save -o FILE IMAGE... */
export async function saveCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'output', short: 'o', value: true }]);
  const out = opt(p, 'output');
  if (!out) throw new TsbuildError('TSB_USAGE', 'save needs -o FILE', { hint: 'usage: tsbuild save -o FILE IMAGE...' });
  if (p.positionals.length === 0) throw new TsbuildError('TSB_USAGE', '"save" requires at least 1 argument');
  await api.save(io.root, p.positionals, out);
  return 0;
}

/** tsbuild load -i FILE */
export async function loadCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [{ long: 'input', short: 'i', value: true }, { long: 'quiet', short: 'q' }]);
  const input = opt(p, 'input');
  if (!input) throw new TsbuildError('TSB_USAGE', 'load needs -i FILE', { hint: 'usage: tsbuild load -i FILE' });
  for (const n of await api.load(io.root, input)) io.out(`Loaded image: ${n}\n`);
  return 0;
}

/** tsbuild completion bash|zsh */
export async function completionCommand(argv: string[], io: Io): Promise<number> {
  const { completionScript } = await import('./completion.js');
  io.out(completionScript(parseArgs(argv, []).positionals[0]));
  return 0;
}
