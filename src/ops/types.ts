import type { SourceRoot } from '../context/index.js';
import type { BaseImage, LayerInfo, Op } from '../graph/index.js';
import type { Digest } from '../oci/index.js';
import type { Session, Snapshotter, SnapshotView } from '../snapshot/index.js';
import type { Store } from '../store/index.js';

/** What step handlers get from the solver: the store, the snapshotter and ways to reach other inputs. */
export interface ExecContext {
  store: Store;
  snapshots: Snapshotter;
  session: Session;
  context: SourceRoot;
  /** The final layers of a stage (the solver builds it on demand). */
  stageLayers(stage: number): Promise<LayerInfo[]>;
  /** The cache key of a stage's final state. */
  stageKey(stage: number): Promise<Digest>;
  /** Live output of a running step. */
  onOutput(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  signal: AbortSignal;
  /** gzip level for new layers; 0 keeps them uncompressed (see ops/layers.ts). */
  gzipLevel: number;
  /** `--secret id=…,src=…|env=…`: secret id -> where its value comes from on the host. */
  secrets: ReadonlyMap<string, SecretSource>;
  /** SOURCE_DATE_EPOCH (seconds): layer timestamps newer than it are clamped, for reproducible images. */
  sourceDateEpoch?: number;
  /** `--ssh id[=socket|key,…]`: ssh id -> agent sockets or key files on the host. */
  ssh: ReadonlyMap<string, string[]>;
}

/** Where a build secret's value comes from: a host file or an environment variable. */
export type SecretSource = { kind: 'file'; path: string } | { kind: 'env'; name: string };

/** A step's inputs: its parent's layers. */
export interface StepInput {
  parentKey: Digest;
  layers: LayerInfo[];
}

/** One handler per Op kind: a cache key from definition and inputs, and the execution producing a layer. */
export interface OpHandler<O extends Op> {
  cacheKey(op: O, input: StepInput, ctx: ExecContext): Promise<Digest>;
  /** Returns the new layer, or undefined when the step changed nothing. */
  exec(op: O, input: StepInput, ctx: ExecContext): Promise<LayerInfo | undefined>;
}

export type OpHandlers = { [K in Op['kind']]: OpHandler<Extract<Op, { kind: K }>> };

export type { BaseImage, SnapshotView };
