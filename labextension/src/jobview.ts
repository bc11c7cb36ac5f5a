/**
 * The job view: one job in the main area, live.
 *
 * Loss and accuracy charts (train per batch and per epoch, validation per
 * epoch) redraw at most every 100 ms from bounded series; the header (status,
 * progress, latest step, metrics) updates once per animation frame. Below:
 * the job's spec and model, its evaluation, links to its run folder, report
 * and TensorBoard logs, and a tail of its worker log.
 */
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { jobCharts, LineChart } from './chart';
import { ApiError } from './client';
import { confirmCancel } from './dialogs';
import { bar, button, el, kv, messageOf, setBar, setText } from './dom';
import {
  formatDuration,
  formatMetric,
  formatTime,
  jobTag,
  latestMetrics,
  metricsLabel,
  progressLabel,
  progressOf,
  reportHint,
  shortId,
  stepLabel,
  summaryCells
} from './format';
import { ExportSection } from './exportsection';
import { showStatus } from './jobstatus';
import { readableLog } from './logtext';
import { JobFeed, LeptonModel } from './model';
import { RunNote } from './runactions';
import { placementLabel } from './nodes';
import { inputWaitLabel, runtimeRows } from './runtimeinfo';
import { FrameThrottle } from './throttle';
import {
  IJob,
  IJobSpec,
  IRuntime,
  ISpecDocument,
  ISummaryRow,
  isFinished
} from './payloads';
import { sweepIdOf, trialNumberOf } from './sweeppayloads';
import { relativePath } from './urls';

/** Lines of worker.log shown. */
const LOG_LINES = 200;
/** How often the log tail is re-read while the job runs and the view is visible (ms). */
const LOG_INTERVAL = 2000;

export interface IJobViewOptions {
  model: LeptonModel;
  jobId: string;
  /** Absolute server root ('' if unknown): run folders inside it open in the file browser. */
  serverRoot: string;
  /** Show a folder (relative to the server root) in the file browser. */
  showFolder: (path: string) => void;
  /** Open the sweep view of the sweep this job is a trial of. */
  openSweep?: (id: string) => void;
  /** Open the model view of a deployed model (after Deploy). */
  openModel?: (name: string) => void;
}

export class JobView extends Widget {
  constructor(options: IJobViewOptions) {
    super();
    this._model = options.model;
    this.jobId = options.jobId;
    this._serverRoot = options.serverRoot;
    this._showFolder = options.showFolder;
    this._openSweep = options.openSweep ?? null;
    this.addClass('lepton-lab-jobview');
    this.node.dataset.jobId = this.jobId;
    this.title.label = this.jobId;
    this.title.caption = `Lepton Lab job ${this.jobId}`;

    // Header.
    const header = el('div', 'lepton-lab-jobview-header');
    const titleRow = el('div', 'lepton-lab-jobview-title');
    this._name = el('h2', 'lepton-lab-jobview-name', this.jobId);
    this._badge = el('span', 'lepton-lab-badge');
    this._origin = el('span', 'lepton-lab-origin');
    this._origin.hidden = true;
    this._tag = el('span', 'lepton-lab-job-tag');
    this._tag.title = this.jobId;
    this._cancel = button('Cancel', 'lepton-lab-cancel', 'Cancel this job (it can be resumed later)');
    this._cancel.addEventListener('click', () => this._act('cancel'));
    this._resume = button('Resume', 'lepton-lab-resume', 'Continue from the last checkpoint');
    this._resume.addEventListener('click', () => this._act('resume'));
    // A sweep's trial links back to its sweep.
    this._sweepLink = el('a', 'lepton-lab-jobview-sweep');
    this._sweepLink.setAttribute('role', 'button');
    this._sweepLink.hidden = true;
    this._sweepLink.addEventListener('click', () => {
      const id = this._sweepLink.dataset.sweepId;
      if (id) {
        this._openSweep?.(id);
      }
    });
    titleRow.append(this._name, this._badge, this._origin, this._tag, this._sweepLink, this._cancel, this._resume);
    this._bar = bar(null, 'lepton-lab-progress');
    const progressRow = el('div', 'lepton-lab-jobview-progress');
    this._progress = el('span', 'lepton-lab-jobview-epoch');
    this._step = el('span', 'lepton-lab-latest-step');
    this._times = el('span', 'lepton-lab-jobview-times');
    this._inputWait = el('span', 'lepton-lab-input-wait');
    this._inputWait.title = 'Time the latest epoch spent waiting for data: when it is large, data is the limit';
    // Where it ran: a cluster node, and every GPU when it holds several.
    this._placement = el('span', 'lepton-lab-jobview-placement');
    progressRow.append(this._progress, this._step, this._placement, this._times, this._inputWait);
    this._metrics = el('div', 'lepton-lab-jobview-metrics');
    this._error = el('pre', 'lepton-lab-jobview-error');
    this._error.hidden = true;
    this._message = el('div', 'lepton-lab-banner');
    this._message.hidden = true;
    this._note = new RunNote(this._model);
    header.append(titleRow, this._note.node, this._bar, progressRow, this._metrics, this._error, this._message);

    // Charts.
    const charts = el('div', 'lepton-lab-charts');
    this._feed = this._model.feed(this.jobId);
    const made = jobCharts(this._feed.metrics.series);
    this._lossChart = made.loss;
    this._accuracyChart = made.accuracy;
    charts.append(this._lossChart.node, this._accuracyChart.node);

    // Details.
    const details = el('div', 'lepton-lab-jobview-details');
    this._spec = section('Spec', 'lepton-lab-jobview-spec');
    this._modelSection = section('Model', 'lepton-lab-jobview-model');
    this._evaluation = section('Evaluation', 'lepton-lab-jobview-evaluation');
    this._links = section('Files', 'lepton-lab-jobview-links');
    this._exports = new ExportSection({ model: this._model, jobId: this.jobId, openModel: options.openModel });
    details.append(
      this._spec.node,
      this._modelSection.node,
      this._evaluation.node,
      this._links.node,
      this._exports.node
    );
    const logSection = section('Log (worker.log)', 'lepton-lab-jobview-log');
    this._log = el('pre', 'lepton-lab-log', 'Loading…');
    logSection.body.append(this._log);

    this.node.append(header, charts, details, logSection.node);

    this._release = this._feed.acquire();
    this._headerThrottle = new FrameThrottle(() => this._renderHeader());
    this._feed.changed.connect(this._onEvents, this);
    this._model.changed.connect(this._onJobChanged, this);
    void this.reload();
  }

  readonly jobId: string;

  /** Re-read the job record, spec, evaluation and log. */
  async reload(): Promise<void> {
    try {
      const job = await this._model.client.job(this.jobId);
      this._model.state.upsert(job);
      this._fullJob = job;
      this._renderStatic(job);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        // A view restored from another server's workspace, or a deleted run: stop following it.
        this._showMessage(`There is no job ${this.jobId} on this server.`);
        this._release();
        this._release = () => undefined;
        return;
      }
      this._showMessage(`Could not load job ${this.jobId}: ${messageOf(error)}`);
    }
    this._onJobChanged();
    void this._loadLog();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    Signal.disconnectReceiver(this);
    this._release();
    this._headerThrottle.dispose();
    this._lossChart.dispose();
    this._accuracyChart.dispose();
    this._exports.dispose();
    this._stopLogTimer();
    super.dispose();
  }

  protected onAfterShow(): void {
    this._lossChart.invalidate();
    this._accuracyChart.invalidate();
    this._headerThrottle.schedule();
    this._startLogTimer();
  }

  protected onBeforeHide(): void {
    this._stopLogTimer();
  }

  protected onAfterAttach(): void {
    this._startLogTimer();
  }

  protected onBeforeDetach(): void {
    this._stopLogTimer();
  }

  private _job(): IJob | undefined {
    return this._model.state.get(this.jobId) ?? this._fullJob ?? undefined;
  }

  private _onEvents(): void {
    this._lossChart.invalidate();
    this._accuracyChart.invalidate();
    this._headerThrottle.schedule();
  }

  private _onJobChanged(): void {
    const job = this._job();
    if (!job) {
      return;
    }
    if (this._lastStatus !== null && this._lastStatus !== job.status) {
      // A finished job gets its evaluation and final log; a resumed one its new state.
      void this._refreshAfterStatus(job.status);
    }
    this._lastStatus = job.status;
    this._headerThrottle.schedule();
    if (job.status === 'running') {
      this._startLogTimer();
    }
  }

  private async _refreshAfterStatus(status: string): Promise<void> {
    if (isFinished(status)) {
      await this._feed.settled(3000);
    }
    try {
      this._fullJob = await this._model.client.job(this.jobId);
      this._renderStatic(this._fullJob);
    } catch {
      // The header still shows the status from the stream.
    }
    void this._loadLog();
  }

  private _renderHeader(): void {
    const job = this._job();
    if (!job || this.isDisposed) {
      return;
    }
    const metrics = this._feed.metrics;
    const name = job.name || job.spec?.name || job.id;
    setText(this._name, name);
    this._note.update(job, this._model.state.initialized && !this._model.state.get(this.jobId));
    // The short id tells apart the tabs of two jobs with one name.
    const label = name === job.id ? name : `${name} · ${shortId(job.id)}`;
    if (this.title.label !== label) {
      this.title.label = label;
    }
    setText(this._tag, jobTag(job));
    this._renderSweepLink(job);
    showStatus(
      { node: this.node, badge: this._badge, origin: this._origin, cancel: this._cancel, resume: this._resume },
      job
    );
    const now = Date.now() / 1000;
    const progress = progressOf(job, metrics, now);
    setBar(this._bar, progress.fraction);
    setText(this._progress, progressLabel(progress, job.status) || (job.status === 'queued' ? 'queued' : ''));
    setText(this._step, stepLabel(progress));
    this._step.dataset.step = String(progress.step ?? '');
    // Every session of a resumed run counts (its record's `started` is the latest session's).
    const running = job.status === 'running';
    const elapsed =
      metrics.eventCount > 0 ? metrics.elapsedSeconds(running ? now : undefined) : job.started ? elapsedSeconds(job) : null;
    setText(
      this._times,
      [job.created ? `created ${formatTime(job.created)}` : '', elapsed !== null ? `ran ${formatDuration(elapsed)}` : '']
        .filter(Boolean)
        .join(' · ')
    );
    setText(this._metrics, metricsLabel(latestMetrics(job, metrics)));
    setText(this._placement, placementLabel(job));
    this._placement.title = job.node ? `cluster node ${job.node}` : '';
    setText(this._inputWait, inputWaitLabel(metrics.lastEpoch));
    const error = job.status === 'failed' ? job.error || metrics.error || '' : '';
    this._error.hidden = !error;
    setText(this._error, error);
  }

  private _renderSweepLink(job: IJob): void {
    const sweepId = sweepIdOf(job);
    this._sweepLink.hidden = sweepId === null || !this._openSweep;
    if (sweepId === null) {
      return;
    }
    const number = trialNumberOf(job);
    const sweepName = this._model.sweeps.get(sweepId)?.name ?? sweepId;
    this._sweepLink.dataset.sweepId = sweepId;
    setText(this._sweepLink, `${number === null ? 'trial' : `trial #${number}`} of sweep ${sweepName}`);
    this._sweepLink.title = `Open the sweep view of ${sweepId}`;
  }

  /** Parts that change only with the status: spec, model, evaluation, links. */
  private _renderStatic(job: IJob): void {
    this._renderSpec(job.spec ?? null);
    this._renderModel(job.spec ?? null, null);
    this._renderLinks(job);
    this._exports.update(job);
    void this._loadSpecDocument(job);
    if (job.status === 'completed') {
      void this._loadEvaluation();
    } else {
      this._evaluation.body.replaceChildren(el('div', 'lepton-lab-muted', 'Written when training completes.'));
    }
  }

  /** `spec.json` adds what the runner chose (device, steps, examples) and the versions used. */
  private async _loadSpecDocument(job: IJob): Promise<void> {
    let document: ISpecDocument;
    try {
      document = JSON.parse(await this._model.client.artifactText(this.jobId, 'spec.json'));
    } catch {
      return; // the spec from the job record is shown already
    }
    const spec = job.spec ?? document;
    this._renderSpec(spec, document.runtime, document.versions);
    this._renderModel(spec, document.runtime?.summary ?? null);
  }

  private _renderSpec(
    spec: IJobSpec | null,
    runtime?: IRuntime,
    versions?: Record<string, string | null>
  ): void {
    if (!spec) {
      this._spec.body.replaceChildren(el('div', 'lepton-lab-muted', 'Spec not available.'));
      return;
    }
    const rows: HTMLElement[] = [];
    const dataset = spec.dataset;
    rows.push(kv('dataset', dataset.name));
    for (const [key, value] of Object.entries(dataset)) {
      if (key !== 'name' && value !== null && value !== undefined) {
        rows.push(kv(`  ${key}`, String(value)));
      }
    }
    for (const [key, value] of Object.entries(spec.train ?? {})) {
      if (value !== null && value !== undefined) {
        rows.push(kv(key, String(value)));
      }
    }
    const ops = spec.augment?.ops ?? [];
    rows.push(
      kv(
        'augment',
        ops.length === 0
          ? 'none'
          : ops
              .map(op => {
                const { op: name, ...args } = op as unknown as Record<string, unknown>;
                const text = Object.entries(args)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ');
                return text ? `${name}(${text})` : String(name);
              })
              .join(' → ')
      )
    );
    if (spec.tags && spec.tags.length > 0) {
      rows.push(kv('tags', spec.tags.join(', ')));
    }
    if (runtime) {
      const examples = runtime.examples
        ? Object.entries(runtime.examples)
            .map(([split, count]) => `${count} ${split}`)
            .join(' · ')
        : '';
      if (examples) {
        rows.push(kv('examples', examples, 'lepton-lab-runtime'));
      }
      for (const [label, text] of runtimeRows(runtime)) {
        rows.push(kv(label, text, `lepton-lab-runtime lepton-lab-runtime-${label}`));
      }
    }
    if (versions) {
      const text = ['lepton_lab', 'keras', 'tensorflow']
        .filter(name => versions[name])
        .map(name => `${name} ${versions[name]}`)
        .join(' · ');
      if (text) {
        rows.push(kv('versions', text));
      }
    }
    this._spec.body.replaceChildren(...rows);
  }

  private _renderModel(spec: IJobSpec | null, summary: ISummaryRow[] | null): void {
    const body = this._modelSection.body;
    if (summary && summary.length > 0) {
      const table = el('table', 'lepton-lab-table lepton-lab-summary');
      const head = el('tr', '');
      for (const [text, className] of HEADINGS) {
        head.append(el('th', className, text));
      }
      table.append(head);
      let total = 0;
      for (const row of summary) {
        total += row.params;
        const tr = el('tr', '');
        summaryCells(row).forEach((text, index) => tr.append(el('td', HEADINGS[index][1], text)));
        table.append(tr);
      }
      body.replaceChildren(table, el('div', 'lepton-lab-muted', `${total.toLocaleString('en-US')} parameters`));
      return;
    }
    const model = spec?.model;
    if (!model) {
      body.replaceChildren(el('div', 'lepton-lab-muted', 'Model not available.'));
      return;
    }
    if (model.preset) {
      body.replaceChildren(kv('preset', model.preset));
      return;
    }
    const list = el('ol', 'lepton-lab-layers');
    for (const layer of model.layers ?? []) {
      const { type, ...args } = layer;
      const text = Object.entries(args)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(', ');
      list.append(el('li', '', `${type}(${text})`));
    }
    body.replaceChildren(list);
  }

  private async _loadEvaluation(): Promise<void> {
    try {
      const evaluation = await this._model.client.evaluation(this.jobId);
      const rows: HTMLElement[] = [];
      for (const key of ['accuracy', 'loss', 'count']) {
        const value = evaluation[key];
        if (typeof value === 'number') {
          rows.push(kv(`test ${key}`, key === 'count' ? String(value) : formatMetric(value)));
        }
      }
      const macro = evaluation.macro as Record<string, unknown> | undefined;
      if (typeof macro?.f1 === 'number') {
        rows.push(kv('macro F1', formatMetric(macro.f1)));
      }
      this._evaluation.body.replaceChildren(
        ...(rows.length > 0 ? rows : [el('div', 'lepton-lab-muted', 'No test metrics.')])
      );
    } catch (error) {
      this._evaluation.body.replaceChildren(el('div', 'lepton-lab-muted', messageOf(error)));
    }
  }

  private _renderLinks(job: IJob): void {
    const body = this._links.body;
    const runDir = job.run_dir ?? '';
    const nodes: HTMLElement[] = [];
    if (runDir) {
      nodes.push(this._pathRow('Run folder', runDir, 'lepton-lab-link-run'));
      nodes.push(this._pathRow('TensorBoard logs', `${runDir}/tensorboard`, 'lepton-lab-link-tensorboard', true));
    }
    const actions = el('div', 'lepton-lab-link-actions');
    const report = button('Open report', 'lepton-lab-link-report', 'Open report.html in a new browser tab');
    report.addEventListener('click', () => void this._openArtifact('report.html', 'text/html'));
    const log = button('Full log', 'lepton-lab-link-log', 'Open worker.log in a new browser tab');
    log.addEventListener('click', () => void this._openArtifact('worker.log', 'text/plain'));
    actions.append(report, log);
    nodes.push(actions);
    this._reportHint = el('div', 'lepton-lab-report-hint');
    this._reportHint.hidden = true;
    nodes.push(this._reportHint);
    body.replaceChildren(...nodes);
  }

  /** Say plainly how to make the report of a run that has none (instead of an HTTP 404). */
  private _showReportHint(job: IJob): void {
    const hint = reportHint(job);
    const code = (text: string, label: string): HTMLElement => {
      const row = el('div', 'lepton-lab-hint-code');
      row.append(el('pre', '', text));
      const copy = button('Copy', 'lepton-lab-copy', `Copy the ${label}`);
      copy.addEventListener('click', () => {
        void navigator.clipboard?.writeText(text).then(
          () => setText(copy, 'Copied'),
          () => setText(copy, 'Copy failed')
        );
      });
      row.append(copy);
      return row;
    };
    this._reportHint.replaceChildren(
      el('div', '', hint.text),
      code(hint.python, 'notebook code'),
      el('div', 'lepton-lab-muted', 'or in a terminal:'),
      code(hint.shell, 'command')
    );
    this._reportHint.hidden = false;
  }

  private _pathRow(label: string, path: string, className: string, tensorboard = false): HTMLElement {
    const row = el('div', `lepton-lab-path ${className}`);
    row.append(el('span', 'lepton-lab-key', label));
    // Clipped at the start (CSS direction: rtl); the marks keep the slashes where they belong.
    const code = el('code', 'lepton-lab-path-value', `\u200e${path}\u200e`);
    code.title = path;
    row.append(code);
    const relative = this._serverRoot ? relativePath(this._serverRoot, path) : null;
    if (relative !== null) {
      const show = button('Show', 'lepton-lab-show-folder', 'Show this folder in the file browser');
      show.addEventListener('click', () => this._showFolder(relative));
      row.append(show);
    }
    const copyText = tensorboard ? `tensorboard --logdir "${path}"` : path;
    const copy = button('Copy', 'lepton-lab-copy', tensorboard ? `Copy: ${copyText}` : 'Copy the path');
    copy.addEventListener('click', () => {
      void navigator.clipboard?.writeText(copyText).then(
        () => setText(copy, 'Copied'),
        () => setText(copy, 'Copy failed')
      );
    });
    row.append(copy);
    return row;
  }

  /** Fetch an artifact with the server's authentication and show it in a new tab. */
  private async _openArtifact(name: string, type: string): Promise<void> {
    // Open the tab within the click's user activation; fill it once the file arrives.
    const tab = window.open('', '_blank');
    if (name === 'report.html') {
      this._reportHint.hidden = true;
    }
    try {
      const text = await this._model.client.artifactText(this.jobId, name);
      const url = URL.createObjectURL(new Blob([text], { type }));
      if (tab) {
        tab.location.href = url;
      } else {
        window.open(url, '_blank');
      }
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      tab?.close();
      const job = this._job();
      if (error instanceof ApiError && error.status === 404 && job) {
        if (name === 'report.html') {
          this._showReportHint(job);
        } else {
          this._showMessage(`This run has no ${name} yet.`);
        }
        return;
      }
      this._showMessage(`Could not open ${name}: ${messageOf(error)}`);
    }
  }

  private async _loadLog(): Promise<void> {
    if (this._logLoading) {
      return;
    }
    this._logLoading = true;
    try {
      const text = readableLog(await this._model.client.artifactText(this.jobId, 'worker.log'));
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') {
        lines.pop();
      }
      const tail = lines.slice(-LOG_LINES).join('\n');
      const stick = this._log.scrollTop + this._log.clientHeight >= this._log.scrollHeight - 4;
      setText(this._log, lines.length > LOG_LINES ? `… (${lines.length - LOG_LINES} earlier lines)\n${tail}` : tail);
      if (stick) {
        this._log.scrollTop = this._log.scrollHeight;
      }
    } catch (error) {
      const logs = this._feed.metrics.logs;
      const missing = error instanceof ApiError && error.status === 404;
      const none = missing ? 'No log yet.' : `No log yet (${messageOf(error)}).`;
      setText(this._log, logs.length > 0 ? readableLog(logs.join('\n')) : none);
    } finally {
      this._logLoading = false;
    }
  }

  private _startLogTimer(): void {
    const job = this._job();
    if (this._logTimer !== null || !job || job.status !== 'running' || !this.isVisible) {
      return;
    }
    this._logTimer = setInterval(() => {
      const current = this._job();
      if (!current || current.status !== 'running') {
        this._stopLogTimer();
      }
      void this._loadLog();
    }, LOG_INTERVAL);
  }

  private _stopLogTimer(): void {
    if (this._logTimer !== null) {
      clearInterval(this._logTimer);
      this._logTimer = null;
    }
  }

  private async _act(action: 'cancel' | 'resume'): Promise<void> {
    const target = action === 'cancel' ? this._cancel : this._resume;
    target.disabled = true;
    const job = this._job();
    if (action === 'cancel' && job && !(await confirmCancel(job))) {
      target.disabled = false;
      return;
    }
    try {
      if (action === 'cancel') {
        await this._model.cancel(this.jobId);
      } else {
        await this._model.resume(this.jobId);
      }
      this._message.hidden = true;
    } catch (error) {
      target.disabled = false;
      this._showMessage(messageOf(error));
    }
  }

  private _showMessage(text: string): void {
    this._message.hidden = false;
    this._message.textContent = text;
  }

  private _model: LeptonModel;
  private _serverRoot: string;
  private _showFolder: (path: string) => void;
  private _openSweep: ((id: string) => void) | null;
  private _sweepLink: HTMLElement;
  private _feed: JobFeed;
  private _release: () => void;
  private _fullJob: IJob | null = null;
  private _lastStatus: string | null = null;
  private _name: HTMLElement;
  private _badge: HTMLElement;
  private _origin: HTMLElement;
  private _tag: HTMLElement;
  private _cancel: HTMLButtonElement;
  private _resume: HTMLButtonElement;
  private _bar: HTMLElement;
  private _progress: HTMLElement;
  private _step: HTMLElement;
  private _times: HTMLElement;
  private _inputWait: HTMLElement;
  private _placement: HTMLElement;
  private _metrics: HTMLElement;
  private _error: HTMLElement;
  private _message: HTMLElement;
  private _note: RunNote;
  private _lossChart: LineChart;
  private _accuracyChart: LineChart;
  private _spec: ISection;
  private _modelSection: ISection;
  private _evaluation: ISection;
  private _links: ISection;
  private _exports: ExportSection;
  private _reportHint: HTMLElement = el('div', 'lepton-lab-report-hint');
  private _log: HTMLElement;
  private _headerThrottle: FrameThrottle;
  private _logTimer: ReturnType<typeof setInterval> | null = null;
  private _logLoading = false;
}

/** Columns of the model table: heading and cell class. */
const HEADINGS: [string, string][] = [
  ['#', 'lepton-lab-num'],
  ['type', 'lepton-lab-layer-type'],
  ['settings', ''],
  ['output shape', ''],
  ['params', 'lepton-lab-num']
];

interface ISection {
  node: HTMLElement;
  body: HTMLElement;
}

function section(title: string, className: string): ISection {
  const node = el('section', `lepton-lab-section ${className}`);
  const body = el('div', 'lepton-lab-section-body');
  node.append(el('h3', 'lepton-lab-section-heading', title), body);
  return { node, body };
}

function elapsedSeconds(job: IJob): number | null {
  const start = Date.parse(job.started ?? '');
  if (Number.isNaN(start)) {
    return null;
  }
  const end = job.finished && isFinished(job.status) ? Date.parse(job.finished) : Date.now();
  return Number.isNaN(end) ? null : Math.max(0, (end - start) / 1000);
}
