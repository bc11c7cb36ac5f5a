/**
 * Hand-written types of the deployment payloads: a deployed model (`GET models`, the `model`
 * message of the `stream` socket), its monitoring JSON (`GET models/{name}/metrics`) and a run's
 * exports (`export.json`, `GET/POST jobs/{id}/exports`).
 *
 * The shapes are those of the deploy contract (the server's model registry, its metrics and the
 * exporter). No JupyterLab imports: the unit tests load this under plain Node.
 */

/** A deployed model's worker: starting, serving, being restarted after it died, or given up on. */
export type ModelState = 'starting' | 'ready' | 'restarting' | 'failed';

/** Model["summary"]: the monitoring figures the panel's row shows. */
export interface IModelSummary {
  requests: number;
  errors: number;
  /** Requests per second, recently. */
  request_rate: number;
  latency_ms_p50: number | null;
  latency_ms_p95: number | null;
  latency_ms_p99: number | null;
  /** Distance of the recent predicted classes from the training distribution (null: too few yet). */
  drift: number | null;
  drifting: boolean;
}

/** What a model takes: raw uint8 images `[batch, H, W, C]`. */
export interface IModelInput {
  shape: (number | null)[];
  dtype: string;
  scale?: number;
}

/** A deployed model. */
export interface IModel {
  name: string;
  version: number;
  versions: number[];
  run_id: string | null;
  state: ModelState;
  input: IModelInput;
  classes: string[];
  /** Unix seconds. */
  created: number;
  pid: number | null;
  error: string | null;
  restarts: number;
  summary?: IModelSummary | null;
}

/** Answer of `GET models`. */
export interface IModelsPage {
  models: IModel[];
}

/** The `stream` socket's message when a model changed (state, or ~1/s while it serves). */
export interface IModelMessage {
  type: 'model';
  model: IModel;
}

/** One point of a model's monitoring history (one per 5 s). */
export interface IModelHistoryPoint {
  /** Unix seconds at the end of the interval. */
  t: number;
  /** Requests in the interval. */
  requests: number;
  errors: number;
  latency_ms_p50?: number | null;
  latency_ms_p95?: number | null;
  latency_ms_p99?: number | null;
}

export interface IModelDrift {
  score: number | null;
  method: string;
  threshold: number;
  drifting: boolean;
  /** Predictions the score looks at (the most recent). */
  window: number;
  /** Predictions in the window now. */
  predictions?: number;
  /** Predictions needed before the flag can be raised. */
  min_predictions?: number;
}

/** Answer of `GET models/{name}/metrics`. */
export interface IModelMetrics {
  name: string;
  requests: number;
  errors: number;
  request_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  batch_sizes: { mean: number | null; max: number | null; histogram: Record<string, number> };
  /** Predictions per class name. */
  predicted: Record<string, number>;
  /** Share of each class in the training split. */
  training: Record<string, number> | null;
  drift: IModelDrift;
  history: IModelHistoryPoint[];
}

/** Formats a run can be exported to. */
export type ExportFormat = 'savedmodel' | 'tflite' | 'onnx';
/** Quantization of an export. */
export type Quantize = 'none' | 'float16' | 'dynamic' | 'int8';

/** A run's `exports/<dir>/export.json`. */
export interface IExport {
  format: ExportFormat;
  quantize: Quantize;
  /** Relative to the run directory. */
  path: string;
  created: number;
  run_id: string;
  input: IModelInput;
  classes: string[];
  size_bytes: number;
  keras?: { test_accuracy?: number | null };
  test_accuracy: number | null;
  accuracy_change: number | null;
  agreement: number | null;
  examples?: number;
  latency_ms?: Record<string, number | null>;
  tolerance: number;
  within_tolerance: boolean;
  warning: string | null;
}

/** Answer of `GET jobs/{id}/exports`. */
export interface IExportsPage {
  exports: IExport[];
}

/** Body of `POST models`. */
export interface IDeployRequest {
  run: string;
  name?: string;
  export?: string;
}
