/**
 * Hand-written types of the sweep payloads (`GET sweeps`, `GET sweeps/{id}/trials`, the `sweep`
 * message of the `stream` socket) and the two job tags that make a job a sweep's trial.
 *
 * The shapes are those of the server's sweep manager (openapi.json `Sweep` and `Trial`).
 * No JupyterLab imports: the unit tests load this under plain Node.
 */
import type { IJob } from './types';

/** A sweep's state: running until every trial ended (or it was cancelled, or it failed). */
export type SweepState = 'running' | 'completed' | 'cancelled' | 'failed';

/** One dimension of a search space, as the server echoes it (defaults filled). */
export type SweepDimension =
  | { type: 'float'; low: number; high: number; log?: boolean; step?: number | null }
  | { type: 'int'; low: number; high: number; log?: boolean; step?: number | null }
  | { type: 'categorical'; choices: SweepChoice[] };

/** A categorical choice (JSON scalars). */
export type SweepChoice = string | number | boolean | null;

export interface ISweepObjective {
  metric: string;
  direction: 'maximize' | 'minimize';
}

/** The best trial so far. */
export interface ISweepBest {
  number: number;
  job_id: string;
  value: number;
  params: Record<string, SweepChoice>;
}

/** A sweep as `GET sweeps/{id}` answers and the `stream` socket sends it. */
export interface ISweep {
  id: string;
  name: string;
  state: SweepState;
  /** Unix seconds. */
  created: number;
  finished?: number | null;
  strategy?: string;
  pruner?: string;
  max_trials?: number | null;
  parallel?: number | null;
  objective: ISweepObjective;
  space?: Record<string, SweepDimension>;
  /** Trials per job status (`queued`, `running`, `completed`, `pruned`, `failed`, `cancelled`). */
  counts?: Record<string, number>;
  best?: ISweepBest | null;
  /** Parameter importance (fANOVA), null until enough trials have values. */
  importance?: Record<string, number> | null;
  spec?: Record<string, unknown>;
}

/** One trial of a sweep (`GET sweeps/{id}/trials`). */
export interface ITrial {
  number: number;
  job_id: string | null;
  /** The trial's job status (`pruned` for a trial the pruner stopped). */
  status: string;
  params: Record<string, SweepChoice>;
  /** The objective's best epoch value so far; null before the first epoch. */
  value: number | null;
  epochs_run?: number;
  /** `[epoch, value]` pairs of the objective metric. */
  intermediate?: [number, number][];
}

/** Answer of `GET sweeps`. */
export interface ISweepsPage {
  sweeps: ISweep[];
}

/** Answer of `GET sweeps/{id}/trials`. */
export interface ITrialsPage {
  trials: ITrial[];
}

/** The `stream` socket's message when a sweep changed (a trial started, reported, ended). */
export interface ISweepMessage {
  type: 'sweep';
  sweep: ISweep;
}

const SWEEP_TAG = 'sweep:';
const TRIAL_TAG = 'trial:';

/** The id of the sweep `job` is a trial of (its `sweep:<id>` tag), or null. */
export function sweepIdOf(job: Pick<IJob, 'tags'>): string | null {
  for (const tag of job.tags ?? []) {
    if (tag.startsWith(SWEEP_TAG) && tag.length > SWEEP_TAG.length) {
      return tag.slice(SWEEP_TAG.length);
    }
  }
  return null;
}

/** The trial number of `job` (its `trial:<n>` tag), or null. */
export function trialNumberOf(job: Pick<IJob, 'tags'>): number | null {
  for (const tag of job.tags ?? []) {
    if (tag.startsWith(TRIAL_TAG)) {
      const number = Number(tag.slice(TRIAL_TAG.length));
      if (Number.isInteger(number) && number >= 0) {
        return number;
      }
    }
  }
  return null;
}
