/**
 * The notebook's live plot: an anywidget front end drawing the Lab job view's charts.
 *
 * The kernel side (`lepton_lab/widgets/live_chart.py`) sends the run's events, the same
 * records `events.jsonl` holds, in two ways:
 *
 * - the `history` trait: a thinned copy of every event so far (each with a `seq` number),
 *   refreshed every few seconds, at epoch ends and status changes; a view that appears
 *   mid-run (a page reload, a second view) starts from it;
 * - custom messages `{type: "events", events}` with the events since the last send, at most
 *   four times a second.
 *
 * Both feed one `JobMetrics` (the panel's fold of events into bounded curves, epoch, ETA) and
 * `LineChart`s, so a notebook and the panel agree on what a run is doing. Events carry
 * increasing `seq` numbers and a view applies each at most once, whatever order the two
 * channels deliver them in.
 *
 * Bundled with esbuild into `lepton_lab/widgets/static/live_plot.js` (no JupyterLab imports).
 */
import { jobCharts, LineChart } from './chart';
import { formatDuration, metricsLabel, pickTrain } from './format';
import { JobMetrics } from './metrics';
import type { IJobEvent } from './payloads';

/** What anywidget hands `render`: the part of the widget model this view uses. */
interface IAnyModel {
  get(name: string): unknown;
  on(name: string, callback: (...args: any[]) => void): void;
  off(name?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

type SeqEvent = IJobEvent & { seq?: number };

/** Statuses after which no ETA is shown. */
const FINAL = ['completed', 'failed', 'cancelled', 'interrupted', 'finished', 'pruned'];

class LivePlotView {
  constructor(
    private readonly _model: IAnyModel,
    readonly node: HTMLElement
  ) {
    node.classList.add('lepton-lab-liveplot');
    this._title = document.createElement('div');
    this._title.className = 'lepton-lab-liveplot-title';
    const progressRow = document.createElement('div');
    progressRow.className = 'lepton-lab-liveplot-progress';
    this._bar = document.createElement('progress');
    this._bar.max = 1;
    this._text = document.createElement('span');
    this._text.className = 'lepton-lab-liveplot-text';
    progressRow.append(this._bar, this._text);
    const charts = document.createElement('div');
    charts.className = 'lepton-lab-charts';
    // The Lab job view's charts; redrawn at most 4 times a second, as the kernel sends.
    const made = jobCharts(this._metrics.series, 250);
    this._loss = made.loss;
    this._accuracy = made.accuracy;
    charts.append(this._loss.node, this._accuracy.node);
    node.append(this._title, progressRow, charts);
    this._onHistory = () => this._apply((this._model.get('history') as SeqEvent[]) ?? []);
    this._onMessage = (message: { type?: string; events?: SeqEvent[] }) => {
      if (message && message.type === 'events' && Array.isArray(message.events)) {
        this._apply(message.events);
      }
    };
    this._onTitle = () => this._renderText();
    _model.on('change:history', this._onHistory);
    _model.on('msg:custom', this._onMessage);
    _model.on('change:title', this._onTitle);
    this._onHistory();
    this._renderText();
  }

  /** Apply the events not applied yet (by `seq`), then redraw what changed. */
  private _apply(events: readonly SeqEvent[]): void {
    const fresh = events.filter(event => typeof event.seq !== 'number' || event.seq > this._seq);
    if (fresh.length === 0) {
      return;
    }
    for (const event of fresh) {
      if (typeof event.seq === 'number') {
        this._seq = Math.max(this._seq, event.seq);
      }
    }
    this._metrics.apply(fresh);
    this.node.dataset.events = String(this._metrics.eventCount);
    this.node.dataset.seq = String(this._seq);
    this.node.dataset.step = String(this._metrics.step);
    this._loss.invalidate();
    this._accuracy.invalidate();
    this._renderText();
  }

  private _renderText(): void {
    const m = this._metrics;
    this._title.textContent = String(this._model.get('title') ?? '');
    this._title.hidden = !this._title.textContent;
    const status = m.status ?? (m.eventCount > 0 ? 'running' : 'waiting for the first batch');
    const parts: string[] = [status];
    if (m.epochs) {
      // The panel's definition: the epoch in progress while training, the epochs done after.
      parts.push(`epoch ${Math.min(m.currentEpoch(), m.epochs)}/${m.epochs}`);
    }
    if (m.step) {
      parts.push(m.totalSteps ? `step ${m.step}/${m.totalSteps}` : `step ${m.step}`);
    }
    const elapsed = m.elapsedSeconds(); // every session of a resumed run, as the panel counts
    if (elapsed !== null) {
      parts.push(`${formatDuration(elapsed)} elapsed`);
    }
    const eta = FINAL.includes(status) ? null : m.etaSeconds();
    if (eta !== null) {
      parts.push(`ETA ${formatDuration(eta)}`);
    }
    const shown = { ...(m.lastEpoch ?? {}), ...(FINAL.includes(status) ? {} : pickTrain(m.latest)) };
    const label = metricsLabel(shown);
    if (label) {
      parts.push(label);
    }
    if (m.evaluation) {
      for (const [name, value] of Object.entries(m.evaluation)) {
        parts.push(`${name} ${typeof value === 'number' ? Number(value.toPrecision(4)) : value}`);
      }
    }
    if (m.error) {
      parts.push(`error: ${m.error}`);
    }
    this._text.textContent = parts.join(' · ');
    const fraction = m.fraction();
    if (fraction === null) {
      this._bar.removeAttribute('value');
    } else {
      this._bar.value = fraction;
    }
    this.node.dataset.status = status;
    this.node.classList.toggle('lepton-lab-liveplot-failed', status === 'failed' || !!m.error);
  }

  dispose(): void {
    this._model.off('change:history', this._onHistory);
    this._model.off('msg:custom', this._onMessage);
    this._model.off('change:title', this._onTitle);
    this._loss.dispose();
    this._accuracy.dispose();
  }

  private _metrics = new JobMetrics({ batchPoints: 600 });
  private _seq = 0;
  private _title: HTMLDivElement;
  private _bar: HTMLProgressElement;
  private _text: HTMLSpanElement;
  private _loss: LineChart;
  private _accuracy: LineChart;
  private _onHistory: () => void;
  private _onMessage: (message: { type?: string; events?: SeqEvent[] }) => void;
  private _onTitle: () => void;
}

/** anywidget's entry point: draw into `el`, return the clean-up. */
function render({ model, el }: { model: IAnyModel; el: HTMLElement }): () => void {
  const view = new LivePlotView(model, el);
  return () => view.dispose();
}

export default { render };
