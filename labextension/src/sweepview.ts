/**
 * The sweep view: one sweep in the main area, live.
 *
 * Its header (state, settings, best value, trial counts, Cancel), the best value so far after
 * each trial, the parallel coordinates of the trials' parameters and values, the parameters'
 * importance and the trial table. The sweep itself comes with the `stream` socket (through the
 * model); each change of it re-reads `GET sweeps/{id}/trials` (at most twice a second), and the
 * trials' statuses follow their jobs on the same socket.
 */
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { LineChart } from './chart';
import { ApiError } from './client';
import { confirmCancelSweep } from './dialogs';
import { bar, button, el, messageOf, setBar, setText } from './dom';
import { formatMetric } from './format';
import { LeptonModel } from './model';
import { ParallelCoordinates } from './parcoords';
import { BoundedSeries } from './series';
import { ISweep, ITrial } from './sweeppayloads';
import {
  bestLabel,
  bestSoFar,
  countsLabel,
  importanceRows,
  minimizes,
  paramLabels,
  settingsLabel,
  sweepProgress,
  sweepTag
} from './sweeps';
import { FrameThrottle } from './throttle';
import { TrialTable } from './trialtable';

/** A curve of dots: one per trial, not joined. */
const SCATTER = { markers: true, line: false, legendValue: false } as const;

/** Least time between two reads of the trial list (ms). */
const TRIALS_INTERVAL = 500;

export interface ISweepViewOptions {
  model: LeptonModel;
  sweepId: string;
  /** Open the job view of a trial's job. */
  openJob: (id: string) => void;
}

export class SweepView extends Widget {
  constructor(options: ISweepViewOptions) {
    super();
    this._model = options.model;
    this.sweepId = options.sweepId;
    this.addClass('lepton-lab-jobview');
    this.addClass('lepton-lab-sweepview');
    this.node.dataset.sweepId = this.sweepId;
    this.title.label = this.sweepId;
    this.title.caption = `Lepton Lab sweep ${this.sweepId}`;

    const header = el('div', 'lepton-lab-jobview-header');
    const titleRow = el('div', 'lepton-lab-jobview-title');
    this._name = el('h2', 'lepton-lab-jobview-name', this.sweepId);
    this._badge = el('span', 'lepton-lab-badge');
    this._tag = el('span', 'lepton-lab-job-tag');
    this._tag.title = this.sweepId;
    this._cancel = button('Cancel', 'lepton-lab-cancel', 'Cancel the sweep: no new trials, running ones cancelled');
    this._cancel.hidden = true;
    this._cancel.addEventListener('click', () => void this._cancelSweep());
    titleRow.append(this._name, el('span', 'lepton-lab-sweep-kind', 'sweep'), this._badge, this._tag, this._cancel);
    this._settings = el('div', 'lepton-lab-muted lepton-lab-sweep-settings');
    this._bar = bar(null, 'lepton-lab-progress');
    const summary = el('div', 'lepton-lab-jobview-progress');
    this._best = el('span', 'lepton-lab-sweep-best');
    this._counts = el('span', 'lepton-lab-sweep-counts');
    summary.append(this._best, this._counts);
    this._message = el('div', 'lepton-lab-banner');
    this._message.hidden = true;
    header.append(titleRow, this._settings, this._bar, summary, this._message);

    const charts = el('div', 'lepton-lab-charts lepton-lab-sweep-charts');
    this._history = new LineChart({
      title: 'Best so far',
      xLabel: 'trial',
      emptyText: 'Drawn once a trial has completed.',
      curves: [
        { key: 'best', label: 'best so far', className: 'lepton-lab-curve-train' },
        { key: 'value', label: 'completed trial', className: 'lepton-lab-curve-val', ...SCATTER },
        { key: 'pruned', label: 'pruned trial', className: 'lepton-lab-curve-pruned', ...SCATTER }
      ]
    });
    this._history.node.classList.add('lepton-lab-sweep-history');
    for (const [key, series] of Object.entries(this._series)) {
      this._history.setSeries(key, series);
    }
    this._parcoords = new ParallelCoordinates(id => options.openJob(id));
    this._importance = el('div', 'lepton-lab-chart lepton-lab-importance');
    this._importanceBody = el('div', 'lepton-lab-importance-bars');
    this._importance.append(el('div', 'lepton-lab-chart-title', 'Parameter importance'), this._importanceBody);
    charts.append(this._history.node, this._importance, this._parcoords.node);

    const trials = el('section', 'lepton-lab-section lepton-lab-sweep-trials-section');
    this._table = new TrialTable(id => options.openJob(id));
    trials.append(el('h3', 'lepton-lab-section-heading', 'Trials'), this._table.node);

    this.node.append(header, charts, trials);

    this._trialsThrottle = new FrameThrottle(() => void this._loadTrials(), { minInterval: TRIALS_INTERVAL });
    this._model.changed.connect(this._onModelChanged, this);
    void this.reload();
  }

  readonly sweepId: string;

  /** Re-read the sweep and its trials. */
  async reload(): Promise<void> {
    try {
      const sweep = await this._model.client.sweep(this.sweepId);
      this._model.sweeps.upsert(sweep);
      this._sweep = sweep;
      this._renderSweep();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this._showMessage(`There is no sweep ${this.sweepId} on this server.`);
        this._gone = true;
        return;
      }
      this._showMessage(`Could not load sweep ${this.sweepId}: ${messageOf(error)}`);
    }
    await this._loadTrials();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    Signal.disconnectReceiver(this);
    this._trialsThrottle.dispose();
    this._history.dispose();
    this._parcoords.dispose();
    super.dispose();
  }

  protected onAfterShow(): void {
    this._history.invalidate();
    this._parcoords.draw();
    this._trialsThrottle.schedule();
  }

  private _onModelChanged(): void {
    const sweep = this._model.sweeps.get(this.sweepId);
    if (sweep && sweep !== this._sweep) {
      // A trial started, reported an epoch or ended: its value and status are in the trial list.
      this._sweep = sweep;
      this._renderSweep();
      this._trialsThrottle.schedule();
    } else if (this._trials.some(trial => this._jobStatus(trial) !== trial.status)) {
      this._renderTrials();
    }
  }

  private async _loadTrials(): Promise<void> {
    if (this._gone) {
      return;
    }
    if (this._loading) {
      this._again = true;
      return;
    }
    this._loading = true;
    try {
      this._trials = await this._model.client.sweepTrials(this.sweepId);
      this._renderTrials();
    } catch (error) {
      this._showMessage(`Could not load the trials: ${messageOf(error)}`);
    } finally {
      this._loading = false;
      if (this._again) {
        this._again = false;
        this._trialsThrottle.schedule();
      }
    }
  }

  /** The trial's status, as its job says now (the job's stream is ahead of the trial list). */
  private _jobStatus(trial: ITrial): string {
    const job = trial.job_id ? this._model.state.get(trial.job_id) : undefined;
    return job?.status ?? trial.status;
  }

  private _renderSweep(): void {
    const sweep = this._sweep;
    if (!sweep) {
      return;
    }
    this.title.label = `Sweep: ${sweep.name || sweep.id}`;
    setText(this._name, sweep.name || sweep.id);
    setText(this._badge, sweep.state);
    this._badge.dataset.status = sweep.state;
    this.node.dataset.state = sweep.state;
    setText(this._tag, sweepTag(sweep));
    setText(this._settings, settingsLabel(sweep));
    setBar(this._bar, sweepProgress(sweep));
    setText(this._best, bestLabel(sweep));
    setText(this._counts, countsLabel(sweep));
    this._cancel.hidden = sweep.state !== 'running';
    this._renderImportance(sweep);
  }

  private _renderTrials(): void {
    const sweep = this._sweep;
    if (!sweep) {
      return;
    }
    const trials = this._trials.map(trial => ({ ...trial, status: this._jobStatus(trial) }));
    const paths = [...Object.keys(sweep.space ?? {})];
    for (const trial of trials) {
      paths.push(...Object.keys(trial.params ?? {}).filter(path => !paths.includes(path)));
    }
    this._table.update(trials, paths, sweep.objective?.metric ?? 'value', sweep.best?.number ?? null);
    this._parcoords.update(sweep, trials);
    // A step line: the best so far holds until the trial that beats it.
    this._series.best.clear();
    let previous: number | null = null;
    for (const [number, value] of bestSoFar(trials, minimizes(sweep))) {
      if (previous !== null && value !== previous) {
        this._series.best.push(number, previous);
      }
      this._series.best.push(number, value);
      previous = value;
    }
    this._series.value.clear();
    this._series.pruned.clear();
    for (const trial of [...trials].sort((a, b) => a.number - b.number)) {
      if (trial.status === 'completed') {
        this._series.value.push(trial.number, trial.value);
      } else if (trial.status === 'pruned') {
        this._series.pruned.push(trial.number, trial.value);
      }
    }
    this._history.invalidate();
  }

  private _renderImportance(sweep: ISweep): void {
    const rows = importanceRows(sweep.importance);
    if (rows.length === 0) {
      this._importanceBody.replaceChildren(
        el('div', 'lepton-lab-muted', 'Estimated (fANOVA) once at least 3 trials have values.')
      );
      return;
    }
    const labels = paramLabels(rows.map(([path]) => path));
    const largest = Math.max(...rows.map(([, value]) => value), 1e-12);
    this._importanceBody.replaceChildren(
      ...rows.map(([path, value]) => {
        const row = el('div', 'lepton-lab-importance-row');
        row.dataset.param = path;
        row.title = path;
        const track = el('div', 'lepton-lab-importance-track');
        const fill = el('div', 'lepton-lab-importance-fill');
        fill.style.width = `${(100 * value) / largest}%`;
        track.append(fill);
        row.append(
          el('span', 'lepton-lab-importance-label', labels.get(path) ?? path),
          track,
          el('span', 'lepton-lab-importance-value', formatMetric(value))
        );
        return row;
      })
    );
  }

  private async _cancelSweep(): Promise<void> {
    const sweep = this._sweep;
    if (!sweep) {
      return;
    }
    this._cancel.disabled = true;
    try {
      if (await confirmCancelSweep(sweep)) {
        await this._model.cancelSweep(this.sweepId);
        this._message.hidden = true;
      }
    } catch (error) {
      this._showMessage(messageOf(error));
    } finally {
      this._cancel.disabled = false;
    }
  }

  private _showMessage(text: string): void {
    this._message.hidden = false;
    this._message.textContent = text;
  }

  private _model: LeptonModel;
  private _sweep: ISweep | null = null;
  private _trials: ITrial[] = [];
  private _loading = false;
  private _again = false;
  private _gone = false;
  private _name: HTMLElement;
  private _badge: HTMLElement;
  private _tag: HTMLElement;
  private _cancel: HTMLButtonElement;
  private _settings: HTMLElement;
  private _bar: HTMLElement;
  private _best: HTMLElement;
  private _counts: HTMLElement;
  private _message: HTMLElement;
  private _history: LineChart;
  private _series = {
    best: new BoundedSeries(),
    value: new BoundedSeries(),
    pruned: new BoundedSeries()
  };
  private _parcoords: ParallelCoordinates;
  private _importance: HTMLElement;
  private _importanceBody: HTMLElement;
  private _table: TrialTable;
  private _trialsThrottle: FrameThrottle;
}
