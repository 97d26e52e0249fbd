import { defaultRoot } from '../api/root.js';
import { TsbuildError } from '../util/index.js';
import type { Io } from './commands.js';
import { exitCodeFor } from './exit.js';

export { exitCodeFor };

const HELP = `Usage: tsbuild [--root DIR] COMMAND [OPTIONS]

A daemonless container image builder.

Commands:
  build [OPTIONS] PATH        Build an image from a Dockerfile (also: tsbuild [OPTIONS] PATH)
      -t, --tag NAME            Name the image (repeatable)
      -f, --file FILE           Dockerfile (default PATH/Dockerfile)
      --build-arg K=V           Set a build-time variable (repeatable)
      --target STAGE            Build up to this stage
      --no-cache                Do not use the step cache
      --network host|none       Network for RUN steps (default host)
      -o, --output type=oci|docker|local|tar,dest=PATH
      -q, --quiet               Print only the image ID
      --label K=V               Add a label to the image (repeatable)
      --secret id=ID,src=PATH|env=VAR   Expose a secret to RUN --mount=type=secret
      --ssh default|ID[=SOCKET|KEY]     Expose an ssh agent or keys to RUN --mount=type=ssh
      --progress auto|tty|plain|json|quiet   Progress output (default auto; $TSBUILD_PROGRESS)
      --check                   Run the Dockerfile build checks only
      --call outline|targets|check      Describe the Dockerfile instead of building
      --iidfile FILE, --metadata-file FILE  Write the image ID / build result JSON
      --pull                    Always pull base images (default: when missing)
      --cache-to / --cache-from type=local,dest=|src=DIR   Export / import the step cache
      --source-date-epoch S     Reproducible output (default $SOURCE_DATE_EPOCH)
  run [OPTIONS] IMAGE [CMD...]  Run a command in a new container (-d --name --rm -i -t -e -v -p --network ...)
  ps [-a] / logs [-f] NAME    List containers / show a container's output
  stop / kill / rm [-f] NAME  Stop, signal or remove containers
  start / restart / wait NAME Start a stopped container again / wait for its exit code
  exec [-it] NAME CMD...      Run a command in a running container
  container inspect NAME      Show a container's state as JSON
  images [-q]                 List images
  tag SOURCE TARGET           Add a name to an image
  rmi IMAGE...                Remove image names
  inspect IMAGE...            Show image manifest and config as JSON
  history IMAGE               Show the layers and steps of an image
  import FILE|- NAME          Make a one-layer image from a root filesystem tar
  save -o FILE IMAGE...       Write images to a docker-archive tar
  load -i FILE                Load a docker-archive or OCI archive
  pull NAME / push NAME...    Pull from / push to a registry
  login [REGISTRY] / logout   Store or forget registry credentials (~/.docker/config.json)
  du                          Show disk usage: images, build cache, snapshots
  prune [--all]               Remove build cache and unreferenced blobs and snapshots
  completion bash|zsh         Print a shell completion script
  help [COMMAND]              Show help for a command (also: tsbuild COMMAND --help)

Global options:
  --root DIR                  Store location (default $TSBUILD_ROOT or /var/lib/tsbuild)
  --debug                     Show stack traces and error causes
  -h, --help                  Show this help
  --version                   Show the version
`;

type Command = (argv: string[], io: Io) => Promise<number>;
type Module = Record<string, unknown>;
const core = () => import('./commands.js') as Promise<Module>;
const registry = () => import('./registry-commands.js') as Promise<Module>;
const housekeeping = () => import('./housekeeping-commands.js') as Promise<Module>;
const containers = () => import('./container-commands.js') as Promise<Module>;

/** Each command and the module that holds it, loaded on demand so `--help` and `--version` stay at node's floor. */
const LOADERS: Record<string, () => Promise<Module>> = {
  build: core, images: core, tag: core, rmi: core, inspect: core, history: core, import: core, save: core, load: core, completion: core,
  pull: registry, push: registry, login: registry, logout: registry,
  du: housekeeping, prune: housekeeping,
  run: containers, ps: containers, logs: containers, stop: containers, kill: containers, rm: containers,
  exec: containers, wait: containers, start: containers, restart: containers, container: containers,
};

/** Commands whose arguments after the first positional belong to the container (not to tsbuild). */
const PASSTHROUGH = new Set(['run', 'exec']);
type CommandName = keyof typeof LOADERS;
const COMMANDS = new Set<string>(Object.keys(LOADERS));

async function command(name: CommandName): Promise<Command> {
  const m = await LOADERS[name]!();
  return m[`${name}Command`] as Command;
}

/** `-h`/`--help` among a command's own options (for run: only before the image, the rest is the container's). */
function wantsHelp(name: string, rest: string[]): boolean {
  for (const a of rest) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
    if (PASSTHROUGH.has(name) && !a.startsWith('-')) return false;
  }
  return false;
}

async function printHelp(name: string | undefined): Promise<number> {
  if (name === undefined) {
    process.stdout.write(HELP);
    return 0;
  }
  const { commandHelp } = await import('./help.js');
  const text = commandHelp(name);
  if (text === undefined) throw new TsbuildError('TSB_USAGE', `unknown help topic "${name}"`, { hint: 'run tsbuild --help' });
  process.stdout.write(text);
  return 0;
}

/** Runs the CLI with argv (without node and script); resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let root = defaultRoot();
  const args = [...argv];
  let debug = process.env.TSBUILD_DEBUG === '1' || process.env.TSBUILD_DEBUG === 'true';
  while (args[0] === '--root' || args[0]?.startsWith('--root=') || args[0] === '--debug') {
    const a = args.shift()!;
    if (a === '--debug') debug = true;
    else root = a.includes('=') ? a.slice(7) : args.shift() ?? '';
  }
  const first = args[0];
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    if (first === undefined) process.stdout.write(HELP);
    else {
      try {
        return await printHelp(first === 'help' ? args[1] : undefined);
      } catch (e) {
        const { renderError } = await import('./render.js');
        process.stderr.write(renderError(e));
        return exitCodeFor(e);
      }
    }
    return first === undefined ? 2 : 0;
  }
  if (first === '--version') {
    process.stdout.write('tsbuild 0.1.0\n');
    return 0;
  }
  const known = COMMANDS.has(first);
  const rest = known ? args.slice(1) : args;
  if (wantsHelp(known ? first : 'build', rest)) return printHelp(known ? first : 'build');
  if (!PASSTHROUGH.has(first) && rest.includes('--debug') && rest.indexOf('--debug') < (rest.indexOf('--') + 1 || Infinity)) debug = true;
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 2) process.exit(130);
    process.stderr.write(`\n${sig}: stopping (cleaning up mounts and containers)...\n`);
    controller.abort();
  };
  if (!PASSTHROUGH.has(first)) process.on('SIGINT', onSignal);
  else process.on('SIGINT', () => {});
  process.on('SIGTERM', onSignal);
  const io: Io = {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    root,
    signal: controller.signal,
    // getters: touching process.stderr builds its stream (a tty.WriteStream: ~10 ms of net and stream
    // modules), which a quiet build or a `run` never needs
    get errIsTTY() {
      return process.stderr.isTTY === true;
    },
    get columns() {
      return process.stderr.columns;
    },
    get rows() {
      return process.stderr.rows;
    },
    env: process.env,
    debug,
  };
  try {
    if (!known && !(first.startsWith('-') || rest.length > 0 || first.includes('/') || first === '.')) {
      throw new TsbuildError('TSB_USAGE', `unknown command "${first}"`, { hint: 'run tsbuild --help' });
    }
    return await (await command(known ? (first as CommandName) : 'build'))(rest, io);
  } catch (e) {
    const { renderError } = await import('./render.js');
    const { colorFor } = await import('./color.js');
    process.stderr.write(renderError(e, { debug, color: colorFor(process.stderr.isTTY === true) }));
    return exitCodeFor(e);
  }
}
