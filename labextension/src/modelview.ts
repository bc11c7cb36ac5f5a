/**
 * The model view: one deployed model in the main area, live.
 *
 * Its header (version, state, the run it came from, Undeploy), request rate and latency
 * p50/p95/p99 over the last minutes (`GET models/{name}/metrics` `history`, drawn with the job
 * view's LineChart), the worker batch sizes, the predicted vs training class distribution as
 * paired bars, and the drift score with its flag. The model's `model` messages on the `stream`
 * socket (about 1/s while it serves) trigger a re-read of its metrics, at most once a second;
 * a slow timer re-reads them while the view is visible so an idle model's history moves on.
 */
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { LineChart } from './chart';
import { ApiError } from './client';
import { confirmUndeploy } from './dialogs';
import { button, el, kv, messageOf, setText } from './dom';
import { formatTime } from './format';
import { LeptonModel } from './model';
import { modelMetrics } from './modelclient';
import { IModel, IModelMetrics } from './modelpayloads';
import {
  batchBuckets,
  batchLabel,
  classShares,
  driftFlag,
  driftLabel,
  formatLatency,
  formatRate,
  historyCurves,
  stateTitle,
  versionLabel
} from './models';
import { BoundedSeries } from './series';
import { FrameThrottle } from './throttle';

/** Least time between two reads of the metrics (ms). */
const METRICS_INTERVAL = 1000;
/** How often an idle model's metrics are re-read while the view is visible (ms). */
const POLL_INTERVAL = 5000;

export interface IModelViewOptions {
  model: LeptonModel;
  name: string;
  /** Open the job view of the run the model was deployed from. */
  openJob?: (id: string) => void;
}

export class ModelView extends Widget {
  constructor(options: IModelViewOptions) {
    super();
    this._model = options.model;
    this.modelName = options.name;
    this._openJob = options.openJob ?? null;
    this.addClass('lepton-lab-jobview');
    this.addClass('lepton-lab-modelview');
    this.node.dataset.modelName = this.modelName;
    this.title.label = `Model: ${this.modelName}`;
    this.title.caption = `Lepton Lab deployed model ${this.modelName}`;

    const header = el('div', 'lepton-lab-jobview-header');
    const titleRow = el('div', 'lepton-lab-jobview-title');
    const name = el('h2', 'lepton-lab-jobview-name', this.modelName);
    this._version = el('span', 'lepton-lab-job-tag lepton-lab-model-version');
    this._badge = el('span', 'lepton-lab-badge lepton-lab-model-state');
    this._runLink = el('a', 'lepton-lab-model-run');
    this._runLink.setAttribute('role', 'button');
    this._runLink.hidden = true;
    this._runLink.addEventListener('click', () => {
      const id = this._runLink.dataset.runId;
      if (id) {
        this._openJob?.(id);
      }
    });
    this._undeploy = button('Undeploy', 'lepton-lab-cancel lepton-lab-model-undeploy', 'Stop serving this model');
    this._undeploy.addEventListener('click', () => void this._undeployModel());
    titleRow.append(
      name,
      el('span', 'lepton-lab-sweep-kind', 'model'),
      this._version,
      this._badge,
      this._runLink,
      this._undeploy
    );
    this._details = el('div', 'lepton-lab-muted lepton-lab-model-details');
    this._figures = el('div', 'lepton-lab-jobview-progress lepton-lab-model-figures');
    this._error = el('pre', 'lepton-lab-jobview-error');
    this._error.hidden = true;
    this._message = el('div', 'lepton-lab-banner');
    this._message.hidden = true;
    header.append(titleRow, this._details, this._figures, this._error, this._message);

    const charts = el('div', 'lepton-lab-charts lepton-lab-model-charts');
    this._rateChart = new LineChart({
      title: 'Requests per second',
      xLabel: 'minutes (0 = latest)',
      emptyText: 'Drawn once the model has been asked.',
      curves: [
        // Dots while there are few points: a model deployed moments ago has one.
        { key: 'rate', label: 'requests/s', className: 'lepton-lab-curve-train', markers: true },
        { key: 'errors', label: 'errors/s', className: 'lepton-lab-curve-errors' }
      ]
    });
    this._rateChart.node.classList.add('lepton-lab-model-rate');
    this._latencyChart = new LineChart({
      title: 'Latency (ms)',
      xLabel: 'minutes (0 = latest)',
      emptyText: 'Drawn once the model has answered.',
      curves: [
        // Dots: an interval without requests has no point, so a lone busy interval still shows.
        { key: 'p50', label: 'p50', className: 'lepton-lab-curve-p50', markers: true },
        { key: 'p95', label: 'p95', className: 'lepton-lab-curve-val', markers: true },
        { key: 'p99', label: 'p99', className: 'lepton-lab-curve-p99', markers: true }
      ]
    });
    this._latencyChart.node.classList.add('lepton-lab-model-latency');
    for (const [key, series] of Object.entries(this._series)) {
      const chart = key === 'rate' || key === 'errors' ? this._rateChart : this._latencyChart;
      chart.setSeries(key, series);
    }
    this._classes = el('div', 'lepton-lab-chart lepton-lab-model-classes');
    const legend = el('div', 'lepton-lab-chart-legend');
    legend.append(
      legendItem('predicted', 'lepton-lab-class-predicted'),
      legendItem('training split', 'lepton-lab-class-training')
    );
    this._classBars = el('div', 'lepton-lab-class-bars');
    this._classes.append(el('div', 'lepton-lab-chart-title', 'Predicted vs training classes'), this._classBars, legend);
    this._batches = el('div', 'lepton-lab-chart lepton-lab-model-batches');
    this._batchLabel = el('div', 'lepton-lab-muted lepton-lab-batch-label');
    this._batchBars = el('div', 'lepton-lab-importance-bars lepton-lab-batch-bars');
    this._batches.append(el('div', 'lepton-lab-chart-title', 'Worker batch sizes'), this._batchBars, this._batchLabel);
    this._drift = el('div', 'lepton-lab-chart lepton-lab-model-drift-box');
    this._driftFlag = el('div', 'lepton-lab-model-drift lepton-lab-model-drift-big');
    this._driftText = el('div', 'lepton-lab-muted lepton-lab-drift-text');
    this._drift.append(el('div', 'lepton-lab-chart-title', 'Drift'), this._driftFlag, this._driftText);
    charts.append(this._rateChart.node, this._latencyChart.node, this._classes, this._batches, this._drift);

    this.node.append(header, charts);

    this._throttle = new FrameThrottle(() => void this._loadMetrics(), { minInterval: METRICS_INTERVAL });
    this._model.models.changed.connect(this._onModelsChanged, this);
    this._renderModel();
    this._throttle.schedule();
  }

  readonly modelName: string;

  /** The metrics last read (null before the first answer). */
  get metrics(): IModelMetrics | null {
    return this._metrics;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    Signal.disconnectReceiver(this);
    this._throttle.dispose();
    this._stopTimer();
    this._rateChart.dispose();
    this._latencyChart.dispose();
    super.dispose();
  }

  protected onAfterShow(): void {
    this._rateChart.invalidate();
    this._latencyChart.invalidate();
    this._throttle.schedule();
    this._startTimer();
  }

  protected onAfterAttach(): void {
    this._startTimer();
  }

  protected onBeforeHide(): void {
    this._stopTimer();
  }

  protected onBeforeDetach(): void {
    this._stopTimer();
  }

  private _startTimer(): void {
    if (this._timer === null && !this._gone) {
      this._timer = setInterval(() => this._throttle.schedule(), POLL_INTERVAL);
    }
  }

  private _stopTimer(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
  }

  private _onModelsChanged(): void {
    const model = this._model.models.get(this.modelName);
    if (model === this._shown) {
      return;
    }
    this._renderModel();
    if (model) {
      this._gone = false;
      this._startTimer();
      this._throttle.schedule();
    }
  }

  private async _loadMetrics(): Promise<void> {
    if (this._loading || this.isDisposed) {
      return;
    }
    this._loading = true;
    try {
      this._metrics = await modelMetrics(this._model.client, this.modelName);
      this._message.hidden = true;
      this._renderMetrics(this._metrics);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this._gone = true;
        this._stopTimer();
        this._showMessage(`There is no deployed model ${this.modelName} on this server (undeployed?).`);
      } else {
        this._showMessage(`Could not load the metrics of ${this.modelName}: ${messageOf(error)}`);
      }
    } finally {
      this._loading = false;
    }
  }

  private _renderModel(): void {
    const model = this._model.models.get(this.modelName);
    this._shown = model;
    this._undeploy.hidden = !model;
    if (!model) {
      setText(this._badge, this._model.models.initialized ? 'not deployed' : '');
      this._badge.dataset.status = 'absent';
      this.node.dataset.state = 'absent';
      return;
    }
    setText(this._version, versionLabel(model));
    setText(this._badge, model.state);
    this._badge.dataset.status = model.state;
    this._badge.title = stateTitle(model);
    this.node.dataset.state = model.state;
    this._runLink.hidden = !model.run_id || !this._openJob;
    if (model.run_id) {
      this._runLink.dataset.runId = model.run_id;
      setText(this._runLink, `from run ${model.run_id}`);
      this._runLink.title = `Open the job view of ${model.run_id}`;
    }
    setText(this._details, detailsLabel(model));
    const error = model.state === 'failed' || model.state === 'restarting' ? (model.error ?? '') : '';
    this._error.hidden = !error;
    setText(this._error, error);
  }

  private _renderMetrics(metrics: IModelMetrics): void {
    const latency = metrics.latency_ms ?? { p50: null, p95: null, p99: null };
    this._figures.replaceChildren(
      kv('requests', String(metrics.requests), 'lepton-lab-model-requests'),
      kv('errors', String(metrics.errors), 'lepton-lab-model-errors'),
      kv('rate', formatRate(metrics.request_rate), 'lepton-lab-model-rate-value'),
      kv(
        'latency',
        `p50 ${formatLatency(latency.p50)} · p95 ${formatLatency(latency.p95)} · p99 ${formatLatency(latency.p99)}`,
        'lepton-lab-model-latency-value'
      )
    );
    const curves = historyCurves(metrics.history ?? []);
    for (const key of ['rate', 'errors', 'p50', 'p95', 'p99'] as const) {
      const series = this._series[key];
      series.clear();
      for (const [x, y] of curves[key]) {
        series.push(x, y);
      }
    }
    this._rateChart.invalidate();
    this._latencyChart.invalidate();
    this._renderClasses(metrics);
    this._renderBatches(metrics);
    const flag = driftFlag(metrics.drift?.score, metrics.drift?.drifting);
    setText(this._driftFlag, flag.text);
    this._driftFlag.dataset.drifting = String(flag.drifting);
    setText(this._driftText, driftLabel(metrics.drift));
  }

  private _renderClasses(metrics: IModelMetrics): void {
    const shares = classShares(metrics, this._model.models.get(this.modelName)?.classes ?? []);
    if (shares.length === 0) {
      this._classBars.replaceChildren(el('div', 'lepton-lab-muted', 'No class distribution yet.'));
      return;
    }
    const largest = Math.max(...shares.flatMap(share => [share.predicted, share.training]), 1e-12);
    this._classBars.replaceChildren(
      ...shares.map(share => {
        const column = el('div', 'lepton-lab-class-column');
        column.dataset.className = share.name;
        column.title = `${share.name}: ${(share.predicted * 100).toFixed(1)}% of predictions (${share.count}), ${(share.training * 100).toFixed(1)}% of the training split`;
        const pair = el('div', 'lepton-lab-class-pair');
        const predicted = el('div', 'lepton-lab-class-bar lepton-lab-class-predicted');
        predicted.style.height = `${(100 * share.predicted) / largest}%`;
        const training = el('div', 'lepton-lab-class-bar lepton-lab-class-training');
        training.style.height = `${(100 * share.training) / largest}%`;
        pair.append(predicted, training);
        column.append(pair, el('div', 'lepton-lab-class-label', share.name));
        return column;
      })
    );
  }

  private _renderBatches(metrics: IModelMetrics): void {
    const buckets = batchBuckets(metrics.batch_sizes?.histogram);
    setText(this._batchLabel, batchLabel(metrics.batch_sizes));
    const largest = Math.max(...buckets.map(([, count]) => count), 1);
    this._batchBars.replaceChildren(
      ...buckets.map(([label, count]) => {
        const row = el('div', 'lepton-lab-importance-row lepton-lab-batch-row');
        row.dataset.bucket = label;
        const track = el('div', 'lepton-lab-importance-track');
        const fill = el('div', 'lepton-lab-importance-fill');
        fill.style.width = `${(100 * count) / largest}%`;
        track.append(fill);
        row.append(
          el('span', 'lepton-lab-importance-label', `batch ${label}`),
          track,
          el('span', 'lepton-lab-importance-value', String(count))
        );
        return row;
      })
    );
  }

  private async _undeployModel(): Promise<void> {
    const model = this._model.models.get(this.modelName);
    if (!model) {
      return;
    }
    this._undeploy.disabled = true;
    try {
      if (await confirmUndeploy(model)) {
        await this._model.undeploy(this.modelName);
      }
    } catch (error) {
      this._showMessage(messageOf(error));
    } finally {
      this._undeploy.disabled = false;
    }
  }

  private _showMessage(text: string): void {
    this._message.hidden = false;
    this._message.textContent = text;
  }

  private _model: LeptonModel;
  private _openJob: ((id: string) => void) | null;
  private _shown: IModel | undefined = undefined;
  private _metrics: IModelMetrics | null = null;
  private _loading = false;
  private _gone = false;
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _version: HTMLElement;
  private _badge: HTMLElement;
  private _runLink: HTMLElement;
  private _undeploy: HTMLButtonElement;
  private _details: HTMLElement;
  private _figures: HTMLElement;
  private _error: HTMLElement;
  private _message: HTMLElement;
  private _rateChart: LineChart;
  private _latencyChart: LineChart;
  private _series = {
    rate: new BoundedSeries(),
    errors: new BoundedSeries(),
    p50: new BoundedSeries(),
    p95: new BoundedSeries(),
    p99: new BoundedSeries()
  };
  private _classes: HTMLElement;
  private _classBars: HTMLElement;
  private _batches: HTMLElement;
  private _batchLabel: HTMLElement;
  private _batchBars: HTMLElement;
  private _drift: HTMLElement;
  private _driftFlag: HTMLElement;
  private _driftText: HTMLElement;
  private _throttle: FrameThrottle;
}

/** "input 8×8×1 uint8 · 10 classes · deployed 14:02". */
function detailsLabel(model: IModel): string {
  const parts: string[] = [];
  const shape = (model.input?.shape ?? []).slice(1);
  if (shape.length > 0) {
    parts.push(`input ${shape.map(size => size ?? '?').join('×')} ${model.input.dtype}`);
  }
  if (model.classes?.length) {
    parts.push(`${model.classes.length} classes`);
  }
  if (model.created) {
    parts.push(`deployed ${formatTime(model.created)}`);
  }
  if (model.restarts) {
    parts.push(`worker restarted ${model.restarts}×`);
  }
  return parts.join(' · ');
}

function legendItem(label: string, className: string): HTMLElement {
  const item = el('span', `lepton-lab-legend-item ${className}`);
  item.append(el('span', 'lepton-lab-legend-swatch'), el('span', '', label));
  return item;
}
