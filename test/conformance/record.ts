// Shared by the conformance test and conformance/regen.sh: case loading, context preparation, and the
// normalised record of an image (config fields, layer count, history, filesystem diff against the base).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diffFlat, flatten, sortKeys, type Flat, type FsDiff, type ImageSource } from '../helpers/flatten.js';

export interface CaseSpec {
  name: string;
  dir: string;
  buildArgs?: Record<string, string>;
  target?: string;
  note?: string;
  expectedFrom?: 'buildkit' | 'reference';
  error?: boolean;
  errorLine?: number; // the Dockerfile line BuildKit fails at (checked against BuildKit's output by regen)
  secrets?: Record<string, string>; // secret id -> value, passed as --secret id=ID,src=FILE (outside the context)
  modes?: Record<string, string>; // context file modes to set after copying (git keeps only the x bit)
  mkdirs?: string[]; // empty context dirs (git cannot hold them)
  override?: Record<string, unknown>;
  mountStubs?: string[]; // BuildKit 0.8 leaves these RUN --mount mount-point dirs behind; newer BuildKit removes them
 // reference cases: fields of the record written from the reference
}

export interface ImageRecord {
  author?: string;
  base: 'busybox' | 'scratch';
  layers: number;
  config: Record<string, unknown>;
  history: Array<{ created_by: string; empty_layer: boolean }>;
  fs: FsDiff;
}

export interface Expected {
  case: string;
  source: 'buildkit' | 'reference';
  generatedWith: string;
  note?: string;
  image?: ImageRecord;
  error?: { line: number; buildkit: string };
}

/** Config fields compared; everything else (ArgsEscaped, Hostname, Image, ...) is ignored. */
export const CONFIG_FIELDS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell'] as const;

export const CONFORMANCE = (() => {
  let dir = path.dirname(new URL(import.meta.url).pathname);
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return path.join(dir, 'conformance');
})();

export function loadCase(name: string): CaseSpec {
  const dir = path.join(CONFORMANCE, 'cases', name);
  const f = path.join(dir, 'case.json');
  const spec = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : {};
  return { ...spec, name, dir };
}

export function caseNames(): string[] {
  return fs.readdirSync(path.join(CONFORMANCE, 'cases')).filter((n) => fs.statSync(path.join(CONFORMANCE, 'cases', n)).isDirectory()).sort();
}

/** known-failures.txt: case name -> reason. */
export function knownFailures(): Map<string, string> {
  const m = new Map<string, string>();
  const f = path.join(CONFORMANCE, 'known-failures.txt');
  if (!fs.existsSync(f)) return m;
  for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [name, ...why] = t.split(/\s+/);
    m.set(name!, why.join(' '));
  }
  return m;
}

/**
 * Copies a case's context into `dest` with normalised permissions (files 0644, or 0755 when executable;
 * dirs 0755), so results do not depend on the checkout's umask; then applies case.json `modes` and `mkdirs`.
 * case.json and Dockerfile.buildkit08 are not part of the context.
 */
export function prepareContext(spec: CaseSpec, dest: string): void {
  const walk = (src: string, dst: string) => {
    fs.mkdirSync(dst, { recursive: true });
    fs.chmodSync(dst, 0o755);
    for (const n of fs.readdirSync(src)) {
      if (src === spec.dir && (n === 'case.json' || n === 'Dockerfile.buildkit08')) continue;
      const s = path.join(src, n);
      const d = path.join(dst, n);
      const st = fs.lstatSync(s);
      if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(s), d);
      else if (st.isDirectory()) walk(s, d);
      else {
        fs.copyFileSync(s, d);
        fs.chmodSync(d, st.mode & 0o100 ? 0o755 : 0o644);
      }
    }
  };
  walk(spec.dir, dest);
  for (const d of spec.mkdirs ?? []) fs.mkdirSync(path.join(dest, d), { recursive: true });
  for (const [p, m] of Object.entries(spec.modes ?? {})) fs.chmodSync(path.join(dest, p), parseInt(m, 8));
}

function normaliseConfig(cfg: Record<string, any>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_FIELDS) {
    const v = cfg[k];
    if (v === null || v === undefined || v === '') continue;
    if (k === 'OnBuild' && Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return sortKeys(out);
}

/** The record of an image: `base` is the flattened busybox base and its diffID. */
export async function recordImage(img: ImageSource, base: { flat: Flat; diffId: string }): Promise<ImageRecord> {
  const diffIds: string[] = img.config.rootfs?.diff_ids ?? [];
  const onBusybox = diffIds[0] === base.diffId;
  const flat = await flatten(img);
  let history: Array<Record<string, any>> = img.config.history ?? [];
  if (onBusybox) {
    // drop the base image's own history (the import): everything up to its one layer
    const i = history.findIndex((h) => !h.empty_layer);
    history = history.slice(i + 1);
  }
  return {
    ...(img.config.author ? { author: img.config.author } : {}),
    base: onBusybox ? 'busybox' : 'scratch',
    layers: diffIds.length,
    config: normaliseConfig(img.config.config ?? {}),
    history: history.map((h) => ({ created_by: h.created_by ?? '', empty_layer: h.empty_layer === true })),
    fs: diffFlat(onBusybox ? base.flat : new Map(), flat),
  };
}

/** Applies a reference case's overrides: top-level record fields replace, `config` merges field by field. */
export function applyOverride(rec: ImageRecord, override: Record<string, any> | undefined): ImageRecord {
  if (!override) return rec;
  const out: any = { ...rec, ...override };
  if (override.config) {
    const cfg: Record<string, unknown> = { ...rec.config };
    for (const [k, v] of Object.entries(override.config)) {
      if (v === null) delete cfg[k];
      else cfg[k] = v;
    }
    out.config = sortKeys(cfg);
  }
  return out;
}
