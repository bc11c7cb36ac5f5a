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
 * The Lab panel, the job view and the notebook's live plot all read progress
 * from here, so they agree: `currentEpoch()` is the one definition of "the
 * current epoch", `etaSeconds()` of the ETA and `elapsedSeconds()` of the time
 * a run has trained (every session of a resumed run counted).
 *
 * No JupyterLab or DOM imports: unit-tested under plain Node.
 */
import { BoundedSeries } from './series';
import { IJobEvent, JobStatus, isFinished } from './payloads';

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
  /**
   * @deprecated Ignored. The step rate used to be measured over this many recent seconds,
   * which made the ETA swing with every validation pause; it is now the average of whole
   * epochs of the current session (see `stepRate`).
   */
  rateWindow?: number;
}

/** What the step rate of one session is measured from. */
interface IRate {
  /** The latest batch event. */
  last: { t: number; step: number; epoch: number | null } | null;
  /** Seconds and steps between batch events of the same epoch. */
  trainSeconds: number;
  trainSteps: number;
  intervals: number;
  /** Seconds between epochs beyond training (validation, checkpoints), and their count. */
  pauseSeconds: number;
  pauses: number;
}

/** One training session: from a `running` status (or the first event) to the next status. */
interface ISession {
  /** Unix time (s) it started. */
  start: number;
  /** Unix time (s) of its latest event. */
  end: number;
  /** Whether a finishing status event ended it. */
  ended: boolean;
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
  /** The current epoch: see `currentEpoch()`, which it always equals. */
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

  /**
   * The current epoch, one definition for every view: while the run trains (or before any
   * status is known), the 1-based epoch in progress, i.e. the epoch of the newest batch and
   * never less than the epochs done; once it has ended, the epochs it completed (a run
   * cancelled in epoch 4 after 3 epochs shows 3). 0 before any event.
   *
   * @param status - The job's status when known better than the events' (the server's
   *   record can say `cancelled` before the stream's last status event arrives).
   */
  currentEpoch(status?: JobStatus | null): number {
    if (isFinished(status ?? this.status)) {
      return this.epochsDone;
    }
    return Math.max(this.epoch, this.epochsDone);
  }

  /**
   * Training steps per second, or null before two batch events of this session.
   *
   * Measured over the whole session (from its first batch), between batch events of the
   * same epoch only: validation and checkpoint pauses at epoch ends are measured apart (see
   * `etaSeconds`), so neither a pause nor a burst of events (`steps_per_execution`) moves
   * it much. At the start of a resumed session, the rate of the previous one.
   */
  stepRate(): number | null {
    const rate = this._rate;
    if (rate.trainSeconds > 0 && rate.trainSteps > 0) {
      return rate.trainSteps / rate.trainSeconds;
    }
    return this._previousRate?.steps ?? null;
  }

  /** Mean seconds between the last batch of an epoch and the first of the next (validation, checkpoint). */
  private _epochPause(): number {
    const rate = this._rate;
    if (rate.pauses > 0) {
      return rate.pauseSeconds / rate.pauses;
    }
    return this._previousRate?.pause ?? 0;
  }

  /**
   * Seconds the run has trained, summed over all its sessions (a resumed run keeps the
   * time of the sessions before), or null before any event.
   *
   * @param now - Unix time in seconds: a session still running counts up to it.
   */
  elapsedSeconds(now?: number): number | null {
    if (this._sessions.length === 0) {
      return null;
    }
    let total = 0;
    this._sessions.forEach((session, index) => {
      const current = index === this._sessions.length - 1;
      const running = current && !session.ended && !isFinished(this.status);
      const end = running && now !== undefined ? Math.max(now, session.end) : session.end;
      total += Math.max(0, end - session.start);
    });
    return total;
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
    const pause = this._epochPause();
    if (rate && this.totalSteps) {
      // Training time left at the measured rate, plus a pause at each epoch end still to come.
      const endsLeft = this.epochs ? Math.max(0, this.epochs - this.epochsDone) : 0;
      eta = Math.max(0, this.totalSteps - this.step) / rate + endsLeft * pause;
    } else if (this.epochs && this._epochTimes.length > 0) {
      const mean = this._epochTimes.reduce((a, b) => a + b, 0) / this._epochTimes.length;
      eta = Math.max(0, this.epochs - this.epochsDone) * mean;
    }
    if (eta === null) {
      return null;
    }
    if (now !== undefined && this.lastTime !== null && now > this.lastTime) {
      // Time without events counts down, for as long as a normal gap or an epoch-end pause
      // lasts: a longer stall holds the ETA rather than running it out and jumping back.
      const gap = this._rate.intervals > 0 ? this._rate.trainSeconds / this._rate.intervals : 0;
      eta -= Math.min(now - this.lastTime, Math.max(gap, pause));
    }
    return Math.max(0, eta);
  }

  private _applyOne(event: IJobEvent): void {
    if (!event || typeof event !== 'object') {
      return;
    }
    if (typeof event.t === 'number') {
      this.lastTime = event.t;
      this._track(event);
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
      this.epoch = Math.max(event.epoch, this.epochsDone);
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
      this._sample(event.t, step, typeof event.epoch === 'number' ? event.epoch : null);
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
    this.epochsDone = Math.max(this.epochsDone, epoch);
    // After a resume from an earlier checkpoint the epochs since are trained again: their
    // points are plotted already, and the curves stay monotonic in x.
    if (epoch > this._plottedEpoch) {
      this._plottedEpoch = epoch;
      const x = typeof event.step === 'number' ? event.step : this.step;
      this._epochEndSteps.set(epoch, x);
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
      this._newRateSession();
    }
    if (typeof event.epoch === 'number') {
      if (event.status === 'running') {
        // A restart point (lepton_lab.core.epochs): the run resumes after this epoch, and the
        // epochs logged after it before the restart are trained again.
        this.epochsDone = event.epoch;
        this.epoch = event.epoch;
        this._restartAt(event.epoch);
      } else {
        this.epochsDone = Math.max(this.epochsDone, event.epoch);
      }
    }
    this.epoch = isFinished(event.status) ? this.epochsDone : Math.max(this.epoch, this.epochsDone);
  }

  /**
   * One value per epoch after a resume, the latest (the policy of lepton_lab.core.epochs): the
   * points after the restart epoch's end are dropped, and the epochs trained again are plotted
   * anew when their events come.
   */
  private _restartAt(epoch: number): void {
    const cut = epoch <= 0 ? 0 : this._epochEndSteps.get(epoch);
    if (cut === undefined || epoch >= this._plottedEpoch) {
      return; // nothing plotted after the restart point (or its end step is unknown)
    }
    for (const series of Object.values(this.series)) {
      series.truncateAfter(cut);
    }
    this.spark.truncateAfter(cut);
    for (const later of [...this._epochEndSteps.keys()].filter(e => e > epoch)) {
      this._epochEndSteps.delete(later);
    }
    this._plottedEpoch = epoch;
    this._plottedStep = cut;
  }

  /** Sessions for `elapsedSeconds`: a `running` status opens one, a finishing status closes it. */
  private _track(event: IJobEvent): void {
    const t = event.t;
    const current = this._sessions[this._sessions.length - 1];
    const opens = event.type === 'status' && event.status === 'running';
    if (!current || opens || (current.ended && event.type !== 'status')) {
      this._sessions.push({ start: t, end: t, ended: false });
      if (this._sessions.length > MAX_SESSIONS) {
        // Keep the total: fold the oldest two sessions into one of the same length.
        const [a, b] = this._sessions.splice(0, 2);
        this._sessions.unshift({ start: b.start - (a.end - a.start), end: b.end, ended: true });
      }
    } else if (!current.ended) {
      current.end = Math.max(current.end, t);
      if (event.type === 'status' && isFinished(event.status)) {
        current.ended = true;
      }
    }
  }

  /** A (re)start: the rate of an earlier session is only a stand-in until this one has its own. */
  private _newRateSession(): void {
    const steps = this.stepRate();
    if (steps !== null) {
      this._previousRate = { steps, pause: this._epochPause() };
    }
    this._rate = emptyRate();
  }

  private _sample(t: number, step: number, epoch: number | null): void {
    const rate = this._rate;
    const last = rate.last;
    if (last && step < last.step) {
      this._newRateSession(); // steps went back (a resume without a status event)
      this._sample(t, step, epoch);
      return;
    }
    if (last && step > last.step && t >= last.t) {
      const dt = t - last.t;
      const steps = step - last.step;
      if (epoch !== null && last.epoch !== null && epoch > last.epoch && rate.trainSeconds > 0) {
        // The first batch of a new epoch: the gap holds the last epoch's validation and
        // checkpoint, besides training the steps in between.
        const training = steps / (rate.trainSteps / rate.trainSeconds);
        rate.pauseSeconds += Math.max(0, dt - training);
        rate.pauses += 1;
        rate.trainSeconds += Math.min(dt, training);
      } else {
        rate.trainSeconds += dt;
      }
      rate.trainSteps += steps;
      rate.intervals += 1;
    }
    // The session's first batch is its start: loading data and tracing are not training.
    rate.last = { t, step, epoch };
  }

  private _plottedStep = 0;
  private _epochEndSteps = new Map<number, number>();
  private _plottedEpoch = 0;
  private _rate: IRate = emptyRate();
  private _previousRate: { steps: number; pause: number } | null = null;
  private _sessions: ISession[] = [];
  private _epochTimes: number[] = [];
  private _logs: string[] = [];
  private _logLines: number;
}

function emptyRate(): IRate {
  return { last: null, trainSeconds: 0, trainSteps: 0, intervals: 0, pauseSeconds: 0, pauses: 0 };
}

/** Sessions kept for `elapsedSeconds` (older ones are folded together). */
const MAX_SESSIONS = 50;

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
