/**
 * What to say when a job or a sweep finishes: which transitions deserve a
 * notification, the final metric worth quoting, and the message text. A
 * sweep's trials are not announced one by one: the sweep is, when it ends.
 *
 * Pure functions; `index.ts` hands the result to JupyterLab's `Notification`.
 */
import type { IJobTransition } from './jobs';
import type { JobMetrics } from './metrics';
import { formatMetric } from './format';
import { isFinished } from './payloads';
import { sweepIdOf } from './sweeppayloads';
import type { ISweepTransition } from './sweeps';
import { bestLabel } from './sweeps';

/** Metrics quoted in a notification, best first, with their labels. */
export const FINAL_METRICS: readonly [string, string][] = [
  ['test_accuracy', 'test accuracy'],
  ['val_accuracy', 'validation accuracy'],
  ['accuracy', 'accuracy'],
  ['val_loss', 'validation loss'],
  ['loss', 'loss']
];

/**
 * Whether a transition is news for the user: a job that was queued or running completed or
 * failed (not a sweep's trial: its sweep is announced instead).
 */
export function shouldNotify(transition: IJobTransition): boolean {
  if (transition.from === null || isFinished(transition.from) || sweepIdOf(transition.job) !== null) {
    return false;
  }
  return transition.to === 'completed' || transition.to === 'failed';
}

/** The notification for a sweep that completed or failed (null for other changes). */
export function sweepMessage(transition: ISweepTransition): { type: 'success' | 'error'; message: string } | null {
  if (transition.from !== 'running' || (transition.to !== 'completed' && transition.to !== 'failed')) {
    return null;
  }
  const sweep = transition.sweep;
  const done = sweep.counts?.completed ?? 0;
  const trials = `${done} trial${done === 1 ? '' : 's'} completed`;
  if (transition.to === 'completed') {
    return { type: 'success', message: `Lepton Lab: sweep "${sweep.name}" completed: ${trials}, ${bestLabel(sweep)}` };
  }
  return { type: 'error', message: `Lepton Lab: sweep "${sweep.name}" failed after ${trials}; ${bestLabel(sweep)}` };
}

/** The best final metric known for a job: evaluation first, then the last epoch. */
export function finalMetric(
  metrics: JobMetrics | null | undefined,
  fallback?: Record<string, number | null> | null
): { key: string; label: string; value: number } | null {
  const sources = [metrics?.evaluation, metrics?.lastEpoch, fallback, metrics?.latest];
  for (const [key, label] of FINAL_METRICS) {
    for (const source of sources) {
      const value = source?.[key];
      if (typeof value === 'number' && Number.isFinite(value)) {
        return { key, label, value };
      }
    }
  }
  return null;
}

/** The notification's text and kind for a finished job. */
export function completionMessage(
  transition: IJobTransition,
  metrics?: JobMetrics | null
): { type: 'success' | 'error'; message: string } {
  const job = transition.job;
  const name = job.name || job.spec?.name || job.id;
  const metric = finalMetric(metrics, job.progress?.epoch_metrics ?? null);
  const quoted = metric ? `${metric.label} ${formatMetric(metric.value)}` : '';
  const epochs = metrics?.epochsDone || job.epoch;
  const total = metrics?.epochs ?? job.epochs;
  const epochText = epochs ? ` after ${epochs}${total ? `/${total}` : ''} epochs` : '';
  if (transition.to === 'completed') {
    return {
      type: 'success',
      message: `Lepton Lab: "${name}" completed${epochText}${quoted ? ` — ${quoted}` : ''}`
    };
  }
  const error = job.error || metrics?.error || 'see its log';
  const last = quoted ? ` (last ${quoted})` : '';
  return {
    type: 'error',
    message: `Lepton Lab: "${name}" failed${epochText}: ${truncate(error, 200)}${last}`
  };
}

function truncate(text: string, length: number): string {
  const line = text.trim().split('\n')[0];
  return line.length > length ? `${line.slice(0, length - 1)}…` : line;
}
