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

export interface RunOp {
  kind: 'run';
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  network: 'host' | 'none';
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
  loc: SourceLocation;
}

export interface BuildGraph {
  stages: PlannedStage[];
  /** Index of the stage that becomes the image. */
  target: number;
}
