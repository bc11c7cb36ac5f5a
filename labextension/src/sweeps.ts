/**
 * SweepsState: the sweeps on the server, kept current from `GET sweeps` and the `stream` socket,
 * and the pure functions the panel and the sweep view share: how trial jobs group under their
 * sweep, the counts and best-value labels, the best-so-far curve.
 *
 * No JupyterLab or DOM imports: unit-tested under plain Node.
 */
import { formatMetric, formatTime } from './format';
import { isFinished } from './payloads';
import type { IJob } from './payloads';
import { ISweep, ITrial, SweepChoice, SweepState, sweepIdOf, trialNumberOf } from './sweeppayloads';

/** A sweep changed state (`from` is null the first time a sweep is seen). */
export interface ISweepTransition {
  id: string;
  from: SweepState | null;
  to: SweepState;
  sweep: ISweep;
}

export class SweepsState {
  /** Bumped by every change. */
  get version(): number {
    return this._version;
  }

  get size(): number {
    return this._sweeps.size;
  }

  get(id: string): ISweep | undefined {
    return this._sweeps.get(id);
  }

  /** Every sweep, newest first. */
  list(): ISweep[] {
    return [...this._sweeps.values()].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
  }

  /** Replace the whole list (`GET sweeps`, a snapshot), reporting state changes. */
  replaceAll(sweeps: readonly ISweep[]): ISweepTransition[] {
    const transitions: ISweepTransition[] = [];
    const next = new Map<string, ISweep>();
    for (const sweep of sweeps) {
      if (!isSweep(sweep)) {
        continue;
      }
      const before = this._sweeps.get(sweep.id);
      next.set(sweep.id, sweep);
      if (!before || before.state !== sweep.state) {
        transitions.push({ id: sweep.id, from: before?.state ?? null, to: sweep.state, sweep });
      }
    }
    this._sweeps = next;
    this._version += 1;
    return transitions;
  }

  /** Add or replace one sweep; returns its transition if its state changed. */
  upsert(sweep: ISweep): ISweepTransition | null {
    if (!isSweep(sweep)) {
      return null;
    }
    const before = this._sweeps.get(sweep.id);
    this._sweeps.set(sweep.id, sweep);
    this._version += 1;
    if (before && before.state === sweep.state) {
      return null;
    }
    return { id: sweep.id, from: before?.state ?? null, to: sweep.state, sweep };
  }

  /**
   * Fold one `stream` message in: a snapshot's `sweeps` (when the server sends them) or a `sweep`
   * update. Returns the transitions and whether anything changed.
   */
  apply(message: { type?: unknown; sweeps?: unknown; sweep?: unknown }): {
    changed: boolean;
    transitions: ISweepTransition[];
  } {
    if (message.type === 'snapshot' && Array.isArray(message.sweeps)) {
      return { changed: true, transitions: this.replaceAll(message.sweeps as ISweep[]) };
    }
    if (message.type === 'sweep' && isSweep(message.sweep)) {
      const transition = this.upsert(message.sweep);
      return { changed: true, transitions: transition ? [transition] : [] };
    }
    return { changed: false, transitions: [] };
  }

  private _sweeps = new Map<string, ISweep>();
  private _version = 0;
}

function isSweep(value: unknown): value is ISweep {
  return !!value && typeof value === 'object' && typeof (value as ISweep).id === 'string';
}

/** One row of the panel's job list: a job, or a sweep with (the listed ones of) its trials. */
export type PanelEntry = { kind: 'job'; job: IJob } | { kind: 'sweep'; sweep: ISweep; trials: IJob[] };

/**
 * Group the listed jobs (filtered, newest first) under their sweeps.
 *
 * A job tagged `sweep:<id>` of a known sweep becomes one of its trials (newest trial first);
 * a trial of a sweep this client does not know stays a plain job. A sweep is listed where its
 * newest trial (or its creation, if newer) falls among the jobs; a sweep none of whose trials
 * is listed is shown only when `showEmpty` says so (no filter is active).
 */
export function groupEntries(
  jobs: readonly IJob[],
  sweeps: readonly ISweep[],
  showEmpty: (sweep: ISweep) => boolean
): PanelEntry[] {
  const byId = new Map(sweeps.map(sweep => [sweep.id, sweep]));
  const trials = new Map<string, IJob[]>();
  const keyed: { entry: PanelEntry; time: number; order: number }[] = [];
  jobs.forEach((job, order) => {
    const sweepId = sweepIdOf(job);
    if (sweepId !== null && byId.has(sweepId)) {
      const list = trials.get(sweepId) ?? [];
      list.push(job);
      trials.set(sweepId, list);
      return;
    }
    keyed.push({ entry: { kind: 'job', job }, time: jobTime(job), order });
  });
  for (const sweep of sweeps) {
    const own = trials.get(sweep.id) ?? [];
    if (own.length === 0 && !showEmpty(sweep)) {
      continue;
    }
    own.sort(newestTrialFirst);
    const time = Math.max(sweep.created * 1000, ...own.map(jobTime));
    keyed.push({ entry: { kind: 'sweep', sweep, trials: own }, time, order: -1 });
  }
  // Newest first; jobs keep the list's order among themselves (ties: a sweep above its trials' peers).
  keyed.sort((a, b) => b.time - a.time || a.order - b.order);
  return keyed.map(item => item.entry);
}

function jobTime(job: IJob): number {
  const time = Date.parse(job.created ?? '');
  return Number.isNaN(time) ? -Infinity : time;
}

function newestTrialFirst(a: IJob, b: IJob): number {
  const na = trialNumberOf(a) ?? -1;
  const nb = trialNumberOf(b) ?? -1;
  return nb - na || jobTime(b) - jobTime(a);
}

/** Finished-trial statuses other than `completed`, each shown when it is not zero. */
const OTHER_COUNTS = ['failed', 'cancelled', 'interrupted', 'queued'] as const;

/** "5 done · 2 running · 3 pruned" (then failed, cancelled, queued when not zero). */
export function countsLabel(sweep: ISweep): string {
  const counts = sweep.counts ?? {};
  const parts = [`${counts.completed ?? 0} done`, `${counts.running ?? 0} running`, `${counts.pruned ?? 0} pruned`];
  for (const status of OTHER_COUNTS) {
    if (counts[status]) {
      parts.push(`${counts[status]} ${status}`);
    }
  }
  return parts.join(' · ');
}

/** Trials that ended (any finished status) out of the trials the sweep runs; null if unknown. */
export function sweepProgress(sweep: ISweep): number | null {
  const total = sweep.max_trials;
  if (!total) {
    return null;
  }
  if (sweep.state === 'completed') {
    return 1;
  }
  const counts = sweep.counts ?? {};
  const ended = Object.entries(counts)
    .filter(([status]) => status !== 'queued' && status !== 'running')
    .reduce((sum, [, count]) => sum + (count ?? 0), 0);
  return Math.min(1, ended / total);
}

/** "best val_accuracy 0.973 (#4)", or what is missing. */
export function bestLabel(sweep: ISweep): string {
  const metric = sweep.objective?.metric ?? 'objective';
  if (!sweep.best || typeof sweep.best.value !== 'number') {
    return `best ${metric}: none yet`;
  }
  return `best ${metric} ${formatMetric(sweep.best.value)} (#${sweep.best.number})`;
}

/** "tpe · median pruning · maximize val_accuracy · 20 trials". */
export function settingsLabel(sweep: ISweep): string {
  const parts: string[] = [];
  if (sweep.strategy) {
    parts.push(sweep.strategy);
  }
  if (sweep.pruner) {
    parts.push(sweep.pruner === 'none' ? 'no pruning' : `${sweep.pruner} pruning`);
  }
  if (sweep.objective) {
    parts.push(`${sweep.objective.direction} ${sweep.objective.metric}`);
  }
  if (sweep.max_trials) {
    parts.push(`${sweep.max_trials} trials`);
  }
  if (sweep.parallel) {
    parts.push(`${sweep.parallel} at once`);
  }
  return parts.join(' · ');
}

/** The random part of a sweep id and when it was created: "1a2b · 14:02:07". */
export function sweepTag(sweep: ISweep, now: Date = new Date()): string {
  const match = /-([0-9a-f]{4,})$/i.exec(sweep.id);
  const short = match ? match[1] : sweep.id;
  return sweep.created ? `${short} · ${formatTime(sweep.created, now)}` : short;
}

/** The question the sweep's Cancel button asks. */
export function cancelSweepQuestion(sweep: ISweep): { title: string; body: string } {
  const counts = sweep.counts ?? {};
  const running = counts.running ?? 0;
  const queued = counts.queued ?? 0;
  const stops =
    running + queued > 0
      ? `Its ${running} running trial${running === 1 ? '' : 's'} ${running === 1 ? 'is' : 'are'} cancelled and no new trial starts` +
        (queued ? ` (${queued} queued)` : '') +
        '.'
      : 'No new trial starts.'; // between trials
  return {
    title: `Cancel sweep "${sweep.name}"?`,
    body: `${stops} Finished trials, their runs and the best value so far are kept.`
  };
}

/** Whether a smaller value is better for this sweep's objective. */
export function minimizes(sweep: Pick<ISweep, 'objective'>): boolean {
  return sweep.objective?.direction === 'minimize';
}

/**
 * The best objective value after each finished trial, in trial order: `[number, best]` from the
 * first completed trial on. Only completed trials' values count (as in Optuna's optimisation
 * history); a pruned or failed trial carries the best so far on.
 */
export function bestSoFar(trials: readonly ITrial[], minimize: boolean): [number, number][] {
  const points: [number, number][] = [];
  let best: number | null = null;
  for (const trial of [...trials].sort((a, b) => a.number - b.number)) {
    if (!isFinished(trial.status)) {
      continue;
    }
    const value = trial.value;
    if (trial.status === 'completed' && typeof value === 'number' && Number.isFinite(value)) {
      if (best === null || (minimize ? value < best : value > best)) {
        best = value;
      }
    }
    if (best !== null) {
      points.push([trial.number, best]);
    }
  }
  return points;
}

/** A parameter value for a table cell: numbers to about 3 digits, categories as written. */
export function formatParam(value: SweepChoice | undefined): string {
  if (value === undefined) {
    return '–';
  }
  if (value === null) {
    return 'None';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : formatMetric(value);
  }
  return String(value);
}

/**
 * Short labels of parameter paths: the last part (`train.learning_rate` → `learning_rate`),
 * or more of the path where two would read the same.
 */
export function paramLabels(paths: readonly string[]): Map<string, string> {
  const labels = new Map<string, string>();
  const parts = paths.map(path => path.split('.'));
  paths.forEach((path, index) => {
    const own = parts[index];
    for (let keep = 1; keep <= own.length; keep++) {
      if (/^\d+$/.test(own[own.length - keep]) && keep < own.length) {
        continue; // a list index reads only with what it indexes: `layers.2.rate`
      }
      const label = own.slice(-keep).join('.');
      const clash = parts.some((other, j) => j !== index && other.slice(-keep).join('.') === label);
      if (!clash || keep === own.length) {
        labels.set(path, label);
        break;
      }
    }
  });
  return labels;
}

/** Parameter importances, largest first, as `[path, importance]`; empty when not known yet. */
export function importanceRows(importance: Record<string, number> | null | undefined): [string, number][] {
  return Object.entries(importance ?? {})
    .filter(([, value]) => typeof value === 'number' && Number.isFinite(value))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}
