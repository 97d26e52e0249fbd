import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCache } from '../cache/index.js';
import { NO_IGNORE, ignoreFileFor, parseDockerignore, type SourceRoot } from '../context/index.js';
import { parseDockerfile } from '../dockerfile/index.js';
import { planBuild } from '../graph/index.js';
import { writeImage, type StoredImage } from '../image/index.js';
import { handlers, type ExecContext, type SecretSource } from '../ops/index.js';
import { solve, type BuildEvent, type StepTrace } from '../solver/index.js';
import { TsbuildError, isErrno, readFileIfExists } from '../util/index.js';
import { digestHex } from '../oci/index.js';
import { baseImage, openWorkspace, type PullPolicy } from './env.js';
import { writeOutput, type OutputSpec } from './output.js';
import { exportCacheLocal, importCacheLocal, type CacheSpec } from './cache-io.js';
import { maybeCollect } from './gc.js';
import { lintDockerfile } from './lint.js';
import { recordAndExplain, type StepExplanation } from './explain.js';

export interface BuildOptions {
  root: string;
  contextDir: string;
  /** Dockerfile path; default `<context>/Dockerfile`. */
  dockerfile?: string;
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  network: 'host' | 'none';
  outputs: OutputSpec[];
  onEvent: (e: BuildEvent) => void;
  signal: AbortSignal;
  /** gzip level of the layers the build stores; 0 (default) stores plain tars, compressed when pushed. */
  gzipLevel?: number;
  /** `--label k=v`: labels added to the image config. */
  labels?: Record<string, string>;
  /** `--secret`: id -> source. */
  secrets?: Map<string, SecretSource>;
  /** `--ssh`: id -> agent sockets or keys. */
  ssh?: Map<string, string[]>;
  /** Reproducible output: clamp times to this epoch (seconds); default $SOURCE_DATE_EPOCH. */
  sourceDateEpoch?: number;
  /** `--pull` (always) or the default (pull a missing base image); 'never' works offline. */
  pull?: PullPolicy;
  /** `--cache-from`: caches to read before the build. */
  cacheFrom?: CacheSpec[];
  /** `--cache-to`: where to write this build's step cache afterwards. */
  cacheTo?: CacheSpec[];
  /** Plain-HTTP registries for --cache-to/--cache-from type=registry (loopback hosts always are). */
  insecureRegistries?: string[];
  /** Automatic GC after the build: false turns it off ($TSBUILD_GC_KEEP sets the cap, "off" disables too). */
  gc?: boolean;
  /** `--explain-cache`: explain every step's hit or miss against the last build of this Dockerfile and target. */
  explainCache?: boolean;
}

/** The SOURCE_DATE_EPOCH in effect: the option, else the environment variable (docker's convention). */
export function sourceDateEpoch(option: number | undefined): number | undefined {
  if (option !== undefined) return option;
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env === undefined || env === '') return undefined;
  if (!/^\d+$/.test(env)) throw new TsbuildError('TSB_USAGE', `SOURCE_DATE_EPOCH="${env}" is not a number of seconds`);
  return Number(env);
}

export interface BuildResult {
  image: StoredImage;
  /** Docker's IMAGE ID: the config digest. */
  id: string;
  tags: string[];
  /** With `explainCache`: each step's cache decision and, for a miss, why (also emitted as `cache.explain` events). */
  explanations?: StepExplanation[];
}

function readDockerfile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR')) {
      throw new TsbuildError('TSB_DOCKERFILE_NOT_FOUND', `failed to read Dockerfile: ${file}: no such file`, { hint: 'pass -f PATH, or put a Dockerfile in the context directory' });
    }
    throw e;
  }
}

function contextRoot(dir: string, dockerfile: string | undefined): SourceRoot {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new TsbuildError('TSB_CONTEXT_NOT_FOUND', `build context "${dir}" does not exist`);
    throw e;
  }
  if (!st.isDirectory()) throw new TsbuildError('TSB_CONTEXT_NOT_FOUND', `build context "${dir}" is not a directory`);
  const ignoreFile = dockerfile === undefined ? path.join(dir, '.dockerignore') : ignoreFileFor(dir, dockerfile);
  const ignore = ignoreFile === undefined ? undefined : readFileIfExists(ignoreFile);
  return { dir: path.resolve(dir), ignore: ignore ? parseDockerignore(ignore.toString('utf8')) : NO_IGNORE, label: 'build context', keepOwner: false };
}

/** Builds a Dockerfile into the store: parse, plan, solve with the step cache, write the image, tag, export. */
export async function build(o: BuildOptions): Promise<BuildResult> {
  const fromStdin = o.dockerfile === '-';
  const dfPath = fromStdin ? '<stdin>' : path.resolve(o.dockerfile ?? path.join(o.contextDir, 'Dockerfile'));
  const context = contextRoot(o.contextDir, fromStdin ? undefined : dfPath);
  const text = fromStdin ? fs.readFileSync(0, 'utf8') : readDockerfile(dfPath);
  try {
    return await buildParsed(o, context, text, dfPath);
  } catch (e) {
    if (fromStdin && e instanceof TsbuildError && e.location?.file === dfPath) e.sourceLines = text.split(/\r?\n/);
    throw e;
  }
}

async function buildParsed(o: BuildOptions, context: SourceRoot, text: string, dfPath: string): Promise<BuildResult> {
  const dockerfile = parseDockerfile(text, dfPath);
  for (const w of lintDockerfile(dockerfile)) {
    o.onEvent({ type: 'warning', message: w.message, rule: w.rule, description: w.description, location: w.location });
  }
  const ws = openWorkspace(o.root);
  try {
    const graph = await planBuild({
      dockerfile,
      buildArgs: o.buildArgs,
      target: o.target,
      network: o.network,
      resolveImage: (name, loc) =>
        baseImage(ws.store, name, loc, {
          pull: o.pull ?? 'missing',
          signal: o.signal,
          onProgress: (p) => o.onEvent({ type: 'pull.progress', ref: p.ref, digest: p.digest, current: p.current, total: p.total, done: p.status === 'done' || p.status === 'exists', exists: p.status === 'exists' }),
        }),
    });
    if (graph.unusedBuildArgs.length > 0) {
      o.onEvent({ type: 'warning', message: `One or more build-args [${graph.unusedBuildArgs.join(' ')}] were not consumed` });
    }
    const cache = openCache(ws.root);
    for (const spec of o.cacheFrom ?? []) {
      if (spec.type === 'registry') {
        // The registry client (undici) loads only when a registry cache is used.
        const { importCacheRegistry } = await import('./cache-registry.js');
        await importCacheRegistry(ws.store, cache, spec.location, {
          signal: o.signal,
          insecureRegistries: o.insecureRegistries ?? [],
          onProgress: (p) => o.onEvent({ type: 'pull.progress', ref: spec.location, digest: p.digest, current: p.current, total: p.total, done: p.status === 'done' || p.status === 'exists', exists: p.status === 'exists' }),
        });
      } else await importCacheLocal(ws.store, cache, spec.location, o.signal);
    }
    const epoch = sourceDateEpoch(o.sourceDateEpoch);
    const traces: StepTrace[] = [];
    const result = await solve<ExecContext>({
      trace: (t) => traces.push(t),
      ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
      graph,
      handlers,
      cache,
      noCache: o.noCache,
      layerAvailable: (l) => ws.store.hasBlob(l.descriptor.digest),
      signal: o.signal,
      emit: o.onEvent,
      retain: (l) => ws.session.retain([l.diffId, l.descriptor.digest]),
      lockStep: (key, fn) => ws.store.withLock(`step-${digestHex(key)}`, fn, { timeoutMs: 24 * 3600_000, signal: o.signal }),
      contextFor: (step, links) => ({
        store: ws.store,
        snapshots: ws.snapshots,
        session: ws.session,
        context,
        stageLayers: links.stageLayers,
        stageKey: links.stageKey,
        onOutput: (stream, chunk) => o.onEvent({ type: 'step.log', step, stream, chunk }),
        signal: o.signal,
        gzipLevel: o.gzipLevel ?? 0,
        secrets: o.secrets ?? new Map(),
        ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
        ssh: o.ssh ?? new Map(),
      }),
    });
    const explanations = recordAndExplain({
      root: ws.root,
      dockerfile: dfPath === '<stdin>' ? `<stdin>:${context.dir}` : dfPath,
      target: o.target,
      graph,
      traces,
      context,
      ...(epoch === undefined ? {} : { epoch }),
      noCache: o.noCache,
      explain: o.explainCache === true,
    });
    for (const x of explanations ?? []) o.onEvent({ type: 'cache.explain', step: x.step, label: x.label, cached: x.cached, reasons: x.reasons });
    if (o.labels && Object.keys(o.labels).length > 0) {
      result.config.config.Labels = { ...(result.config.config.Labels ?? {}), ...o.labels };
    }
    const image = await writeImage(ws.store, result.config, result.layers.map((l) => l.descriptor));
    for (const t of o.tags) await ws.store.setRef(t, { mediaType: image.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: image.digest, size: image.manifestBytes.length });
    for (const out of o.outputs) await writeOutput(ws.store, image, o.tags, out, o.signal);
    for (const spec of o.cacheTo ?? []) {
      const steps = spec.mode === 'max' ? result.allSteps : result.steps;
      const cacheMounts = spec.cacheMounts ?? false;
      if (spec.type === 'registry') {
        const { exportCacheRegistry } = await import('./cache-registry.js');
        await exportCacheRegistry(ws.store, steps, spec.location, {
          cacheMounts,
          signal: o.signal,
          insecureRegistries: o.insecureRegistries ?? [],
          onProgress: (p) => o.onEvent({ type: 'push.progress', ref: spec.location, digest: p.digest, current: p.current, total: p.total, done: p.status === 'done' || p.status === 'exists' || p.status === 'mounted', exists: p.status === 'exists' || p.status === 'mounted' }),
        });
      } else await exportCacheLocal(ws.store, steps, spec.location, { cacheMounts, signal: o.signal });
    }
    if (o.gc !== false) {
      await maybeCollect(ws.root, { steps: result.allSteps }).catch((e: unknown) => o.onEvent({ type: 'warning', message: `automatic GC failed: ${(e as Error).message}` }));
    }
    return explanations ? { image, id: image.configDigest, tags: o.tags, explanations } : { image, id: image.configDigest, tags: o.tags };
  } finally {
    ws.close();
  }
}
