/**
 * Hand-written types of payloads that openapi.json describes only in words (stream messages,
 * devices, server status, the runtime block of spec.json), and helpers over the generated
 * schema types of `types.ts` (generated: `jlpm gen:types`), which this module re-exports so the
 * rest of the code imports every payload type from here.
 *
 * No JupyterLab imports: the unit tests load this under plain Node.
 */
import { FINISHED_STATUSES } from './types';
import type { ISweep, ISweepMessage } from './sweeppayloads';
import type { IModel, IModelMessage } from './modelpayloads';
import type { EventType, IJob, IJobProgress, IJobSpec, JobEvent, JobStatus } from './types';

export * from './types';
/** Statuses that `DELETE jobs/{id}` can cancel (the active ones). */
export { ACTIVE_STATUSES as CANCELLABLE_STATUSES } from './types';

/**
 * One line of a run's `events.jsonl` as the client reads it: the fields of every member of the
 * generated `JobEvent` union, each optional but `t` and `type` (a reader checks what it uses).
 */
export type IJobEvent = { t: number; type: EventType } & { [K in KeysOfUnion<JobEvent>]?: ValueOf<JobEvent, K> };
type KeysOfUnion<T> = T extends unknown ? keyof T : never;
type ValueOf<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;

/** Answer of `GET jobs/{id}/events?after=N`. */
export interface IEventsPage {
  events: IJobEvent[];
  next: number;
}

/** What the runner chose for a run: `runtime` in `spec.json`. */
export interface IRuntime {
  device?: string;
  gpus?: string[];
  steps_per_execution?: number;
  jit_compile?: boolean;
  /** Keras dtype policy: `float32`, `mixed_bfloat16` or `mixed_float16`. */
  precision?: string;
  mixed_precision?: boolean;
  steps_per_epoch?: number;
  examples?: Record<string, number>;
  /** Per-layer summary, when the runner records one. */
  summary?: ISummaryRow[];
  [key: string]: unknown;
}

/** A run's `spec.json`: the JobSpec plus package versions and, once started, the runtime. */
export interface ISpecDocument extends Omit<IJobSpec, 'runtime'> {
  versions?: Record<string, string | null>;
  runtime?: IRuntime;
}

/** One row of a model summary (`lepton_lab.core.models.summary_rows`). */
export interface ISummaryRow {
  index: number;
  layer: string;
  output_shape: (number | null)[];
  params: number;
  trainable_params?: number;
  description?: string;
}

/** One entry of `GET devices`: the CPU or a GPU, with the jobs placed on it. */
export interface IDevice {
  id: string;
  kind: 'cpu' | 'gpu';
  name: string;
  index?: number;
  uuid?: string;
  cores?: number | null;
  memory_total?: number | null;
  memory_used?: number | null;
  /** Percent, null when the device cannot report it. */
  utilization?: number | null;
  jobs?: string[];
}

/** One node of a cluster executor (`GET devices` `nodes`): its resources and the runs on it. */
export interface IClusterNode {
  /** The cluster's node id (a Ray node id). */
  id: string;
  address?: string | null;
  /** False once the cluster lost the node (its jobs become `interrupted`). */
  alive?: boolean;
  /** The cluster's head node. */
  head?: boolean;
  cpus?: number | null;
  gpus?: number | null;
  /** Ids of the runs whose workers run on the node. */
  jobs?: string[];
}

/** Answer of `GET devices`. */
export interface IDevicesPayload {
  devices: IDevice[];
  /** Present only when the executor runs jobs on a cluster: its nodes. */
  nodes?: IClusterNode[];
  gpu_policy?: string;
  nvml_error?: string | null;
  [key: string]: unknown;
}

/** Answer of `GET status`. */
export interface IServerStatus {
  lepton_lab: string;
  tensorflow: string | null;
  keras: string | null;
  python: string;
  runs_dir: string;
  [key: string]: unknown;
}

/** Events of one job, up to line offset `next` (a resume point). */
export interface IEventsMessage {
  type: 'events';
  events: IJobEvent[];
  next: number;
}

/** A job changed status. */
export interface IStatusMessage {
  type: 'status';
  job: IJob;
}

/** A running job made progress. */
export interface IProgressMessage extends IJobProgress {
  type: 'progress';
  id: string;
}

/** First message of the all-jobs stream: every job now (and every sweep). */
export interface ISnapshotMessage {
  type: 'snapshot';
  jobs: IJob[];
  sweeps?: ISweep[];
  models?: IModel[];
}

/** A job's run directory was deleted (`DELETE jobs/{id}/run`, or `lepton_lab.delete_run`). */
export interface IDeletedMessage {
  type: 'deleted';
  id: string;
}

export type StreamMessage =
  | IEventsMessage
  | IStatusMessage
  | IProgressMessage
  | ISnapshotMessage
  | IDeletedMessage
  | ISweepMessage
  | IModelMessage;

/** Whether `status` is one after which the job no longer changes. */
export function isFinished(status: JobStatus | string | undefined | null): boolean {
  return FINISHED_STATUSES.includes(status as JobStatus);
}
