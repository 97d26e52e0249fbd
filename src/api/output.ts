import * as path from 'node:path';
import { writeDockerTar, writeOciLayout, writeRootfs } from '../export/index.js';
import type { StoredImage } from '../image/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError } from '../util/index.js';

/** A parsed `--output type=...,dest=...` (docker buildx syntax). */
export interface OutputSpec {
  type: 'oci' | 'docker' | 'local' | 'tar';
  dest: string;
}

/** Parses buildx's `--output` value: `type=oci,dest=out.tar`, or a bare path meaning type=local. */
export function parseOutput(value: string): OutputSpec {
  if (!value.includes('=')) return { type: 'local', dest: value };
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new TsbuildError('TSB_USAGE', `invalid --output field "${part}": want key=value`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const type = fields.get('type') ?? 'local';
  if (!['oci', 'docker', 'local', 'tar'].includes(type)) {
    throw new TsbuildError('TSB_USAGE', `unsupported --output type "${type}"`, { hint: 'use type=oci, docker, local or tar' });
  }
  const dest = fields.get('dest');
  if (!dest) throw new TsbuildError('TSB_USAGE', `--output type=${type} needs dest=PATH`);
  return { type: type as OutputSpec['type'], dest: path.resolve(dest) };
}

/** Writes a built image to one output medium. */
export async function writeOutput(store: Store, image: StoredImage, tags: string[], out: OutputSpec, signal: AbortSignal): Promise<void> {
  const names = tags.length > 0 ? tags : [image.digest];
  switch (out.type) {
    case 'oci':
      return writeOciLayout(store, names, out.dest, { tar: !out.dest.endsWith('/') });
    case 'docker':
      return writeDockerTar(store, names, out.dest);
    case 'local':
      return writeRootfs(store, image, out.dest, { tar: false, signal });
    case 'tar':
      return writeRootfs(store, image, out.dest, { tar: true, signal });
  }
}
