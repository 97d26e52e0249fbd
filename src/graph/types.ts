import type { Digest, Descriptor, HistoryEntry, ImageConfig } from '../oci/index.js';
import type { SourceLocation } from '../util/index.js';

/** One layer of an image: its uncompressed digest and its stored (compressed) blob. */
export interface LayerInfo {
  diffId: Digest;
  descriptor: Descriptor;
}

/** A base image as the planner sees it: identity, config and layers. */
export interface BaseImage {
  /** Manifest digest: the image's identity in cache keys. */
  id: Digest;
  name: string;
  config: ImageConfig;
  layers: LayerInfo[];
}

/** Resolves an image name to a stored image (injected, so planning stays pure). */
export type ImageResolver = (name: string, loc: SourceLocation) => Promise<BaseImage>;

export type BaseRef = { kind: 'scratch' } | { kind: 'image'; image: BaseImage } | { kind: 'stage'; stage: number };

export type CopySource = { kind: 'context' } | { kind: 'stage'; stage: number } | { kind: 'image'; image: BaseImage };

/** `RUN --mount=…`, parsed and expanded; `target` is absolute (relative targets joined with the workdir). */
export type RunMount =
  | { type: 'bind'; target: string; source: string; from: CopySource; readonly: boolean }
  | {
      type: 'cache';
      target: string;
      /** Cache id (default: the target). */
      id: string;
      sharing: 'shared' | 'private' | 'locked';
      readonly: boolean;
      /** Seed of a new cache dir: `source` inside a stage or image (default: an empty dir). */
      from?: CopySource;
      source: string;
      mode?: number;
      uid?: number;
      gid?: number;
    }
  | { type: 'tmpfs'; target: string; size?: number }
  | {
      type: 'secret';
      id: string;
      /** Where the secret file appears; undefined with `env` only. */
      target?: string;
      env?: string;
      required: boolean;
      mode: number;
      uid: number;
      gid: number;
    }
  | { type: 'ssh'; id: string; target: string; required: boolean; mode: number; uid: number; gid: number };

export interface RunOp {
  kind: 'run';
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  network: 'host' | 'none';
  /** Mounts for this RUN only (never in the layer). */
  mounts?: RunMount[];
  /** `RUN <<EOF` with a `#!` script: written to /dev/pipes/<name> (mode 0755, read-only) and executed. */
  script?: { name: string; content: string };
}

export interface CopyOp {
  kind: 'copy';
  add: boolean;
  sources: string[];
  dest: string;
  from: CopySource;
  /** Working directory the destination is relative to. */
  cwd: string;
  chown?: string;
  chmod?: string;
  /** `--link`: copy into an empty tree; the layer is independent of the parent's files. */
  link?: boolean;
  /** `--parents`: keep each source's parent directories (after an optional `/./` pivot). */
  parents?: boolean;
  /** `--exclude` patterns, relative to each source. */
  exclude?: string[];
  /** ADD `--checksum=sha256:…` of an http(s) source. */
  checksum?: string;
  /** `COPY <<EOF` sources: file name and content (already expanded). */
  heredocs?: Array<{ name: string; content: string }>;
}

export interface MkdirOp {
  kind: 'mkdir';
  path: string;
  user: string;
}

export type Op = RunOp | CopyOp | MkdirOp;

/** A step that changes the filesystem; it produces a layer (empty diffs become empty_layer history). */
export interface Step {
  /** "stage/index", unique in the graph. */
  id: string;
  stage: number;
  op: Op;
  /** What the user sees in progress output, e.g. "RUN echo hi". */
  title: string;
  /** `created_by` for image history. */
  createdBy: string;
  loc: SourceLocation;
}

/** History of a stage in order; entries with a step become layers unless the step's diff is empty. */
export interface HistoryItem {
  createdBy: string;
  step?: Step;
}

export interface PlannedStage {
  index: number;
  name?: string;
  base: BaseRef;
  steps: Step[];
  /** The image config after folding every instruction (rootfs and history filled at export). */
  config: ImageConfig;
  history: HistoryItem[];
  /** History inherited from the base image. */
  baseHistory: HistoryEntry[];
  /** Names of the ARGs this stage declares. */
  declaredArgs: string[];
  /** The base image's creation time: the image's own when no step of this stage made a layer. */
  baseCreated?: string;
  loc: SourceLocation;
}

export interface BuildGraph {
  stages: PlannedStage[];
  /** `--build-arg` names no ARG in the planned stages declares (BuildKit warns about them). */
  unusedBuildArgs: string[];
  /** Index of the stage that becomes the image. */
  target: number;
}
