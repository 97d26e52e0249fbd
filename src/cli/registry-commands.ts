import * as fs from 'node:fs';
import * as api from '../api/registry.js';
import { TsbuildError } from '../util/index.js';
import { all, flag, opt, parseArgs, type OptionSpec } from './args.js';
import type { Io } from './commands.js';
import { formatSize } from './render.js';

const TRANSPORT: OptionSpec[] = [{ long: 'insecure-registry', value: true, multiple: true }];

function transport(p: ReturnType<typeof parseArgs>, io: Io) {
  return { insecureRegistries: all(p, 'insecure-registry'), signal: io.signal };
}

/** One stderr line per blob state change (waiting lines and byte counts are left to a richer renderer). */
function progress(io: Io, quiet: boolean): api.RegistryCallOptions['onProgress'] {
  if (quiet) return undefined;
  const words: Record<string, string> = { exists: 'Already exists', mounted: 'Mounted from another repository', resumed: 'Resuming', done: 'Complete' };
  return (e) => {
    const word = words[e.status];
    if (word) io.err(`${e.digest.slice(7, 19)}: ${word}${e.status === 'resumed' ? ` at ${formatSize(e.current)}` : e.status === 'done' ? ` (${formatSize(e.total)})` : ''}\n`);
  };
}

/** tsbuild pull [--platform OS/ARCH[/VARIANT]] [--insecure-registry HOST] [-q] NAME[:TAG|@DIGEST] */
export async function pullCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [...TRANSPORT, { long: 'platform', value: true }, { long: 'quiet', short: 'q' }, { long: 'no-unpack' }]);
  if (p.positionals.length !== 1) throw new TsbuildError('TSB_USAGE', '"pull" requires exactly 1 argument', { hint: 'usage: tsbuild pull [OPTIONS] NAME[:TAG|@DIGEST]' });
  const name = p.positionals[0]!;
  const quiet = flag(p, 'quiet');
  const platform = opt(p, 'platform');
  if (!quiet) io.err(`Pulling ${name}\n`);
  // --no-unpack: blobs into the store only (as `skopeo copy` to a layout); layers unpack on first use
  const unpack = !flag(p, 'no-unpack');
  const img = await api.pullImage(io.root, name, { ...transport(p, io), onProgress: progress(io, quiet), unpack, ...(platform ? { platform } : {}) });
  if (!quiet) io.err(`Digest: ${img.digest}\n`);
  io.out(`${quiet ? img.digest : `Pulled ${name}`}\n`);
  return 0;
}

/** tsbuild push [--insecure-registry HOST] [-q] NAME[:TAG] [NAME[:TAG]...]: blobs once per repository, then each manifest. */
export async function pushCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [...TRANSPORT, { long: 'quiet', short: 'q' }]);
  if (p.positionals.length === 0) throw new TsbuildError('TSB_USAGE', '"push" requires at least 1 argument', { hint: 'usage: tsbuild push [OPTIONS] NAME[:TAG]...' });
  const quiet = flag(p, 'quiet');
  const results = await api.pushImages(io.root, p.positionals, { ...transport(p, io), onProgress: progress(io, quiet) });
  for (const r of results) io.out(quiet ? `${r.digest}\n` : `${r.name}: digest: ${r.digest} size: ${r.size}\n`);
  return 0;
}

function readStdin(): string {
  return fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
}

/** tsbuild login [-u USER] [-p PASS | --password-stdin] [REGISTRY] (default Docker Hub); saves to ~/.docker/config.json or its helper. */
export async function loginCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [...TRANSPORT, { long: 'username', short: 'u', value: true }, { long: 'password', short: 'p', value: true }, { long: 'password-stdin' }]);
  if (p.positionals.length > 1) throw new TsbuildError('TSB_USAGE', '"login" accepts at most 1 argument', { hint: 'usage: tsbuild login [-u USER] [--password-stdin] [REGISTRY]' });
  const username = opt(p, 'username');
  let password = opt(p, 'password');
  if (flag(p, 'password-stdin')) {
    if (password !== undefined) throw new TsbuildError('TSB_USAGE', '--password and --password-stdin are mutually exclusive');
    password = readStdin();
  } else if (password !== undefined) io.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (!username || !password) throw new TsbuildError('TSB_USAGE', 'login needs a username and a password', { hint: 'use -u USER --password-stdin (password on stdin)' });
  const registry = api.registryName(p.positionals[0]);
  await api.login(registry, { username, password }, transport(p, io));
  io.out('Login Succeeded\n');
  return 0;
}

/** tsbuild logout [REGISTRY]: removes saved credentials (from the helper too). */
export async function logoutCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, []);
  if (p.positionals.length > 1) throw new TsbuildError('TSB_USAGE', '"logout" accepts at most 1 argument', { hint: 'usage: tsbuild logout [REGISTRY]' });
  const registry = api.registryName(p.positionals[0]);
  const removed = await api.logout(registry);
  io.out(removed ? `Removing login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
  return 0;
}
