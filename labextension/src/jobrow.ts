/**
 * One job in the panel's list (a trial row under its sweep, too): name, status, progress,
 * latest metrics and a sparkline, with its actions. Updates only the parts of its DOM that
 * changed, and follows the job's events only while it is watched.
 */
import { Sparkline } from './chart';
import { bar, button, el, setBar, setText } from './dom';
import { jobTag, latestMetrics, metricsLabel, progressLabel, progressOf } from './format';
import { showStatus } from './jobstatus';
import { JobFeed, LeptonModel } from './model';
import { RunActions } from './runactions';
import { IJob } from './payloads';

export interface IRowActions {
  open: (id: string) => void;
  /** Resolves to false when the user decided not to cancel after all. */
  cancel: (id: string) => Promise<boolean>;
  resume: (id: string) => void;
  changed: () => void;
}

/** One job in the list; updates only the parts of its DOM that changed. */
export class JobRow {
  constructor(
    readonly id: string,
    private readonly _model: LeptonModel,
    private readonly _actions: IRowActions
  ) {
    this.node = el('li', 'lepton-lab-job');
    this.node.dataset.jobId = id;
    const head = el('div', 'lepton-lab-job-head');
    this._name = el('a', 'lepton-lab-job-name');
    this._name.setAttribute('role', 'button');
    this._name.tabIndex = 0;
    this._name.title = `Open the job view of ${id}`;
    this._name.addEventListener('click', () => this._actions.open(id));
    this._badge = el('span', 'lepton-lab-badge');
    this._origin = el('span', 'lepton-lab-origin');
    this._origin.hidden = true;
    // Short id and start time: two jobs with one name are told apart by these.
    this._tag = el('span', 'lepton-lab-job-tag');
    this._tag.title = id;
    this._manage = new RunActions(id, this._model);
    head.append(this._name, this._badge, this._origin, this._tag, this._manage.archivedLabel);
    this._bar = bar(null, 'lepton-lab-progress');
    this._progress = el('div', 'lepton-lab-job-progress');
    const metricsLine = el('div', 'lepton-lab-job-metrics');
    this._latest = el('span', 'lepton-lab-job-latest');
    this._spark = new Sparkline();
    metricsLine.append(this._latest, this._spark.node);
    this._error = el('div', 'lepton-lab-job-error');
    this._error.hidden = true;
    const actions = el('div', 'lepton-lab-job-actions');
    const open = button('Open', 'lepton-lab-open', 'Open the job view');
    open.addEventListener('click', () => this._actions.open(id));
    this._cancel = button('Cancel', 'lepton-lab-cancel', 'Cancel this job (it can be resumed later)');
    this._cancel.addEventListener('click', () => {
      this._cancel.disabled = true;
      void this._actions.cancel(id).then(asked => {
        if (!asked) {
          this._cancel.disabled = false;
        }
      });
    });
    this._resume = button('Resume', 'lepton-lab-resume', 'Continue from the last checkpoint');
    this._resume.addEventListener('click', () => {
      this._resume.disabled = true;
      this._actions.resume(id);
    });
    actions.append(open, this._cancel, this._resume, ...this._manage.buttons);
    this.node.append(
      head,
      this._manage.noteNode,
      this._bar,
      this._progress,
      metricsLine,
      this._error,
      actions,
      this._manage.bar
    );
  }

  readonly node: HTMLElement;

  /** Follow this job's events (for its sparkline and latest metrics) or stop. */
  setWatched(watched: boolean): void {
    if (watched && !this._release) {
      this._feed = this._model.feed(this.id);
      this._release = this._feed.acquire();
      this._feed.changed.connect(this._onEvents, this);
    } else if (!watched && this._release) {
      this._unwatch();
    }
  }

  update(job: IJob, now: number): void {
    const feed = this._feed ?? this._model.existingFeed(this.id) ?? null;
    const metrics = feed?.metrics ?? null;
    setText(this._name, job.name || job.spec?.name || job.id);
    setText(this._tag, jobTag(job));
    this._manage.update(job, this.node);
    showStatus(
      { node: this.node, badge: this._badge, origin: this._origin, cancel: this._cancel, resume: this._resume },
      job
    );
    const progress = progressOf(job, metrics, now);
    setBar(this._bar, progress.fraction);
    const label = progressLabel(progress, job.status);
    const waiting = job.origin && job.origin !== 'server' ? 'starting' : 'waiting for a free slot';
    setText(this._progress, job.status === 'queued' ? waiting : label);
    setText(this._latest, metricsLabel(pick(latestMetrics(job, metrics), ['loss', 'accuracy'])));
    this._spark.update(metrics ? metrics.spark : null);
    const error = job.status === 'failed' ? job.error || metrics?.error || '' : '';
    this._error.hidden = !error;
    setText(this._error, error.split('\n')[0]);
    this._error.title = error;
  }

  dispose(): void {
    this._unwatch();
    this.node.remove();
  }

  private _onEvents(): void {
    this._actions.changed();
  }

  private _unwatch(): void {
    this._feed?.changed.disconnect(this._onEvents, this);
    this._release?.();
    this._release = null;
    this._feed = null;
  }

  private _name: HTMLElement;
  private _badge: HTMLElement;
  private _origin: HTMLElement;
  private _tag: HTMLElement;
  private _manage: RunActions;
  private _bar: HTMLElement;
  private _progress: HTMLElement;
  private _latest: HTMLElement;
  private _spark: Sparkline;
  private _error: HTMLElement;
  private _cancel: HTMLButtonElement;
  private _resume: HTMLButtonElement;
  private _feed: JobFeed | null = null;
  private _release: (() => void) | null = null;
}

function pick(metrics: Record<string, number | null>, keys: string[]): Record<string, number | null> {
  const picked: Record<string, number | null> = {};
  for (const key of keys) {
    if (key in metrics) {
      picked[key] = metrics[key];
    }
  }
  return picked;
}
