/**
 * The panel's Models section: one row per deployed model (name, version, state, request rate,
 * p95 latency, drift flag; Open and Undeploy), live from the model's ModelsState.
 *
 * Rows are keyed by model name and updated in place (text only where it changed); renders are
 * coalesced with FrameThrottle, as the job list's are, since every serving model reports about
 * once a second.
 */
import { Signal } from '@lumino/signaling';

import { button, el, setText } from './dom';
import { IModel } from './modelpayloads';
import { ModelsState, driftFlag, stateTitle, summaryLabel, versionLabel } from './models';
import { FrameThrottle } from './throttle';

export interface IModelRowActions {
  /** Open the model view. */
  open: (name: string) => void;
  /** Resolves to false when the user decided not to undeploy after all. */
  undeploy: (name: string) => Promise<boolean>;
}

export class ModelRow {
  constructor(
    readonly name: string,
    private readonly _actions: IModelRowActions
  ) {
    // Not `lepton-lab-job`: the job list's lookups and counts must not see model rows.
    this.node = el('li', 'lepton-lab-model');
    this.node.dataset.modelName = name;
    const head = el('div', 'lepton-lab-job-head');
    const link = el('a', 'lepton-lab-job-name lepton-lab-model-name', name);
    link.setAttribute('role', 'button');
    link.tabIndex = 0;
    link.title = `Open the model view of ${name}: requests, latency, classes, drift`;
    link.addEventListener('click', () => this._actions.open(name));
    this._version = el('span', 'lepton-lab-job-tag lepton-lab-model-version');
    this._badge = el('span', 'lepton-lab-badge lepton-lab-model-state');
    head.append(link, this._version, this._badge);
    this._stats = el('div', 'lepton-lab-model-stats');
    this._drift = el('span', 'lepton-lab-model-drift');
    this._drift.title = 'Distance of recent predicted classes from the training split’s class distribution';
    this._error = el('div', 'lepton-lab-model-error');
    this._error.hidden = true;
    const actions = el('div', 'lepton-lab-job-actions');
    const open = button('Open', 'lepton-lab-open lepton-lab-model-open', 'Open the model view');
    open.addEventListener('click', () => this._actions.open(name));
    this._undeploy = button('Undeploy', 'lepton-lab-cancel lepton-lab-model-undeploy', 'Stop serving this model');
    this._undeploy.addEventListener('click', () => {
      this._undeploy.disabled = true;
      void this._actions.undeploy(name).then(asked => {
        if (!asked) {
          this._undeploy.disabled = false;
        }
      });
    });
    actions.append(this._drift, open, this._undeploy);
    this.node.append(head, this._stats, this._error, actions);
  }

  readonly node: HTMLElement;

  update(model: IModel): void {
    setText(this._version, versionLabel(model));
    this._version.title = model.run_id ? `from run ${model.run_id}` : '';
    setText(this._badge, model.state);
    this._badge.title = stateTitle(model);
    if (this.node.dataset.state !== model.state) {
      this.node.dataset.state = model.state;
      this._badge.dataset.status = model.state;
    }
    setText(this._stats, summaryLabel(model.summary));
    const flag = driftFlag(model.summary?.drift, model.summary?.drifting);
    setText(this._drift, flag.text);
    this._drift.dataset.drifting = String(flag.drifting);
    const error = model.state === 'failed' || model.state === 'restarting' ? (model.error ?? '') : '';
    this._error.hidden = !error;
    setText(this._error, error);
  }

  dispose(): void {
    this.node.remove();
  }

  private _version: HTMLElement;
  private _badge: HTMLElement;
  private _stats: HTMLElement;
  private _drift: HTMLElement;
  private _error: HTMLElement;
  private _undeploy: HTMLButtonElement;
}

/** The panel's Models section: a heading with the count, the rows, and what to do when empty. */
export class ModelsSection {
  constructor(
    private readonly _models: ModelsState,
    private readonly _actions: IModelRowActions
  ) {
    this.node = el('div', 'lepton-lab-models-section');
    const header = el('div', 'lepton-lab-section-title');
    this._title = el('span', '', 'Models');
    header.append(this._title);
    this._list = el('ul', 'lepton-lab-jobs lepton-lab-models');
    this._empty = el(
      'div',
      'lepton-lab-empty lepton-lab-models-empty',
      'No deployed models. Deploy a completed run from its job view (Export & deploy).'
    );
    this.node.append(header, this._list, this._empty);
    this.node.hidden = true;
    this._throttle = new FrameThrottle(() => this.render(), { minInterval: 200 });
    this._models.changed.connect(() => this._throttle.schedule(), this);
  }

  readonly node: HTMLElement;

  /** Bring the rows up to date now. */
  render(): void {
    // A server without deployment routes never sends a list: no section at all.
    this.node.hidden = !this._models.initialized;
    const models = this._models.list();
    setText(this._title, `Models (${models.length})`);
    const wanted = new Set(models.map(model => model.name));
    for (const [name, row] of this._rows) {
      if (!wanted.has(name)) {
        row.dispose();
        this._rows.delete(name);
      }
    }
    let previous: Element | null = null;
    for (const model of models) {
      let row = this._rows.get(model.name);
      if (!row) {
        row = new ModelRow(model.name, this._actions);
        this._rows.set(model.name, row);
      }
      row.update(model);
      const expected: Element | null = previous ? previous.nextElementSibling : this._list.firstElementChild;
      if (expected !== row.node) {
        this._list.insertBefore(row.node, expected);
      }
      previous = row.node;
    }
    this._empty.hidden = models.length > 0;
  }

  dispose(): void {
    Signal.disconnectReceiver(this);
    this._throttle.dispose();
    for (const row of this._rows.values()) {
      row.dispose();
    }
    this._rows.clear();
  }

  private _title: HTMLElement;
  private _list: HTMLElement;
  private _empty: HTMLElement;
  private _rows = new Map<string, ModelRow>();
  private _throttle: FrameThrottle;
}
