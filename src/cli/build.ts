import * as fs from 'node:fs';
import * as api from '../api/index.js';
import { colorFor } from './color.js';
import { runCall } from './check.js';
import { createProgress, explainLines, resolveMode, type BuildSummary } from './progress/index.js';
import { exitCodeFor, renderError } from './render.js';
import type { Io } from './commands.js';

export interface BuildCliOptions {
  quiet: boolean;
  progress: string | undefined;
  /** `--call` method (`--check` is `check`); undefined or `build` builds. */
  call: string | undefined;
  iidfile: string | undefined;
  metadataFile: string | undefined;
  debug: boolean;
}

/** buildx's --metadata-file keys for an image build. */
export function buildMetadata(r: api.BuildResult): Record<string, unknown> {
  const descriptor = { mediaType: r.image.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: r.image.digest, size: r.image.manifestBytes.length };
  const meta: Record<string, unknown> = {
    'containerimage.config.digest': r.image.configDigest,
    'containerimage.descriptor': descriptor,
    'containerimage.digest': r.image.digest,
  };
  if (r.tags.length) meta['image.name'] = r.tags.join(',');
  return meta;
}

/** Runs a build with the chosen progress display, then writes --iidfile / --metadata-file; the exit code. */
export async function runBuild(opts: api.BuildOptions, o: BuildCliOptions, io: Io): Promise<number> {
  const env = io.env ?? process.env;
  const isTTY = io.errIsTTY ?? false;
  if (o.call !== undefined && o.call !== 'build') {
    const src: { contextDir: string; dockerfile?: string; target?: string } = { contextDir: opts.contextDir };
    if (opts.dockerfile !== undefined) src.dockerfile = opts.dockerfile;
    if (opts.target !== undefined) src.target = opts.target;
    return runCall(o.call, src, io.out, colorFor(process.stdout.isTTY === true, env));
  }
  const mode = resolveMode({ flag: o.progress, quiet: o.quiet, env, isTTY });
  const progress = createProgress(mode, { write: io.err, columns: io.columns, rows: io.rows, env, isTTY });
  opts.onEvent = (e) => progress.onEvent(e);
  const started = Date.now();
  let r: api.BuildResult;
  try {
    r = await api.build(opts);
  } catch (e) {
    progress.failed(e);
    if (!progress.rendersError) throw e;
    if (o.debug) io.err(renderError(e, { debug: true }));
    return exitCodeFor(e);
  }
  const summary: BuildSummary = {
    id: r.id,
    digest: r.image.digest,
    size: r.image.manifest.layers.reduce((n, l) => n + l.size, 0) + r.image.configBytes.length,
    tags: r.tags,
    ms: Date.now() - started,
  };
  if (o.iidfile !== undefined) fs.writeFileSync(o.iidfile, r.id);
  if (o.metadataFile !== undefined) fs.writeFileSync(o.metadataFile, `${JSON.stringify(buildMetadata(r), null, 2)}\n`);
  progress.done(summary);
  if (mode === 'quiet' && r.explanations?.length) {
    // Quiet shows no progress, but --explain-cache was asked for: the explanation goes to stderr.
    const c = colorFor(isTTY, env);
    io.err(explainLines(r.explanations.map((x) => ({ type: 'cache.explain' as const, ...x })), c).map((l) => `${l}\n`).join(''));
  }
  if (o.quiet) io.out(`${r.id}\n`);
  return 0;
}
