/**
 * The job view's "Export & deploy" section, for a completed run.
 *
 * Export: a format and quantization chooser → `POST jobs/{id}/exports` (the server runs the
 * exporter in a worker process and answers with the `export.json` once it has verified the
 * export in its own runtime); while it works the section says so with the time spent, then shows
 * the figures (size, accuracy and its change, agreement, latency) and, loudly, the warning of an
 * export outside its tolerance. The run's exports (`GET jobs/{id}/exports`) are listed below.
 * Deploy: `POST models {"run": id}` (a SavedModel is exported first if the run has none); the
 * model then shows in the panel's Models section, and a link opens its model view.
 */
import { Signal } from '@lumino/signaling';

import { bar, button, el, kv, messageOf, setText } from './dom';
import { LeptonModel } from './model';
import { deployModel, exportRun, listExports } from './modelclient';
import { ExportFormat, IExport, IModel, Quantize } from './modelpayloads';
import {
  FORMAT_LABELS,
  QUANTIZE_CHOICES,
  exportFigures,
  exportTitle,
  exportWarning,
  formatAccuracy,
  formatLatency,
  formatPoints,
  sortExports
} from './models';
import { formatBytes } from './format';
import { IJob } from './payloads';

/** Model names the server accepts (as its export names: `[a-z0-9_-]`). */
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

export interface IExportSectionOptions {
  model: LeptonModel;
  jobId: string;
  /** Open the model view of a deployed model. */
  openModel?: (name: string) => void;
}

export class ExportSection {
  constructor(options: IExportSectionOptions) {
    this._model = options.model;
    this.jobId = options.jobId;
    this._openModel = options.openModel ?? null;
    this.node = el('section', 'lepton-lab-section lepton-lab-jobview-exports');
    const body = el('div', 'lepton-lab-section-body');
    this.node.append(el('h3', 'lepton-lab-section-heading', 'Export & deploy'), body);
    this._unavailable = el('div', 'lepton-lab-muted', 'Available once training completes.');

    this._controls = el('div', 'lepton-lab-export-controls');
    this._format = document.createElement('select');
    this._format.className = 'lepton-lab-export-format';
    this._format.title = 'Export format';
    for (const format of Object.keys(FORMAT_LABELS) as ExportFormat[]) {
      this._format.append(option(format, FORMAT_LABELS[format]));
    }
    this._format.addEventListener('change', () => this._renderQuantize());
    this._quantize = document.createElement('select');
    this._quantize.className = 'lepton-lab-export-quantize';
    this._quantize.title = 'Quantization (int8 is calibrated on training images)';
    this._exportButton = button(
      'Export',
      'lepton-lab-export-button',
      'Export, then verify it in its own runtime on the test split'
    );
    this._exportButton.addEventListener('click', () => void this._export());
    this._name = document.createElement('input');
    this._name.className = 'lepton-lab-deploy-name';
    this._name.placeholder = 'model name (default: the run’s)';
    this._name.title = 'Name to serve the model under: lowercase letters, digits, - and _';
    this._deployButton = button(
      'Deploy',
      'lepton-lab-deploy-button',
      'Serve this run’s SavedModel under /lepton-lab/api/models/{name}'
    );
    this._deployButton.addEventListener('click', () => void this._deploy());
    const exportGroup = el('div', 'lepton-lab-export-group');
    exportGroup.append(el('span', 'lepton-lab-key', 'Export'), this._format, this._quantize, this._exportButton);
    const deployGroup = el('div', 'lepton-lab-export-group');
    deployGroup.append(el('span', 'lepton-lab-key', 'Deploy'), this._name, this._deployButton);
    this._controls.append(exportGroup, deployGroup);

    this._progress = el('div', 'lepton-lab-export-progress');
    this._progressText = el('span', 'lepton-lab-export-progress-text');
    this._progress.append(bar(null, 'lepton-lab-progress lepton-lab-indeterminate'), this._progressText);
    this._progress.hidden = true;
    this._result = el('div', 'lepton-lab-export-result');
    this._result.hidden = true;
    this._deployed = el('div', 'lepton-lab-deploy-result');
    this._deployed.hidden = true;
    this._error = el('div', 'lepton-lab-banner lepton-lab-export-error');
    this._error.dataset.kind = 'error';
    this._error.hidden = true;
    this._list = el('div', 'lepton-lab-export-list');

    this._available = el('div', 'lepton-lab-export-body');
    this._available.append(this._controls, this._progress, this._error, this._result, this._deployed, this._list);
    body.append(this._unavailable, this._available);
    this._available.hidden = true;
    this._renderQuantize();
    // The models deployed from this run, live (deployed here or elsewhere, state, undeployed).
    this._model.models.changed.connect(this._renderDeployed, this);
    this._renderDeployed();
  }

  readonly jobId: string;
  readonly node: HTMLElement;

  /** Show the controls once the run completed (and list its exports). */
  update(job: IJob): void {
    const completed = job.status === 'completed';
    this._unavailable.hidden = completed;
    this._available.hidden = !completed;
    if (completed && !this._listed) {
      this._listed = true;
      void this.refresh();
    }
  }

  /** Re-read the run's exports. */
  async refresh(): Promise<void> {
    try {
      this._renderList(await listExports(this._model.client, this.jobId));
    } catch (error) {
      this._list.replaceChildren(el('div', 'lepton-lab-muted', `Exports unavailable: ${messageOf(error)}`));
    }
  }

  dispose(): void {
    Signal.disconnectReceiver(this);
    this._stopTicker();
  }

  private _renderQuantize(): void {
    const format = this._format.value as ExportFormat;
    const before = this._quantize.value;
    const choices = QUANTIZE_CHOICES[format] ?? ['none'];
    this._quantize.replaceChildren(...choices.map(q => option(q, q === 'none' ? 'no quantization' : q)));
    this._quantize.value = choices.includes(before as Quantize) ? before : 'none';
    this._quantize.disabled = choices.length === 1;
  }

  private async _export(): Promise<void> {
    const format = this._format.value as ExportFormat;
    const quantize = this._quantize.value as Quantize;
    this._error.hidden = true;
    this._result.hidden = true;
    await this._busy(`Exporting ${exportTitle({ format, quantize })} and verifying it on the test split`, async () => {
      const exported = await exportRun(this._model.client, this.jobId, format, quantize);
      this._renderResult(exported);
      await this.refresh();
    });
  }

  private async _deploy(): Promise<void> {
    const name = this._name.value.trim();
    if (name && !NAME_PATTERN.test(name)) {
      this._showError(
        `"${name}" is not a model name: use lowercase letters, digits, - and _ (starting with a letter or digit).`
      );
      return;
    }
    this._error.hidden = true;
    await this._busy('Deploying (exporting a SavedModel first if the run has none)', async () => {
      const deployed = await deployModel(this._model.client, name ? { run: this.jobId, name } : { run: this.jobId });
      this._model.models.upsert(deployed); // shown by _renderDeployed
      await this.refresh();
    });
  }

  /** Run `action` with the buttons disabled and a ticking progress line. */
  private async _busy(text: string, action: () => Promise<void>): Promise<void> {
    this._exportButton.disabled = true;
    this._deployButton.disabled = true;
    this._progress.hidden = false;
    const started = Date.now();
    const tick = (): void => setText(this._progressText, `${text}… ${Math.round((Date.now() - started) / 1000)} s`);
    tick();
    this._stopTicker();
    this._ticker = setInterval(tick, 1000);
    try {
      await action();
    } catch (error) {
      this._showError(messageOf(error));
    } finally {
      this._stopTicker();
      this._progress.hidden = true;
      this._exportButton.disabled = false;
      this._deployButton.disabled = false;
    }
  }

  private _stopTicker(): void {
    if (this._ticker !== null) {
      clearInterval(this._ticker);
      this._ticker = null;
    }
  }

  private _renderResult(exported: IExport): void {
    const warning = exportWarning(exported);
    const card = el('div', 'lepton-lab-export-card');
    card.dataset.format = exported.format;
    card.dataset.quantize = exported.quantize;
    card.dataset.withinTolerance = String(exported.within_tolerance !== false);
    card.append(el('div', 'lepton-lab-export-card-title', `Exported ${exportTitle(exported)} → ${exported.path}`));
    if (warning) {
      const loud = el('div', 'lepton-lab-export-warning', `⚠ ${warning}`);
      loud.setAttribute('role', 'alert');
      card.append(loud);
    }
    for (const [label, value] of exportFigures(exported)) {
      card.append(kv(label, value, `lepton-lab-export-figure lepton-lab-export-${label.replace(/[^a-z]+/g, '-')}`));
    }
    this._result.replaceChildren(card);
    this._result.hidden = false;
  }

  /** Say which models serve this run, each with a link to its view and its predict endpoint. */
  private _renderDeployed(): void {
    const models = this._model.models.list().filter(model => model.run_id === this.jobId);
    // Models report about once a second: redraw (and replace the links) only when a line changes.
    const key = models.map(model => `${model.name} ${model.version} ${model.state}`).join('|');
    if (key === this._deployedKey) {
      return;
    }
    this._deployedKey = key;
    this._deployed.hidden = models.length === 0;
    this._deployed.replaceChildren(...models.map(model => this._deployedLine(model)));
  }

  private _deployedLine(model: IModel): HTMLElement {
    const item = el('div', 'lepton-lab-deploy-line');
    item.dataset.modelName = model.name;
    item.append(document.createTextNode(`Deployed as ${model.name} v${model.version} (${model.state}). `));
    if (this._openModel) {
      const link = el('a', 'lepton-lab-deploy-open', 'Open the model view');
      link.setAttribute('role', 'button');
      link.addEventListener('click', () => this._openModel?.(model.name));
      item.append(link);
    }
    item.append(el('code', 'lepton-lab-deploy-endpoint', `POST /lepton-lab/api/v1/models/${model.name}:predict`));
    return item;
  }

  private _renderList(exports: IExport[]): void {
    if (exports.length === 0) {
      this._list.replaceChildren(el('div', 'lepton-lab-muted', 'No exports yet.'));
      return;
    }
    const table = el('table', 'lepton-lab-table lepton-lab-exports');
    const head = el('tr', '');
    for (const heading of ['export', 'size', 'accuracy', 'change', 'agreement', 'latency b1', 'latency b32']) {
      head.append(el('th', '', heading));
    }
    table.append(el('thead', ''), el('tbody', ''));
    table.tHead!.append(head);
    for (const exported of sortExports(exports)) {
      const row = el('tr', 'lepton-lab-export-row');
      row.dataset.format = exported.format;
      row.dataset.quantize = exported.quantize;
      const warning = exportWarning(exported);
      row.dataset.withinTolerance = String(!warning);
      if (warning) {
        row.title = warning;
      }
      const cells = [
        `${warning ? '⚠ ' : ''}${exportTitle(exported)}`,
        formatBytes(exported.size_bytes),
        formatAccuracy(exported.test_accuracy),
        formatPoints(exported.accuracy_change),
        typeof exported.agreement === 'number' ? `${(exported.agreement * 100).toFixed(1)}%` : '–',
        formatLatency(exported.latency_ms?.batch_1),
        formatLatency(exported.latency_ms?.batch_32)
      ];
      cells.forEach((text, index) => row.append(el('td', index === 0 ? '' : 'lepton-lab-num', text)));
      table.tBodies[0].append(row);
    }
    this._list.replaceChildren(table);
  }

  private _showError(text: string): void {
    this._error.hidden = false;
    this._error.textContent = text;
  }

  private _model: LeptonModel;
  private _openModel: ((name: string) => void) | null;
  private _listed = false;
  private _deployedKey: string | null = null;
  private _ticker: ReturnType<typeof setInterval> | null = null;
  private _unavailable: HTMLElement;
  private _available: HTMLElement;
  private _controls: HTMLElement;
  private _format: HTMLSelectElement;
  private _quantize: HTMLSelectElement;
  private _exportButton: HTMLButtonElement;
  private _name: HTMLInputElement;
  private _deployButton: HTMLButtonElement;
  private _progress: HTMLElement;
  private _progressText: HTMLElement;
  private _result: HTMLElement;
  private _deployed: HTMLElement;
  private _error: HTMLElement;
  private _list: HTMLElement;
}

function option(value: string, label: string): HTMLOptionElement {
  const node = document.createElement('option');
  node.value = value;
  node.textContent = label;
  return node;
}
