/**
 * ModelsState: the deployed models, kept current from `GET models` and the `stream` socket, and
 * the pure functions the panel's Models section, the model view and the job view's export
 * section share: the labels of a model's figures, its monitoring history as curves, the
 * predicted-vs-training class shares, the quantizations each export format offers and the
 * figures of an `export.json`.
 *
 * No JupyterLab or DOM imports: unit-tested under plain Node.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { formatBytes, formatMetric } from './format';
import type {
  ExportFormat,
  IExport,
  IModel,
  IModelHistoryPoint,
  IModelMetrics,
  IModelSummary,
  Quantize
} from './modelpayloads';

/** Seconds one point of a model's history covers when the history does not say (the server's 5 s). */
const HISTORY_STEP = 5;

export class ModelsState {
  /** Emits after the list changed (a model's figures included: about once a second while it serves). */
  get changed(): ISignal<ModelsState, void> {
    return this._changed;
  }

  /** False until a list (`GET models` or a snapshot with models) arrived. */
  get initialized(): boolean {
    return this._initialized;
  }

  get size(): number {
    return this._models.size;
  }

  get(name: string): IModel | undefined {
    return this._models.get(name);
  }

  /** Every model, by name. */
  list(): IModel[] {
    return [...this._models.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Replace the whole list (`GET models`, a snapshot). */
  replaceAll(models: readonly IModel[]): void {
    this._models = new Map(models.filter(isModel).map(model => [model.name, model]));
    this._initialized = true;
    this._changed.emit();
  }

  /** Add or replace one model. */
  upsert(model: IModel): void {
    if (isModel(model)) {
      this._models.set(model.name, model);
      this._changed.emit();
    }
  }

  /** Forget a model (undeployed). */
  remove(name: string): void {
    if (this._models.delete(name)) {
      this._changed.emit();
    }
  }

  /**
   * Fold one `stream` message in: a snapshot's `models` (when the server sends them) or a
   * `model` update. Returns whether anything changed.
   */
  apply(message: { type?: unknown; models?: unknown; model?: unknown; deleted?: unknown }): boolean {
    if (message.type === 'snapshot' && Array.isArray(message.models)) {
      this.replaceAll(message.models as IModel[]);
      return true;
    }
    if (message.type === 'model' && isModel(message.model)) {
      // An undeployed model's last message says so (`deleted: true`), if the server sends one.
      if ((message.model as IModel & { deleted?: boolean }).deleted || message.deleted === true) {
        this.remove(message.model.name);
      } else {
        this.upsert(message.model);
      }
      return true;
    }
    return false;
  }

  dispose(): void {
    Signal.clearData(this);
  }

  private _models = new Map<string, IModel>();
  private _initialized = false;
  private _changed = new Signal<ModelsState, void>(this);
}

function isModel(value: unknown): value is IModel {
  return !!value && typeof value === 'object' && typeof (value as IModel).name === 'string';
}

/** "3.1 ms", "–" when unknown. */
export function formatLatency(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    return '–';
  }
  // Two significant digits below 1 ms: an exported model's per-example latency is often 0.01 ms.
  const text =
    ms >= 100
      ? String(Math.round(ms))
      : ms >= 10
        ? ms.toFixed(1)
        : ms >= 1
          ? ms.toFixed(2)
          : String(Number(ms.toPrecision(2)));
  return `${text} ms`;
}

/** "1.90 req/s". */
export function formatRate(rate: number | null | undefined): string {
  if (typeof rate !== 'number' || !Number.isFinite(rate)) {
    return '– req/s';
  }
  return `${rate >= 100 ? Math.round(rate) : rate.toFixed(2)} req/s`;
}

/** The row's figures: "1.90 req/s · p95 3.10 ms · 120 requests · 2 errors". */
export function summaryLabel(summary: IModelSummary | null | undefined): string {
  if (!summary) {
    return 'no requests yet';
  }
  const parts = [formatRate(summary.request_rate), `p95 ${formatLatency(summary.latency_ms_p95)}`];
  parts.push(`${summary.requests} request${summary.requests === 1 ? '' : 's'}`);
  if (summary.errors) {
    parts.push(`${summary.errors} error${summary.errors === 1 ? '' : 's'}`);
  }
  return parts.join(' · ');
}

/** The drift flag: its text, and whether it is raised (null: not enough predictions to say). */
export function driftFlag(
  score: number | null | undefined,
  drifting: boolean | null | undefined
): {
  text: string;
  drifting: boolean | null;
} {
  if (typeof score !== 'number' || !Number.isFinite(score)) {
    return { text: 'drift –', drifting: null };
  }
  return drifting
    ? { text: `drifting ${formatMetric(score)}`, drifting: true }
    : { text: `drift ${formatMetric(score)}`, drifting: false };
}

/** "v2 (of 1, 2)" or "v1". */
export function versionLabel(model: Pick<IModel, 'version' | 'versions'>): string {
  const versions = model.versions ?? [];
  return versions.length > 1 ? `v${model.version} (of ${versions.join(', ')})` : `v${model.version}`;
}

/** What the state badge's tooltip says, the worker's error included. */
export function stateTitle(model: IModel): string {
  const parts: string[] = [];
  switch (model.state) {
    case 'starting':
      parts.push('The model-server worker is loading the model');
      break;
    case 'ready':
      parts.push(`Serving${model.pid ? ` (worker pid ${model.pid})` : ''}`);
      break;
    case 'restarting':
      parts.push('The worker stopped and is being restarted; requests get a 503 meanwhile');
      break;
    case 'failed':
      parts.push('The worker could not be (re)started');
      break;
  }
  if (model.restarts) {
    parts.push(`restarted ${model.restarts} time${model.restarts === 1 ? '' : 's'}`);
  }
  if (model.error) {
    parts.push(model.error);
  }
  return parts.join('; ');
}

/** The question the Undeploy button asks. */
export function undeployQuestion(model: Pick<IModel, 'name' | 'version' | 'run_id'>): { title: string; body: string } {
  return {
    title: `Undeploy model "${model.name}"?`,
    body:
      `Its worker stops and requests to ${model.name} get a 404 from now on. ` +
      `The run${model.run_id ? ` ${model.run_id}` : ''} and its exports are kept: it can be deployed again.`
  };
}

/** The curves of the model view's charts: request rate and latency quantiles over time. */
export interface IHistoryCurves {
  /** Requests per second, per interval. */
  rate: [number, number][];
  errors: [number, number][];
  p50: [number, number][];
  p95: [number, number][];
  p99: [number, number][];
}

/**
 * The history as curves over "minutes before the latest point" (x ≤ 0): axis ticks then read
 * as minutes ago, whatever the clock. An interval without requests has no latency point.
 */
export function historyCurves(history: readonly IModelHistoryPoint[]): IHistoryCurves {
  const curves: IHistoryCurves = { rate: [], errors: [], p50: [], p95: [], p99: [] };
  const points = [...history].filter(point => typeof point.t === 'number').sort((a, b) => a.t - b.t);
  if (points.length === 0) {
    return curves;
  }
  const last = points[points.length - 1].t;
  // The width of one bucket: the smallest step between points (a gap is buckets not sent).
  const steps = points
    .slice(1)
    .map((point, index) => point.t - points[index].t)
    .filter(step => step > 0);
  const seconds = steps.length > 0 ? Math.min(...steps) : HISTORY_STEP;
  points.forEach(point => {
    const x = (point.t - last) / 60;
    curves.rate.push([x, (point.requests ?? 0) / seconds]);
    curves.errors.push([x, (point.errors ?? 0) / seconds]);
    if (point.requests > 0) {
      for (const key of ['p50', 'p95', 'p99'] as const) {
        const value = point[`latency_ms_${key}`];
        if (typeof value === 'number' && Number.isFinite(value)) {
          curves[key].push([x, value]);
        }
      }
    }
  });
  return curves;
}

/** One class's bar pair: its share of recent predictions and of the training split. */
export interface IClassShare {
  name: string;
  predicted: number;
  training: number;
  count: number;
}

/**
 * Predicted vs training class shares, in the model's class order (the metrics' keys when the
 * classes are unknown). Predicted shares are of every counted prediction (0 when none yet).
 */
export function classShares(
  metrics: Pick<IModelMetrics, 'predicted' | 'training'>,
  classes: readonly string[] = []
): IClassShare[] {
  const names = [...classes];
  for (const name of [...Object.keys(metrics.training ?? {}), ...Object.keys(metrics.predicted ?? {})]) {
    if (!names.includes(name)) {
      names.push(name);
    }
  }
  const total = Object.values(metrics.predicted ?? {}).reduce((sum, count) => sum + (count || 0), 0);
  return names.map(name => {
    const count = metrics.predicted?.[name] ?? 0;
    return { name, count, predicted: total > 0 ? count / total : 0, training: metrics.training?.[name] ?? 0 };
  });
}

/** The batch-size histogram's buckets in size order ("1", "2-4", "5-8", …, "33+"). */
export function batchBuckets(histogram: Record<string, number> | null | undefined): [string, number][] {
  const low = (label: string): number => {
    const match = /^(\d+)/.exec(label);
    return match ? Number(match[1]) : Infinity;
  };
  return Object.entries(histogram ?? {}).sort((a, b) => low(a[0]) - low(b[0]));
}

/** "mean 6.1 · max 32 per worker batch". */
export function batchLabel(batchSizes: IModelMetrics['batch_sizes'] | null | undefined): string {
  if (!batchSizes || typeof batchSizes.mean !== 'number') {
    return 'No batches yet.';
  }
  return `mean ${batchSizes.mean.toFixed(1)} · max ${batchSizes.max ?? '–'} per worker batch`;
}

/** "score 0.04 (Jensen-Shannon) over the last 500 predictions, threshold 0.1". */
export function driftLabel(drift: IModelMetrics['drift'] | null | undefined): string {
  if (!drift) {
    return 'Drift not measured.';
  }
  const method = drift.method === 'jensen_shannon' ? 'Jensen-Shannon distance' : drift.method.replace(/_/g, ' ');
  const score = typeof drift.score === 'number' ? formatMetric(drift.score) : '– (too few predictions yet)';
  const text = `score ${score} (${method}) over the last ${drift.window} predictions, threshold ${formatMetric(drift.threshold)}`;
  const { predictions, min_predictions: needed } = drift;
  if (typeof predictions === 'number' && typeof needed === 'number' && predictions < needed) {
    return `${text}; flagged only from ${needed} predictions (${predictions} so far)`;
  }
  return text;
}

/** Quantizations each format offers (SavedModel: none; ONNX: none or dynamic). */
export const QUANTIZE_CHOICES: Record<ExportFormat, Quantize[]> = {
  savedmodel: ['none'],
  tflite: ['none', 'float16', 'dynamic', 'int8'],
  onnx: ['none', 'dynamic']
};

/** Format names as the chooser shows them. */
export const FORMAT_LABELS: Record<ExportFormat, string> = {
  savedmodel: 'SavedModel (TF Serving)',
  tflite: 'TFLite (LiteRT)',
  onnx: 'ONNX'
};

/** The export directory of a format and quantization: `tflite-int8`, `savedmodel`. */
export function exportDirName(format: ExportFormat, quantize: Quantize): string {
  return quantize === 'none' ? format : `${format}-${quantize}`;
}

/** "tflite · int8", "savedmodel". */
export function exportTitle(exported: Pick<IExport, 'format' | 'quantize'>): string {
  return exported.quantize && exported.quantize !== 'none'
    ? `${exported.format} · ${exported.quantize}`
    : exported.format;
}

/** "-0.50 points", "+0.20 points", "0.00 points". */
export function formatPoints(change: number | null | undefined): string {
  if (typeof change !== 'number' || !Number.isFinite(change)) {
    return '–';
  }
  const points = change * 100;
  const text = Math.abs(points).toFixed(2);
  return `${points > 0 && text !== '0.00' ? '+' : points < 0 && text !== '0.00' ? '−' : ''}${text} points`;
}

/** An accuracy to 4 decimals (export changes are fractions of a point), "–" when unknown. */
export function formatAccuracy(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(4) : '–';
}

/** The figures of an export, as label/value pairs: size, accuracy, its change, agreement, latency. */
export function exportFigures(exported: IExport): [string, string][] {
  const rows: [string, string][] = [['size', formatBytes(exported.size_bytes)]];
  const keras = exported.keras?.test_accuracy;
  const accuracy = formatAccuracy(exported.test_accuracy);
  rows.push(['test accuracy', typeof keras === 'number' ? `${accuracy} (Keras ${formatAccuracy(keras)})` : accuracy]);
  rows.push([
    'accuracy change',
    `${formatPoints(exported.accuracy_change)} (tolerance ${formatPoints(exported.tolerance).replace(/^\+/, '±')})`
  ]);
  if (typeof exported.agreement === 'number') {
    const examples = exported.examples ? ` of ${exported.examples} test examples` : '';
    rows.push(['agreement', `${(exported.agreement * 100).toFixed(1)}%${examples}`]);
  }
  const latency = Object.entries(exported.latency_ms ?? {})
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([batch, ms]) => `${formatLatency(ms)} at ${batch.replace('batch_', 'batch ')}`);
  if (latency.length > 0) {
    rows.push(['latency / example', latency.join(' · ')]);
  }
  return rows;
}

/** The loud warning of an export outside its tolerance (null when within). */
export function exportWarning(exported: IExport): string | null {
  if (exported.within_tolerance !== false) {
    return null;
  }
  return (
    exported.warning ||
    `Accuracy changed by ${formatPoints(exported.accuracy_change)}: beyond the ${formatPoints(exported.tolerance).replace(/^\+/, '')} tolerance of ${exportTitle(exported)}.`
  );
}

/** Exports newest first. */
export function sortExports(exports: readonly IExport[]): IExport[] {
  return [...exports].sort((a, b) => (b.created ?? 0) - (a.created ?? 0));
}
