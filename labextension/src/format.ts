/**
 * Formatting of numbers, durations, sizes and progress for the panel and job views.
 *
 * Pure functions (no DOM, no JupyterLab) so they are unit-tested under Node.
 */
import type { JobMetrics } from './metrics';
import { isFinished } from './payloads';
import type { IDevice, IJob, IJobProgress, ISummaryRow } from './payloads';

const DASH = '–';

/** A metric value with about 3 significant digits: 0.3124 → "0.312", 1234.5 → "1235". */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return value === null || value === undefined ? DASH : String(value);
  }
  const abs = Math.abs(value);
  if (abs === 0) {
    return '0';
  }
  if (abs >= 1000) {
    return value.toFixed(0);
  }
  if (abs < 0.001) {
    return value.toExponential(1);
  }
  return String(Number(value.toPrecision(3)));
}

/** Seconds as "42 s", "3:05" or "1:02:09"; a dash when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return DASH;
  }
  const total = Math.round(seconds);
  if (total < 60) {
    return `${total} s`;
  }
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** Bytes in binary units: 1536 → "1.5 KiB", 8e10 → "74.5 GiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) {
    return DASH;
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** A 0..1 fraction as "42%". */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) {
    return DASH;
  }
  return `${Math.round(fraction * 100)}%`;
}

/** How far a job is, from its live metrics when there are any, else from the job record. */
export interface IProgressSummary {
  /** 0..1, or null when unknown. */
  fraction: number | null;
  epoch: number | null;
  epochs: number | null;
  step: number | null;
  totalSteps: number | null;
  /** Seconds left, or null. */
  eta: number | null;
}

/** Combine the job record and its live metrics (if followed) into one progress summary. */
export function progressOf(job: IJob, metrics?: JobMetrics | null, now?: number): IProgressSummary {
  const record: IJobProgress = job.progress ?? {};
  const live = metrics && metrics.eventCount > 0 ? metrics : null;
  const epochs = live?.epochs ?? numberOr(record.epochs, job.epochs, job.spec?.train?.epochs);
  const totalSteps = live?.totalSteps ?? numberOr(record.total_steps);
  const step = live ? live.step : numberOr(record.step);
  const epochsDone = live ? live.epochsDone : numberOr(record.epochs_done, job.epoch);
  // One definition (JobMetrics.currentEpoch): the epoch in progress while running, the epochs
  // done once finished; the record's `epoch` counts epochs done, its progress the one in progress.
  const epoch = live
    ? live.currentEpoch(job.status)
    : isFinished(job.status)
      ? numberOr(job.epoch, record.epochs_done)
      : numberOr(record.epoch, job.epoch);
  let fraction: number | null = live ? live.fraction() : null;
  if (fraction === null) {
    if (totalSteps && step !== null) {
      fraction = step / totalSteps;
    } else if (epochs && epochsDone !== null) {
      fraction = epochsDone / epochs;
    }
  }
  if (job.status === 'completed') {
    fraction = 1;
  }
  const eta = job.status === 'running' && live ? live.etaSeconds(now) : null;
  return {
    fraction: fraction === null ? null : Math.min(1, Math.max(0, fraction)),
    epoch,
    epochs,
    step,
    totalSteps,
    eta
  };
}

/** "epoch 2/5 · ETA 0:35" (parts left out when unknown). */
export function progressLabel(progress: IProgressSummary, status?: string): string {
  const parts: string[] = [];
  if (progress.epoch !== null || progress.epochs !== null) {
    parts.push(`epoch ${progress.epoch ?? 0}/${progress.epochs ?? '?'}`);
  }
  if (status === 'running' && progress.eta !== null) {
    parts.push(`ETA ${formatDuration(progress.eta)}`);
  }
  return parts.join(' · ');
}

/** "step 1200/3000" or "step 1200". */
export function stepLabel(progress: IProgressSummary): string {
  if (progress.step === null) {
    return '';
  }
  return progress.totalSteps ? `step ${progress.step}/${progress.totalSteps}` : `step ${progress.step}`;
}

/** "loss 0.312 · acc 0.912" from whichever metrics are known; '' when none. */
export function metricsLabel(metrics: Record<string, number | null | undefined> | null | undefined): string {
  if (!metrics) {
    return '';
  }
  const parts: string[] = [];
  if (metrics.loss !== undefined) {
    parts.push(`loss ${formatMetric(metrics.loss)}`);
  }
  if (metrics.accuracy !== undefined) {
    parts.push(`acc ${formatMetric(metrics.accuracy)}`);
  }
  if (metrics.val_loss !== undefined) {
    parts.push(`val_loss ${formatMetric(metrics.val_loss)}`);
  }
  if (metrics.val_accuracy !== undefined) {
    parts.push(`val_acc ${formatMetric(metrics.val_accuracy)}`);
  }
  return parts.join(' · ');
}

/** The metrics to show for a job: the latest epoch (train + val), with running batch values while training. */
export function latestMetrics(job: IJob, metrics?: JobMetrics | null): Record<string, number | null> {
  const running = job.status === 'running';
  const shown: Record<string, number | null> = { ...(job.progress?.epoch_metrics ?? {}) };
  if (running) {
    Object.assign(shown, pickTrain(job.progress?.metrics));
  }
  if (metrics && metrics.eventCount > 0) {
    Object.assign(shown, metrics.lastEpoch ?? {});
    if (running) {
      Object.assign(shown, pickTrain(metrics.latest));
    }
  }
  return shown;
}

/** The training metrics (loss, accuracy) of a batch's metrics: batches have no `val_` ones. */
export function pickTrain(metrics: Record<string, number | null> | undefined): Record<string, number | null> {
  const picked: Record<string, number | null> = {};
  for (const key of ['loss', 'accuracy']) {
    if (metrics && metrics[key] !== undefined) {
      picked[key] = metrics[key];
    }
  }
  return picked;
}

/** "NVIDIA H100 · 3.2/79.6 GiB · 45%" for a GPU; cores and load for the CPU. */
export function deviceLabel(device: IDevice): string {
  const parts = [device.kind === 'gpu' ? `GPU ${device.index ?? device.id}: ${device.name}` : `CPU ${device.name}`];
  if (device.kind === 'cpu' && device.cores) {
    parts.push(`${device.cores} cores`);
  }
  if (device.memory_total) {
    parts.push(`${formatBytes(device.memory_used ?? 0)}/${formatBytes(device.memory_total)}`);
  }
  if (device.utilization !== null && device.utilization !== undefined) {
    parts.push(`${Math.round(device.utilization)}% util`);
  }
  return parts.join(' · ');
}

/** A timestamp (ISO string or unix seconds) as local "HH:MM:SS", or "YYYY-MM-DD HH:MM" if not today. */
export function formatTime(value: string | number | null | undefined, now: Date = new Date()): string {
  if (value === null || value === undefined || value === '') {
    return DASH;
  }
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) {
    return String(value);
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  if (date.toDateString() === now.toDateString()) {
    return time;
  }
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time.slice(0, 5)}`;
}

function numberOr(...values: unknown[]): number | null {
  for (const value of values) {
    if (typeof value === 'number' && Number.isFinite(value)) {
      return value;
    }
  }
  return null;
}

/** Tag saying who trains a job: a worker of this server, a notebook kernel or a script. */
export function originLabel(job: IJob): { text: string; title: string } | null {
  switch (job.origin ?? 'server') {
    case 'server':
      return {
        text: 'server',
        title: 'Trained by a worker process this Jupyter server started; Cancel stops it after the current batch'
      };
    case 'kernel':
      return {
        text: 'kernel',
        title: 'Trained by lepton_lab.train in a notebook kernel; Cancel asks it to stop after the current batch'
      };
    case 'script':
      return {
        text: 'script',
        title: 'Trained by the lepton-lab CLI or a Python script; Cancel asks it to stop after the current batch'
      };
    default:
      return null;
  }
}

/** The random part of a run id ("20260101-120000-my-cnn-1a2b" → "1a2b"); the id itself if none. */
export function shortId(id: string): string {
  const match = /-([0-9a-f]{4,})$/i.exec(id);
  return match ? match[1] : id;
}

/**
 * What tells a job from others with the same name: its short id and when it started (or was
 * created), e.g. "1a2b · 14:02:07".
 */
export function jobTag(job: IJob, now: Date = new Date()): string {
  const when = job.started || job.created;
  return when ? `${shortId(job.id)} · ${formatTime(when, now)}` : shortId(job.id);
}

/** The question a Cancel button asks before cancelling `job`. */
export function cancelQuestion(job: IJob): { title: string; body: string } {
  const name = job.name || job.spec?.name || job.id;
  const what =
    job.status === 'queued'
      ? 'It has not started yet and will not start.'
      : 'Training stops after the current batch; the epochs done so far are kept and Resume continues from the last checkpoint.';
  const who =
    job.origin === 'kernel'
      ? ' The notebook kernel training it is asked to stop; the kernel itself keeps running.'
      : job.origin === 'script'
        ? ' The script training it is asked to stop.'
        : '';
  return { title: `Cancel "${name}" (${shortId(job.id)})?`, body: `${what}${who}` };
}

/** How to make the report of a run that has none yet: notebook code and a terminal command. */
export function reportHint(job: IJob): { text: string; python: string; shell: string } {
  const where = job.run_dir || job.id;
  const python = `import lepton_lab as ll\nll.report(${JSON.stringify(where)})`;
  const shell = `lepton-lab report ${shellQuote(where)}`;
  const text = isFinished(job.status)
    ? 'This run has no report yet. Make one in a notebook (or a terminal), then click Open report again:'
    : 'A report is made on request once training has ended. When it has, run this in a notebook (or a terminal):';
  return { text, python, shell };
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/** The cells of one model-summary row: index, layer type, its settings, output shape, parameters. */
export function summaryCells(row: ISummaryRow): [string, string, string, string, string] {
  const shape = `(${row.output_shape.map(d => (d === null ? 'None' : String(d))).join(', ')})`;
  const details = row.description && row.description !== row.layer ? row.description : '';
  return [String(row.index), row.layer, details, shape, row.params.toLocaleString('en-US')];
}
