/** Per-command help: usage, options and examples; shell completion reads the flags from here too. */
export interface CommandHelp {
  usage: string;
  summary: string;
  /** [flags as shown, description]; the first `--long` in the flags is what completion offers. */
  options: Array<[string, string]>;
  examples: string[];
  /** Values completion offers for an option's argument. */
  values?: Record<string, string[]>;
}

export const COMMAND_HELP: Record<string, CommandHelp> = {
  build: {
    usage: 'tsbuild build [OPTIONS] PATH',
    summary: 'Build an image from a Dockerfile (also: tsbuild [OPTIONS] PATH)',
    options: [
      ['-t, --tag NAME', 'Name the image (repeatable)'],
      ['-f, --file FILE', 'Dockerfile (default PATH/Dockerfile; - reads stdin)'],
      ['--build-arg K=V', 'Set a build-time variable (repeatable)'],
      ['--target STAGE', 'Build up to this stage'],
      ['--no-cache', 'Do not use the step cache'],
      ['--network host|none', 'Network for RUN steps (default host)'],
      ['-o, --output type=oci|docker|local|tar,dest=PATH', 'Also write the image there'],
      ['--progress auto|tty|plain|json|quiet', 'Progress output (default auto, or $TSBUILD_PROGRESS): tty redraws live, plain logs everything, json is one event per line'],
      ['-q, --quiet', 'Print only the image ID'],
      ['--check', 'Run the Dockerfile build checks (lint) and do not build'],
      ['--call build|check|outline|targets', 'What to do: build (default), check, outline (stages and their ARGs) or targets; add ,format=json for JSON'],
      ['--label K=V', 'Add a label to the image (repeatable)'],
      ['--secret id=ID,src=PATH|env=VAR', 'Expose a secret to RUN --mount=type=secret'],
      ['--ssh default|ID[=SOCKET|KEY]', 'Expose an ssh agent or keys to RUN --mount=type=ssh'],
      ['--iidfile FILE', 'Write the image ID to FILE'],
      ['--metadata-file FILE', "Write the build result as JSON to FILE (buildx's keys)"],
      ['--debug', 'Show stack traces and error causes'],
      ['--pull', 'Always pull base images (default: only when missing from the store)'],
      ['--cache-to type=local,dest=DIR[,mode=min|max]', 'Export the step cache (mode=max: every stage)'],
      ['--cache-from type=local,src=DIR', 'Import a step cache before building'],
      ['--source-date-epoch SECONDS', 'Reproducible output: clamp times (default $SOURCE_DATE_EPOCH)'],
      ['--explain-cache', 'After the build, say for every step CACHED or MISS and why (what changed since the last build of this Dockerfile and target)'],
    ],
    values: { progress: ['auto', 'tty', 'plain', 'json', 'quiet'], call: ['build', 'check', 'outline', 'targets'], network: ['host', 'none'] },
    examples: [
      'tsbuild build -t app:1 .',
      'tsbuild build -f Dockerfile.prod --build-arg VERSION=2 --target runtime -t app:2 .',
      'tsbuild build --progress plain . 2> build.log',
      'tsbuild build --progress json . 2> events.jsonl',
      'tsbuild build --check .',
      'tsbuild build --explain-cache --build-arg VERSION=3 .',
      'tsbuild build --call outline .',
      'tsbuild build -q --iidfile id.txt --metadata-file meta.json .',
    ],
  },
  run: {
    usage: 'tsbuild run [OPTIONS] IMAGE [COMMAND] [ARG...]',
    summary: "Run a command in a new container; in the foreground the container's exit code is tsbuild's",
    options: [
      ['-d, --detach', 'Run in the background under a supervisor; print the container id'],
      ['--name NAME', 'Name the container'],
      ['--rm', 'Remove the container when it exits'],
      ['-i, --interactive', 'Keep stdin open'],
      ['-t, --tty', 'Allocate a pseudo-terminal'],
      ['-e, --env K=V', 'Set an environment variable (repeatable)'],
      ['--env-file FILE', 'Read environment variables from a file'],
      ['--entrypoint CMD', "Override the image's entrypoint"],
      ['-u, --user USER[:GROUP]', 'Run as this user'],
      ['-w, --workdir DIR', 'Working directory inside the container'],
      ['-v, --volume HOST:CTR[:ro]', 'Bind-mount a host path'],
      ['--mount type=bind|tmpfs,...', 'Mount a host path or a tmpfs'],
      ['--tmpfs PATH[:OPTS]', 'Mount a tmpfs'],
      ['--read-only', 'Mount the root filesystem read-only'],
      ['-p, --publish [IP:]HOST:CTR[/PROTO]', 'Publish a port (private network)'],
      ['-P, --publish-all', 'Publish every exposed port on a random host port'],
      ['--network host|none|private', 'Network (default host; -p implies private)'],
      ['-h, --hostname NAME', 'Container host name'],
      ['-m, --memory SIZE', 'Memory limit'],
      ['--cpus N', 'CPU limit'],
      ['--pids-limit N', 'Process limit'],
      ['--cap-add CAP, --cap-drop CAP', 'Add or drop capabilities'],
      ['--init', 'Run an init (tini) as PID 1'],
      ['--stop-signal SIG, --stop-timeout S', 'How stop ends the container'],
    ],
    values: { network: ['host', 'none', 'private'] },
    examples: ['tsbuild run --rm -it app:1 sh', 'tsbuild run -d --name web -p 127.0.0.1:8080:80 app:1', 'tsbuild run --rm --memory 64m --pids-limit 50 app:1 ./test.sh'],
  },
  ps: { usage: 'tsbuild ps [OPTIONS]', summary: 'List containers', options: [['-a, --all', 'Also stopped containers'], ['-q, --quiet', 'Only ids']], examples: ['tsbuild ps -a'] },
  logs: { usage: 'tsbuild logs [OPTIONS] CONTAINER', summary: "Show a container's output", options: [['-f, --follow', 'Keep following'], ['--tail N', 'Only the last N lines'], ['-t, --timestamps', 'Show timestamps']], examples: ['tsbuild logs -f --tail 20 web'] },
  stop: { usage: 'tsbuild stop [OPTIONS] CONTAINER...', summary: 'Stop containers (stop signal, then KILL after the timeout)', options: [['-t, --time S', 'Seconds to wait before KILL']], examples: ['tsbuild stop web'] },
  kill: { usage: 'tsbuild kill [OPTIONS] CONTAINER...', summary: 'Send a signal to containers', options: [['-s, --signal SIG', 'Signal (default KILL)']], examples: ['tsbuild kill -s HUP web'] },
  rm: { usage: 'tsbuild rm [OPTIONS] CONTAINER...', summary: 'Remove containers', options: [['-f, --force', 'Kill running containers first']], examples: ['tsbuild rm -f web'] },
  start: { usage: 'tsbuild start CONTAINER...', summary: 'Start stopped containers again (their files are kept)', options: [], examples: ['tsbuild start web'] },
  restart: { usage: 'tsbuild restart CONTAINER...', summary: 'Stop and start containers', options: [], examples: ['tsbuild restart web'] },
  wait: { usage: 'tsbuild wait CONTAINER...', summary: 'Wait for containers to exit and print their exit codes', options: [], examples: ['tsbuild wait web'] },
  exec: { usage: 'tsbuild exec [OPTIONS] CONTAINER COMMAND [ARG...]', summary: 'Run a command in a running container', options: [['-i, --interactive', 'Keep stdin open'], ['-t, --tty', 'Allocate a pseudo-terminal'], ['-e, --env K=V', 'Set an environment variable'], ['-u, --user USER', 'Run as this user'], ['-w, --workdir DIR', 'Working directory']], examples: ['tsbuild exec -it web sh'] },
  container: { usage: 'tsbuild container inspect|ls|rm|... ARGS', summary: 'Container commands (container inspect NAME shows the state as JSON)', options: [], examples: ['tsbuild container inspect web'] },
  images: { usage: 'tsbuild images [OPTIONS]', summary: 'List images', options: [['-q, --quiet', 'Only image IDs'], ['--no-trunc', 'Do not truncate output']], examples: ['tsbuild images', 'tsbuild images -q'] },
  tag: { usage: 'tsbuild tag SOURCE_IMAGE TARGET_IMAGE', summary: 'Add a name to an image', options: [], examples: ['tsbuild tag app:1 app:latest'] },
  rmi: { usage: 'tsbuild rmi [OPTIONS] IMAGE...', summary: 'Remove image names', options: [['-f, --force', 'Accepted for docker compatibility']], examples: ['tsbuild rmi app:1 app:2'] },
  inspect: { usage: 'tsbuild inspect IMAGE...', summary: 'Show image manifest and config as JSON', options: [], examples: ['tsbuild inspect app:1'] },
  history: { usage: 'tsbuild history [OPTIONS] IMAGE', summary: 'Show the layers and steps of an image', options: [['--no-trunc', 'Do not truncate output']], examples: ['tsbuild history --no-trunc app:1'] },
  import: {
    usage: 'tsbuild import [OPTIONS] FILE|- REPOSITORY[:TAG]',
    summary: 'Make a one-layer image from a root filesystem tar (like docker import)',
    options: [['-m, --message TEXT', 'Commit message for the history']],
    examples: ['tsbuild import rootfs.tar busybox:latest', 'cat rootfs.tar | tsbuild import - base:1'],
  },
  save: { usage: 'tsbuild save -o FILE IMAGE...', summary: 'Write images to a docker-archive tar', options: [['-o, --output FILE', 'The archive to write']], examples: ['tsbuild save -o app.tar app:1'] },
  load: { usage: 'tsbuild load -i FILE', summary: 'Load a docker-archive or OCI archive', options: [['-i, --input FILE', 'The archive to read'], ['-q, --quiet', 'Print less']], examples: ['tsbuild load -i app.tar'] },
  completion: {
    usage: 'tsbuild completion bash|zsh',
    summary: 'Print a shell completion script',
    options: [],
    examples: ['source <(tsbuild completion bash)', 'tsbuild completion zsh > "${fpath[1]}/_tsbuild"'],
  },
  pull: {
    usage: 'tsbuild pull [OPTIONS] NAME[:TAG|@DIGEST]',
    summary: 'Pull an image from a registry into the store',
    options: [['--platform OS/ARCH[/VARIANT]', 'Platform to pull from an index (default: this host)'], ['--insecure-registry HOST', 'Use plain HTTP for HOST'], ['-q, --quiet', 'Print only the digest'], ['--no-unpack', 'Only download into the store; layers are unpacked on first use']],
    examples: ['tsbuild pull busybox:latest', 'tsbuild pull --platform linux/arm64 127.0.0.1:5000/team/app:1'],
  },
  push: {
    usage: 'tsbuild push [OPTIONS] NAME[:TAG]...',
    summary: 'Push images to their registries',
    options: [['--insecure-registry HOST', 'Use plain HTTP for HOST'], ['-q, --quiet', 'Print only the digests']],
    examples: ['tsbuild push registry.example.com/team/app:1', 'tsbuild push 127.0.0.1:5000/app:1 127.0.0.1:5000/app:latest'],
  },
  login: {
    usage: 'tsbuild login [OPTIONS] [REGISTRY]',
    summary: 'Log in to a registry (writes ~/.docker/config.json or a credential helper)',
    options: [['-u, --username USER', 'User name'], ['-p, --password PASS', 'Password (prefer --password-stdin)'], ['--password-stdin', 'Read the password from stdin']],
    examples: ['echo "$TOKEN" | tsbuild login -u me --password-stdin registry.example.com'],
  },
  logout: { usage: 'tsbuild logout [REGISTRY]', summary: 'Forget the credentials for a registry', options: [], examples: ['tsbuild logout registry.example.com'] },
  du: { usage: 'tsbuild du', summary: 'Show what the store holds: images, build cache, snapshots, and what prune would free', options: [], examples: ['tsbuild du'] },
  prune: {
    usage: 'tsbuild prune [OPTIONS]',
    summary: 'Remove build cache and everything no image or cache entry uses (safe while builds run)',
    options: [['-a, --all', 'Remove all build cache, not only steps no image uses'], ['--keep-storage SIZE', 'Keep at most SIZE of build cache (least recently used removed first)'], ['--filter until=DURATION', 'Only cache unused for longer than DURATION (e.g. 24h)'], ['-f, --force', 'Do not prompt (there is no prompt)']],
    examples: ['tsbuild prune', 'tsbuild prune --all', 'tsbuild prune --keep-storage 10GB --filter until=72h'],
  },
  help: { usage: 'tsbuild help [COMMAND]', summary: 'Show help for tsbuild or a command', options: [], examples: ['tsbuild help build'] },
};

/** `tsbuild COMMAND --help` / `tsbuild help COMMAND`. */
export function commandHelp(name: string): string | undefined {
  const h = Object.hasOwn(COMMAND_HELP, name) ? COMMAND_HELP[name] : undefined;
  if (!h) return undefined;
  const width = Math.min(36, Math.max(0, ...h.options.map(([f]) => f.length)) + 2);
  const opts = h.options.map(([f, d]) => (f.length + 2 > width ? `  ${f}\n  ${' '.repeat(width)}${d}` : `  ${f.padEnd(width)}${d}`));
  return [
    `Usage: ${h.usage}`,
    '',
    h.summary,
    ...(opts.length ? ['', 'Options:', ...opts] : []),
    '',
    'Examples:',
    ...h.examples.map((e) => `  ${e}`),
    '',
    'Global options (before COMMAND): --root DIR (default $TSBUILD_ROOT or /var/lib/tsbuild), --debug',
    '',
  ].join('\n');
}

/** The long flags of a command, for completion. */
export function longFlags(name: string): string[] {
  return (COMMAND_HELP[name]?.options ?? []).flatMap(([f]) => f.match(/--[a-z-]+/g) ?? []);
}
