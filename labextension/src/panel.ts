/**
 * The "Lepton Lab" side panel.
 */
import { Widget } from '@lumino/widgets';

import { IServerStatus, requestAPI } from './api';

/** Left-area panel: server status now, the live job list later. */
export class LeptonLabPanel extends Widget {
  constructor() {
    super();
    this.id = 'lepton-lab-panel';
    this.addClass('lepton-lab-panel');
    this.title.caption = 'Lepton Lab';
    this._header = document.createElement('div');
    this._header.className = 'lepton-lab-panel-header';
    this._header.textContent = 'Lepton Lab';
    this._status = document.createElement('div');
    this._status.className = 'lepton-lab-status';
    this._status.textContent = 'Connecting…';
    this.node.append(this._header, this._status);
  }

  /** Ask the server for its status and show it. */
  async refresh(): Promise<void> {
    try {
      const status = await requestAPI<IServerStatus>('status');
      this._status.dataset.state = 'ok';
      this._status.replaceChildren(
        line('Lepton Lab', status.lepton_lab, 'lepton-lab-version'),
        line('TensorFlow', status.tensorflow ?? 'not installed'),
        line('Keras', status.keras ?? 'not installed'),
        line('Runs', status.runs_dir)
      );
    } catch (error) {
      this._status.dataset.state = 'error';
      this._status.textContent = `Lepton Lab server extension unreachable: ${error}`;
    }
  }

  protected onAfterAttach(): void {
    void this.refresh();
  }

  private _header: HTMLDivElement;
  private _status: HTMLDivElement;
}

function line(label: string, value: string, className = ''): HTMLElement {
  const row = document.createElement('div');
  row.className = `lepton-lab-kv ${className}`.trim();
  const key = document.createElement('span');
  key.className = 'lepton-lab-key';
  key.textContent = label;
  const val = document.createElement('span');
  val.className = 'lepton-lab-value';
  val.textContent = value;
  row.append(key, val);
  return row;
}
