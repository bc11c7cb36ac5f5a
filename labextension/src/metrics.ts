/**
 * JobMetrics: what one job's event stream adds up to, kept small.
 *
 * Events arrive in batches (a replay of history, then live messages with
 * dozens of batch events each). `apply` folds them into: the latest step,
 * epoch and metrics; progress and a step-rate estimate for the ETA; bounded
 * loss/accuracy curves per batch and per epoch (train and validation); the
 * final evaluation; and the last log lines. Memory stays bounded however long
 * the job runs, and the cost of `apply` is linear in the events given.
 *
 * No JupyterLab or DOM imports: unit-tested under plain Node.
 */
import { BoundedSeries } from './series';
import { IJobEvent, JobStatus, isFinished } from './types';

/** Curves a job view draws. Batch curves are x = global step; epoch curves too (x = step at epoch end). */
export const SERIES_KEYS = [
  'loss',
  'accuracy',
  'epoch_loss',
  'epoch_accuracy',
  'val_loss',
  'val_accuracy'
] as const;
export type SeriesKey = (typeof SERIES_KEYS)[number];

export interface IMetricsOptions {
  /** Points kept per batch curve (default 600). */
  batchPoints?: number;
  /** Points kept per epoch curve (default 1000). */
  epochPoints?: number;
  /** Points kept for the panel's sparkline (default 48). */
  sparkPoints?: number;
  /** Log messages kept (default 200). */
  logLines?: number;
  /** Seconds of history the step rate (and so the ETA) is measured over (default 30). */
  rateWindow?: number;
}

/** A (time, step) sample for the rate estimate. */
interface IAnchor {
  t: number;
  step: number;
}

export class JobMetrics {
  constructor(options: IMetricsOptions = {}) {
    const batch = options.batchPoints ?? 600;
    const epoch = options.epochPoints ?? 1000;
    this.series = {
      loss: new BoundedSeries(batch),
      accuracy: new BoundedSeries(batch),
      epoch_loss: new BoundedSeries(epoch),
      epoch_accuracy: new BoundedSeries(epoch),
      val_loss: new BoundedSeries(epoch),
      val_accuracy: new BoundedSeries(epoch)
    };
    this.spark = new BoundedSeries(options.sparkPoints ?? 48);
    this._logLines = options.logLines ?? 200;
    this._rateWindow = options.rateWindow ?? 30;
  }

  /** Line offset of the events consumed so far: resume a stream with `?after=` this. */
  after = 0;
  /** Status from the latest status event, if any. */
  status: JobStatus | null = null;
  /** Error of the latest failed status event. */
  error: string | null = null;
  /** Global step of the latest batch (or epoch) event. */
  step = 0;
  /** Steps of the whole run, when the events say. */
  totalSteps: number | null = null;
  /** 1-based epoch in progress (or last finished). */
  epoch = 0;
  /** Epochs of the whole run, when the events say. */
  epochs: number | null = null;
  /** Epochs finished (the highest epoch with an epoch event). */
  epochsDone = 0;
  /** Metrics of the latest batch event. */
  latest: Record<string, number | null> = {};
  /** Metrics of the latest epoch event (train and `val_`). */
  lastEpoch: Record<string, number | null> | null = null;
  /** Metrics of the eval event (`test_accuracy`, `test_loss`). */
  evaluation: Record<string, number | null> | null = null;
  /** Unix time (s) of the latest event. */
  lastTime: number | null = null;
  /** Events applied in total. */
  eventCount = 0;
  /** Bumped whenever `apply` changed something. */
  version = 0;

  readonly series: Record<SeriesKey, BoundedSeries>;
  /** Batch loss for a sparkline (coarser than `series.loss`). */
  readonly spark: BoundedSeries;

  /** The last log messages, oldest first. */
  get logs(): readonly string[] {
    return this._logs;
  }

  /** Fold `events` in; `next` is the stream's resume offset after them. */
  apply(events: readonly IJobEvent[], next?: number): void {
    for (const event of events) {
      this._applyOne(event);
    }
    if (typeof next === 'number' && next > this.after) {
      this.after = next;
    }
    if (events.length > 0) {
      this.eventCount += events.length;
      this.version += 1;
    }
  }

  /** Fraction done in [0, 1], or null when unknown. */
  fraction(): number | null {
    if (this.status === 'completed') {
      return 1;
    }
    if (this.totalSteps && this.totalSteps > 0) {
      return clamp01(this.step / this.totalSteps);
    }
    if (this.epochs && this.epochs > 0) {
      return clamp01(this.epochsDone / this.epochs);
    }
    return null;
  }

  /** Training steps per second over the recent window, or null before two samples. */
  stepRate(): number | null {
    const first = this._anchors[0];
    const last = this._anchors[this._anchors.length - 1];
    if (!first || !last || last.t <= first.t || last.step <= first.step) {
      return null;
    }
    return (last.step - first.step) / (last.t - first.t);
  }

  /**
   * Seconds until the run ends, or null when unknown or finished.
   *
   * @param now - Unix time in seconds; time since the last event counts as done.
   */
  etaSeconds(now?: number): number | null {
    if (isFinished(this.status)) {
      return null;
    }
    let eta: number | null = null;
    const rate = this.stepRate();
    if (rate && this.totalSteps) {
      eta = Math.max(0, this.totalSteps - this.step) / rate;
    } else if (this.epochs && this._epochTimes.length > 0) {
      const mean = this._epochTimes.reduce((a, b) => a + b, 0) / this._epochTimes.length;
      eta = Math.max(0, this.epochs - this.epochsDone) * mean;
    }
    if (eta === null) {
      return null;
    }
    if (now !== undefined && this.lastTime !== null && now > this.lastTime) {
      eta -= now - this.lastTime;
    }
    return Math.max(0, eta);
  }

  private _applyOne(event: IJobEvent): void {
    if (!event || typeof event !== 'object') {
      return;
    }
    if (typeof event.t === 'number') {
      this.lastTime = event.t;
    }
    if (typeof event.epochs === 'number' && event.epochs > 0) {
      this.epochs = event.epochs;
    }
    if (typeof event.total_steps === 'number' && event.total_steps > 0) {
      this.totalSteps = event.total_steps;
    }
    switch (event.type) {
      case 'batch':
        this._batch(event);
        break;
      case 'epoch':
        this._epoch(event);
        break;
      case 'status':
        this._status(event);
        break;
      case 'eval':
        this.evaluation = { ...(event.metrics ?? {}) };
        break;
      case 'log':
        if (typeof event.message === 'string') {
          this._logs.push(event.message);
          if (this._logs.length > this._logLines) {
            this._logs.splice(0, this._logs.length - this._logLines);
          }
        }
        break;
    }
  }

  private _batch(event: IJobEvent): void {
    const step = typeof event.step === 'number' ? event.step : this.step + 1;
    const metrics = event.metrics ?? {};
    this.latest = metrics;
    if (typeof event.epoch === 'number') {
      this.epoch = event.epoch;
    }
    // After a resume the worker repeats the steps since its last checkpoint: keep the curves
    // monotonic in x by skipping steps already plotted.
    if (step > this._plottedStep) {
      this._plottedStep = step;
      this.series.loss.push(step, metrics.loss);
      this.series.accuracy.push(step, metrics.accuracy);
      this.spark.push(step, metrics.loss);
    }
    this.step = step;
    if (typeof event.t === 'number') {
      this._sample(event.t, step);
    }
  }

  private _epoch(event: IJobEvent): void {
    const metrics = event.metrics ?? {};
    this.lastEpoch = metrics;
    const epoch = typeof event.epoch === 'number' ? event.epoch : this.epochsDone + 1;
    this.epoch = epoch;
    if (typeof event.step === 'number') {
      this.step = Math.max(this.step, event.step);
    }
    if (epoch > this.epochsDone) {
      this.epochsDone = epoch;
      const x = typeof event.step === 'number' ? event.step : this.step;
      this.series.epoch_loss.push(x, metrics.loss);
      this.series.epoch_accuracy.push(x, metrics.accuracy);
      this.series.val_loss.push(x, metrics.val_loss);
      this.series.val_accuracy.push(x, metrics.val_accuracy);
      const seconds = metrics.epoch_time_s;
      if (typeof seconds === 'number' && Number.isFinite(seconds)) {
        this._epochTimes.push(seconds);
        if (this._epochTimes.length > 20) {
          this._epochTimes.shift();
        }
      }
    }
  }

  private _status(event: IJobEvent): void {
    if (!event.status) {
      return;
    }
    this.status = event.status;
    this.error = typeof event.error === 'string' ? event.error : null;
    if (event.status === 'running') {
      // A (re)start: the rate of an earlier session says nothing about this one.
      this._anchors = [];
      if (typeof event.epoch === 'number' && event.epoch > this.epochsDone) {
        this.epochsDone = event.epoch;
      }
    }
    if (typeof event.epoch === 'number' && event.epoch > 0) {
      this.epoch = Math.max(this.epoch, event.epoch);
    }
  }

  private _sample(t: number, step: number): void {
    const anchors = this._anchors;
    const last = anchors[anchors.length - 1];
    if (last && step < last.step) {
      anchors.length = 0; // steps went back (a resume without a status event): start over
    }
    if (!last || t - last.t >= 0.25 || anchors.length < 2) {
      anchors.push({ t, step });
    } else {
      anchors[anchors.length - 1] = { t, step };
    }
    while (anchors.length > 2 && t - anchors[1].t >= this._rateWindow) {
      anchors.shift();
    }
  }

  private _plottedStep = 0;
  private _anchors: IAnchor[] = [];
  private _epochTimes: number[] = [];
  private _logs: string[] = [];
  private _logLines: number;
  private _rateWindow: number;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
