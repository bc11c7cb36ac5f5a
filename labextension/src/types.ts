/**
 * TypeScript mirror of the Lepton Lab payloads.
 *
 * The JobSpec types follow `lepton_lab/core/specs.py` (the single source of
 * truth); `SPEC_FIELDS` lists each model's fields so a unit test can hold
 * them to the JSON Schema that module exports, and the type-level checks at
 * the bottom hold the interfaces to `SPEC_FIELDS`. Job, event, device and
 * stream-message types follow the server's REST/WebSocket API
 * (`lepton_lab/server/`, documented in its `openapi.json`).
 *
 * No JupyterLab imports: the unit tests load this under plain Node.
 */

// ---------------------------------------------------------------- JobSpec

export const PRESET_NAMES = ['mlp', 'small_cnn', 'cnn_bn'] as const;
export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop', 'adamw'] as const;
export const LR_SCHEDULES = ['constant', 'cosine'] as const;

export type Optimizer = (typeof OPTIMIZERS)[number];
export type LrSchedule = (typeof LR_SCHEDULES)[number];
export type PresetName = (typeof PRESET_NAMES)[number];

/** Which data to train on and how to split it. */
export interface IDatasetSpec {
  /** Registry name (digits, shapes, fashion_mnist, mnist, cifar10) or `folder:<path>`. */
  name: string;
  validation_split?: number;
  subset?: number | null;
  image_size?: number | null;
  seed?: number;
}

export interface IFlipOp {
  op: 'flip';
  mode?: 'horizontal' | 'vertical' | 'horizontal_and_vertical';
}
export interface IRotationOp {
  op: 'rotation';
  factor?: number;
}
export interface IZoomOp {
  op: 'zoom';
  factor?: number;
}
export interface ITranslationOp {
  op: 'translation';
  factor?: number;
}
export interface ICropOp {
  op: 'crop';
  fraction?: number;
}
export interface IContrastOp {
  op: 'contrast';
  factor?: number;
}
export interface IBrightnessOp {
  op: 'brightness';
  factor?: number;
}
export interface INoiseOp {
  op: 'noise';
  stddev?: number;
}

export type AugmentOp =
  | IFlipOp
  | IRotationOp
  | IZoomOp
  | ITranslationOp
  | ICropOp
  | IContrastOp
  | IBrightnessOp
  | INoiseOp;

/** Ordered augmentation pipeline, applied to training batches only. */
export interface IAugmentSpec {
  ops?: AugmentOp[];
}

/** One layer: `{"type": "Conv2D", "filters": 32, "kernel_size": 3}`. */
export interface ILayerSpec {
  type: string;
  [argument: string]: unknown;
}

/** A network: a named preset or an explicit layer list. */
export interface IModelSpec {
  preset?: PresetName | string | null;
  layers?: ILayerSpec[] | null;
}

/** How to fit the model. */
export interface ITrainSpec {
  epochs?: number;
  batch_size?: number;
  learning_rate?: number;
  optimizer?: Optimizer;
  momentum?: number;
  weight_decay?: number;
  dropout?: number | null;
  lr_schedule?: LrSchedule;
  early_stopping_patience?: number | null;
  seed?: number;
  /** null: the runner chooses (bfloat16 on CPUs with native bfloat16). */
  mixed_precision?: boolean | null;
  steps_per_execution?: number | null;
}

/** A complete training job (the body of `POST jobs`). */
export interface IJobSpec {
  name?: string;
  tags?: string[];
  dataset: IDatasetSpec;
  augment?: IAugmentSpec;
  model?: IModelSpec;
  train?: ITrainSpec;
}

/** Field names of every spec model, as in the JSON Schema's `$defs`. */
export const SPEC_FIELDS = {
  JobSpec: ['name', 'tags', 'dataset', 'augment', 'model', 'train'],
  DatasetSpec: ['name', 'validation_split', 'subset', 'image_size', 'seed'],
  AugmentSpec: ['ops'],
  ModelSpec: ['preset', 'layers'],
  TrainSpec: [
    'epochs',
    'batch_size',
    'learning_rate',
    'optimizer',
    'momentum',
    'weight_decay',
    'dropout',
    'lr_schedule',
    'early_stopping_patience',
    'seed',
    'mixed_precision',
    'steps_per_execution'
  ],
  FlipOp: ['op', 'mode'],
  RotationOp: ['op', 'factor'],
  ZoomOp: ['op', 'factor'],
  TranslationOp: ['op', 'factor'],
  CropOp: ['op', 'fraction'],
  ContrastOp: ['op', 'factor'],
  BrightnessOp: ['op', 'factor'],
  NoiseOp: ['op', 'stddev']
} as const;

/** Literal choices of spec fields, as the JSON Schema's `enum`s. */
export const SPEC_ENUMS = {
  'TrainSpec.optimizer': OPTIMIZERS,
  'TrainSpec.lr_schedule': LR_SCHEDULES
} as const;

// ---------------------------------------------------------------- jobs

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses after which a job does not change any more (unless resumed). */
export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled', 'interrupted'];
/** Statuses from which `POST jobs/{id}/resume` continues a job. */
export const RESUMABLE_STATUSES: readonly JobStatus[] = ['failed', 'interrupted', 'cancelled'];
/** What `PATCH jobs/{id}` changes (the `JobPatch` schema); null or '' clears name and note. */
export interface IJobPatch {
  name?: string | null;
  note?: string | null;
  archived?: boolean;
}

/** Longest display name and note the server accepts (`JobPatch` in `openapi.json`). */
export const NAME_MAX = 200;
export const NOTE_MAX = 10_000;

/** Statuses that `DELETE jobs/{id}` can cancel. */
export const CANCELLABLE_STATUSES: readonly JobStatus[] = ['queued', 'running'];

/** How far a running job has come: the `progress` of a job and of `progress` messages. */
export interface IJobProgress {
  /** Global step of the latest batch. */
  step?: number | null;
  /** 1-based epoch in progress. */
  epoch?: number | null;
  total_steps?: number | null;
  epochs?: number | null;
  /** Epochs completed. */
  epochs_done?: number | null;
  /** Unix time (s) of the latest event. */
  t?: number | null;
  /** Metrics of the latest batch. */
  metrics?: Record<string, number | null>;
  /** Metrics of the latest epoch (train and `val_`). */
  epoch_metrics?: Record<string, number | null>;
}

/** Who trains a job (`origin` in the `Job` schema). */
export type JobOrigin = 'server' | 'kernel' | 'script';

/** A job as the server returns it (the `Job` schema of `openapi.json`). */
export interface IJob {
  id: string;
  name?: string | null;
  tags?: string[];
  status: JobStatus;
  created?: string | null;
  started?: string | null;
  finished?: string | null;
  pid?: number | null;
  gpu?: number | null;
  exit_code?: number | null;
  error?: string | null;
  /** Epochs completed. */
  epoch?: number | null;
  epochs?: number | null;
  dataset?: string | null;
  run_dir?: string | null;
  /** Who trains it: a worker of this server, `lepton_lab.train` in a kernel, or a script. */
  origin?: JobOrigin;
  /** A person's note on the run (its `meta.json`). */
  note?: string | null;
  /** Hidden from the panel unless archived runs are shown. */
  archived?: boolean;
  cancel_requested?: boolean;
  queue_position?: number | null;
  progress?: IJobProgress | null;
  /** Only in `GET jobs/{id}`. */
  traceback?: string | null;
  /** Only in `GET jobs/{id}`. */
  spec?: IJobSpec | null;
}

/** Fields of the server's `Job` schema (checked against `openapi.json` by a unit test). */
export const JOB_FIELDS = [
  'id',
  'name',
  'tags',
  'status',
  'created',
  'started',
  'finished',
  'pid',
  'gpu',
  'exit_code',
  'error',
  'epoch',
  'epochs',
  'dataset',
  'run_dir',
  'origin',
  'note',
  'archived',
  'cancel_requested',
  'queue_position',
  'progress',
  'traceback',
  'spec'
] as const;

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
export interface ISpecDocument extends IJobSpec {
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

// ---------------------------------------------------------------- events

export const EVENT_TYPES = ['batch', 'epoch', 'status', 'log', 'eval'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One line of a run's `events.jsonl`. */
export interface IJobEvent {
  /** Unix time in seconds. */
  t: number;
  type: EventType;
  step?: number | null;
  epoch?: number | null;
  metrics?: Record<string, number | null>;
  total_steps?: number;
  epochs?: number | null;
  status?: JobStatus;
  message?: string;
  error?: string;
  [key: string]: unknown;
}

/** Answer of `GET jobs/{id}/events?after=N`. */
export interface IEventsPage {
  events: IJobEvent[];
  next: number;
}

// ---------------------------------------------------------------- devices, status

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

/** Answer of `GET status`. */
export interface IServerStatus {
  lepton_lab: string;
  tensorflow: string | null;
  keras: string | null;
  python: string;
  runs_dir: string;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- stream messages

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

/** First message of the all-jobs stream: every job now. */
export interface ISnapshotMessage {
  type: 'snapshot';
  jobs: IJob[];
}

/** A job's run directory was deleted (`DELETE jobs/{id}/run`, or `lepton_lab.delete_run`). */
export interface IDeletedMessage {
  type: 'deleted';
  id: string;
}

export type StreamMessage = IEventsMessage | IStatusMessage | IProgressMessage | ISnapshotMessage | IDeletedMessage;

// ---------------------------------------------------------------- type-level checks

type SameKeys<T, K extends readonly string[]> = [Exclude<keyof T, K[number]>, Exclude<K[number], keyof T>] extends [
  never,
  never
]
  ? true
  : false;
type Assert<T extends true> = T;

/** Compile-time proof that the interfaces list the same fields as `SPEC_FIELDS` / `JOB_FIELDS`. */
export type SpecFieldsMatchInterfaces = [
  Assert<SameKeys<IJobSpec, typeof SPEC_FIELDS.JobSpec>>,
  Assert<SameKeys<IDatasetSpec, typeof SPEC_FIELDS.DatasetSpec>>,
  Assert<SameKeys<IAugmentSpec, typeof SPEC_FIELDS.AugmentSpec>>,
  Assert<SameKeys<IModelSpec, typeof SPEC_FIELDS.ModelSpec>>,
  Assert<SameKeys<ITrainSpec, typeof SPEC_FIELDS.TrainSpec>>,
  Assert<SameKeys<IFlipOp, typeof SPEC_FIELDS.FlipOp>>,
  Assert<SameKeys<IRotationOp, typeof SPEC_FIELDS.RotationOp>>,
  Assert<SameKeys<IZoomOp, typeof SPEC_FIELDS.ZoomOp>>,
  Assert<SameKeys<ITranslationOp, typeof SPEC_FIELDS.TranslationOp>>,
  Assert<SameKeys<ICropOp, typeof SPEC_FIELDS.CropOp>>,
  Assert<SameKeys<IContrastOp, typeof SPEC_FIELDS.ContrastOp>>,
  Assert<SameKeys<IBrightnessOp, typeof SPEC_FIELDS.BrightnessOp>>,
  Assert<SameKeys<INoiseOp, typeof SPEC_FIELDS.NoiseOp>>,
  Assert<SameKeys<IJob, typeof JOB_FIELDS>>
];

/** Whether `status` is one after which the job no longer changes. */
export function isFinished(status: JobStatus | string | undefined | null): boolean {
  return FINISHED_STATUSES.includes(status as JobStatus);
}
