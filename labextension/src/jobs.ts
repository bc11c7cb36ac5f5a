/**
 * JobsState: the list of jobs on the server, kept current from the `stream` socket.
 *
 * `apply` folds one message of the all-jobs stream (`snapshot`, `status`,
 * `progress`) into the list and returns the status transitions it caused, so
 * the caller can notify about jobs that just completed or failed. A snapshot
 * after a reconnect is compared with what was known before, so a job that
 * finished while the server was unreachable still yields its transition.
 *
 * No JupyterLab imports: unit-tested under plain Node.
 */
import { IJob, IJobProgress, IProgressMessage, JobStatus, StreamMessage } from './payloads';

/** A job changed status (`from` is null the first time a job is seen). */
export interface IJobTransition {
  id: string;
  from: JobStatus | null;
  to: JobStatus;
  job: IJob;
}

/** Filter choices of the panel: a status, every active job, or all. */
export type JobFilter = JobStatus | 'active' | 'all';

export class JobsState {
  /** Whether a full list (snapshot or REST answer) has arrived. */
  get initialized(): boolean {
    return this._initialized;
  }

  /** Bumped by every change. */
  get version(): number {
    return this._version;
  }

  get size(): number {
    return this._jobs.size;
  }

  get(id: string): IJob | undefined {
    return this._jobs.get(id);
  }

  /** Jobs matching `filter`, newest first. */
  list(filter: JobFilter = 'all'): IJob[] {
    const jobs = [...this._jobs.values()].filter(job => matches(job, filter));
    return jobs.sort(newestFirst);
  }

  /** Number of jobs per status. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const job of this._jobs.values()) {
      counts[job.status] = (counts[job.status] ?? 0) + 1;
    }
    return counts;
  }

  /** Fold one stream message in; returns the transitions it caused. */
  apply(message: StreamMessage | { type?: unknown }): IJobTransition[] {
    switch ((message as StreamMessage).type) {
      case 'snapshot':
        return this.replaceAll((message as { jobs: IJob[] }).jobs ?? []);
      case 'status': {
        const job = (message as { job?: IJob }).job;
        const transition = job ? this.upsert(job) : null;
        return transition ? [transition] : [];
      }
      case 'progress':
        this.progress(message as IProgressMessage);
        return [];
      case 'deleted':
        this.remove((message as { id?: unknown }).id as string);
        return [];
      default:
        return [];
    }
  }

  /** Replace the whole list (a snapshot or `GET jobs`), reporting status changes. */
  replaceAll(jobs: readonly IJob[]): IJobTransition[] {
    const transitions: IJobTransition[] = [];
    const next = new Map<string, IJob>();
    for (const job of jobs) {
      if (!job || typeof job.id !== 'string') {
        continue;
      }
      const before = this._jobs.get(job.id);
      const merged = before ? mergeJob(before, job) : { ...job };
      next.set(job.id, merged);
      if (!before || before.status !== merged.status) {
        transitions.push({ id: job.id, from: before ? before.status : null, to: merged.status, job: merged });
      }
    }
    this._jobs = next;
    this._initialized = true;
    this._version += 1;
    return transitions;
  }

  /** Add or update one job; returns its transition if its status changed. */
  upsert(job: IJob): IJobTransition | null {
    if (!job || typeof job.id !== 'string') {
      return null;
    }
    const before = this._jobs.get(job.id);
    const merged = before ? mergeJob(before, job) : { ...job };
    this._jobs.set(job.id, merged);
    this._version += 1;
    if (before && before.status === merged.status) {
      return null;
    }
    return { id: job.id, from: before ? before.status : null, to: merged.status, job: merged };
  }

  /** Forget a deleted job; returns whether it was listed. */
  remove(id: string): boolean {
    if (!this._jobs.delete(id)) {
      return false;
    }
    this._version += 1;
    return true;
  }

  /** Merge a `progress` message into its job (ignored for unknown jobs). */
  progress(message: IProgressMessage): void {
    const job = this._jobs.get(message.id);
    if (!job) {
      return;
    }
    const fields: IJobProgress = { ...message };
    delete (fields as Partial<IProgressMessage>).type;
    delete (fields as Partial<IProgressMessage>).id;
    const updated: IJob = { ...job, progress: { ...(job.progress ?? {}), ...fields } };
    if (typeof fields.epochs === 'number') {
      updated.epochs = fields.epochs;
    }
    if (typeof fields.epochs_done === 'number') {
      updated.epoch = fields.epochs_done;
    }
    this._jobs.set(job.id, updated);
    this._version += 1;
  }

  private _jobs = new Map<string, IJob>();
  private _initialized = false;
  private _version = 0;
}

/** Whether `job` passes the panel filter. */
export function matches(job: IJob, filter: JobFilter): boolean {
  if (filter === 'all') {
    return true;
  }
  if (filter === 'active') {
    return job.status === 'running' || job.status === 'queued';
  }
  return job.status === filter;
}

function mergeJob(before: IJob, after: IJob): IJob {
  // A status message may carry fewer fields than the full record (no spec): keep the rest.
  const merged: Record<string, unknown> = { ...before };
  for (const [key, value] of Object.entries(after)) {
    if (value !== undefined) {
      merged[key] = value;
    }
  }
  return merged as unknown as IJob;
}

function newestFirst(a: IJob, b: IJob): number {
  const ca = a.created ?? '';
  const cb = b.created ?? '';
  if (ca !== cb) {
    return ca < cb ? 1 : -1;
  }
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
