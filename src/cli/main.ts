import { defaultRoot } from '../api/root.js';
import { TsbuildError } from '../util/index.js';
import type { Io } from './commands.js';

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
  run [OPTIONS] IMAGE [CMD...]  Run a command in a new container (--rm -i -t -e K=V --entrypoint -u -w --network)
  images [-q]                 List images
  tag SOURCE TARGET           Add a name to an image
  rmi IMAGE...                Remove image names
  inspect IMAGE...            Show image manifest and config as JSON
  history IMAGE               Show the layers and steps of an image
  import FILE|- NAME          Make a one-layer image from a root filesystem tar
  save -o FILE IMAGE...       Write images to a docker-archive tar
  load -i FILE                Load a docker-archive or OCI archive

Global options:
  --root DIR                  Store location (default $TSBUILD_ROOT or /var/lib/tsbuild)
  -h, --help                  Show this help
  --version                   Show the version
`;

type CommandName = 'build' | 'run' | 'images' | 'tag' | 'rmi' | 'inspect' | 'history' | 'import' | 'save' | 'load';
const COMMANDS = new Set<string>(['build', 'run', 'images', 'tag', 'rmi', 'inspect', 'history', 'import', 'save', 'load']);

/** Loads a command's code on demand, so `--help` and `--version` stay at node's start-up floor. */
async function command(name: CommandName): Promise<(argv: string[], io: Io) => Promise<number>> {
  const c = await import('./commands.js');
  return c[`${name}Command`];
}

/** Exit code for an error: 2 usage, 125 a container could not start, 130 cancelled, else 1. */
export function exitCodeFor(e: unknown): number {
  if (!(e instanceof TsbuildError)) return 1;
  if (e.code === 'TSB_USAGE') return 2;
  if (e.code === 'TSB_CONTAINER_START' || e.code === 'TSB_RUNTIME_UNAVAILABLE') return 125;
  if (e.code === 'TSB_CANCELLED') return 130;
  return 1;
}

/** Runs the CLI with argv (without node and script); resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let root = defaultRoot();
  const args = [...argv];
  while (args[0] === '--root' || args[0]?.startsWith('--root=')) {
    const a = args.shift()!;
    root = a.includes('=') ? a.slice(7) : args.shift() ?? '';
  }
  const first = args[0];
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(HELP);
    return first === undefined ? 2 : 0;
  }
  if (first === '--version') {
    process.stdout.write('tsbuild 0.1.0\n');
    return 0;
  }
  const known = COMMANDS.has(first);
  const rest = known ? args.slice(1) : args;
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 2) process.exit(130);
    process.stderr.write(`\n${sig}: stopping (cleaning up mounts and containers)...\n`);
    controller.abort();
  };
  if (first !== 'run') process.on('SIGINT', onSignal);
  else process.on('SIGINT', () => {});
  process.on('SIGTERM', onSignal);
  const io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), root, signal: controller.signal };
  try {
    if (!known && !(first.startsWith('-') || rest.length > 0 || first.includes('/') || first === '.')) {
      throw new TsbuildError('TSB_USAGE', `unknown command "${first}"`, { hint: 'run tsbuild --help' });
    }
    return await (await command(known ? (first as CommandName) : 'build'))(rest, io);
  } catch (e) {
    const { renderError } = await import('./render.js');
    process.stderr.write(renderError(e));
    return exitCodeFor(e);
  }
}
