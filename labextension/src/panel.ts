/**
 * The "Lepton Lab" side panel: every job on this server, live, and the devices.
 *
 * A sweep's trials are grouped under one expandable sweep row. Rows are keyed
 * by job (or sweep) id and updated in place (text only where it changed);
 * renders are coalesced with FrameThrottle, so a fast job does not make the
 * panel redraw more than a few times a second.
 */
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { confirmCancel, confirmCancelSweep, confirmUndeploy } from './dialogs';
import { bar, button, el, kv, messageOf } from './dom';
import { deviceLabel, formatBytes, formatPercent } from './format';
import { FilterBox } from './filterbox';
import { filterJobs } from './jobfilter';
import { JobRow } from './jobrow';
import { JobFilter } from './jobs';
import { LeptonModel } from './model';
import { ModelsSection } from './modelrow';
import { INodeRow, nodeRows } from './nodes';
import { groupEntries } from './sweeps';
import { SweepRow } from './sweeprow';
import { FrameThrottle } from './throttle';
import { IClusterNode, IDevice, IJob, IServerStatus, JOB_STATUSES } from './payloads';

/** Finished jobs near the top of the list whose curves are loaded for their sparklines. */
const SPARKLINE_ROWS = 12;
/** How often the devices list is re-read while the panel is visible (ms). */
const DEVICES_INTERVAL = 5000;

export interface IPanelOptions {
  model: LeptonModel;
  /** Open the job view of a job. */
  openJob: (id: string) => void;
  /** Open the sweep view of a sweep. */
  openSweep: (id: string) => void;
  /** Open the model view of a deployed model. */
  openModel?: (name: string) => void;
}

export class LeptonLabPanel extends Widget {
  constructor(options: IPanelOptions) {
    super();
    this._model = options.model;
    this._openJob = options.openJob;
    this._openSweep = options.openSweep;
    this.id = 'lepton-lab-panel';
    this.addClass('lepton-lab-panel');
    this.title.caption = 'Lepton Lab';

    const header = el('div', 'lepton-lab-panel-header');
    const title = el('span', 'lepton-lab-panel-title', 'Lepton Lab');
    this._connection = el('span', 'lepton-lab-connection');
    this._connection.title = 'Live updates';
    const refresh = button('↻', 'lepton-lab-refresh', 'Refresh jobs and devices');
    refresh.addEventListener('click', () => void this.refresh());
    header.append(title, this._connection, refresh);

    this._banner = el('div', 'lepton-lab-banner');
    this._banner.hidden = true;
    this._status = el('div', 'lepton-lab-status', 'Connecting…');

    const jobsHeader = el('div', 'lepton-lab-section-title');
    this._filter = document.createElement('select');
    this._filter.className = 'lepton-lab-filter';
    this._filter.title = 'Show jobs with this status';
    this._filter.addEventListener('change', () => {
      this._filterValue = this._filter.value as JobFilter;
      this._scheduleRender();
    });
    jobsHeader.append(el('span', '', 'Jobs'), this._filter);
    this._filterBox = new FilterBox(() => this._scheduleRender());
    this._list = el('ul', 'lepton-lab-jobs');
    this._empty = el('div', 'lepton-lab-empty');
    this._empty.textContent = 'No jobs yet. Submit one with lepton_lab.submit(spec) in a notebook, or open a tutorial.';
    this._empty.hidden = true;

    this._models = new ModelsSection(this._model.models, {
      open: name => options.openModel?.(name),
      undeploy: name => this._confirmUndeploy(name)
    });

    const devicesHeader = el('div', 'lepton-lab-section-title');
    devicesHeader.append(el('span', '', 'Devices'));
    this._devices = el('div', 'lepton-lab-devices', 'Loading…');

    this.node.append(
      header,
      this._banner,
      this._status,
      jobsHeader,
      this._filterBox.node,
      this._list,
      this._empty,
      this._models.node,
      devicesHeader,
      this._devices
    );

    this._throttle = new FrameThrottle(() => this._render(), { minInterval: 200 });
    this._model.changed.connect(this._scheduleRender, this);
    this._model.transitions.connect(() => void this.refreshDevices(), this);
    this._model.connectionChanged.connect((_, state) => this._showConnection(state), this);
    this._model.errors.connect((_, error) => this._showError(error), this);
    this._showConnection(this._model.connectionState);
    this._renderFilter();
  }

  /** Re-read server status, jobs and devices. */
  async refresh(): Promise<void> {
    this._model.reconnect();
    await Promise.all([this._refreshStatus(), this._model.refresh(), this.refreshDevices()]);
  }

  /** Re-read the devices list. */
  async refreshDevices(): Promise<void> {
    try {
      const payload = await this._model.client.devicesPayload();
      this._renderDevices(payload.devices, payload.nodes);
    } catch (error) {
      this._devices.replaceChildren(el('div', 'lepton-lab-error', `Devices unavailable: ${messageOf(error)}`));
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    Signal.disconnectReceiver(this);
    this._throttle.dispose();
    this._models.dispose();
    this._stopTimers();
    for (const row of this._rows.values()) {
      row.dispose();
    }
    this._rows.clear();
    for (const row of this._sweepRows.values()) {
      row.dispose();
    }
    this._sweepRows.clear();
    super.dispose();
  }

  protected onAfterAttach(): void {
    if (this.isVisible) {
      this._startTimers(); // shown at start-up (restored layout): no show message follows
    }
    void this._refreshStatus();
    void this.refreshDevices();
    this._scheduleRender();
  }

  protected onAfterShow(): void {
    this._startTimers();
    void this.refreshDevices();
    this._scheduleRender();
  }

  protected onBeforeHide(): void {
    this._stopTimers();
  }

  protected onBeforeDetach(): void {
    this._stopTimers();
  }

  private _startTimers(): void {
    this._stopTimers();
    this._devicesTimer = setInterval(() => void this.refreshDevices(), DEVICES_INTERVAL);
    // ETAs count down between events.
    this._tickTimer = setInterval(() => {
      if (this._model.state.list('running').length > 0) {
        this._scheduleRender();
      }
    }, 1000);
  }

  private _stopTimers(): void {
    if (this._devicesTimer !== null) {
      clearInterval(this._devicesTimer);
      this._devicesTimer = null;
    }
    if (this._tickTimer !== null) {
      clearInterval(this._tickTimer);
      this._tickTimer = null;
    }
  }

  private async _refreshStatus(): Promise<void> {
    try {
      const status: IServerStatus = await this._model.client.status();
      this._status.dataset.state = 'ok';
      const details = document.createElement('details');
      details.className = 'lepton-lab-server-details';
      details.append(
        el('summary', '', 'Server'),
        kv('TensorFlow', status.tensorflow ?? 'not installed'),
        kv('Keras', status.keras ?? 'not installed'),
        kv('Python', status.python),
        kv('Runs', status.runs_dir)
      );
      this._status.replaceChildren(kv('Lepton Lab', status.lepton_lab, 'lepton-lab-version'), details);
    } catch (error) {
      this._status.dataset.state = 'error';
      this._status.textContent = `Lepton Lab server extension unreachable: ${messageOf(error)}`;
    }
  }

  private _scheduleRender(): void {
    if (this.isDisposed) {
      return;
    }
    this._throttle.schedule();
  }

  private _renderFilter(): void {
    const counts = this._model.state.counts();
    const total = this._model.state.size;
    const active = (counts.running ?? 0) + (counts.queued ?? 0);
    const options: [JobFilter, string][] = [
      ['all', `All (${total})`],
      ['active', `Active (${active})`],
      ...JOB_STATUSES.map(status => [status, `${capitalise(status)} (${counts[status] ?? 0})`] as [JobFilter, string])
    ];
    const key = options.map(o => o[1]).join('|');
    if (key === this._filterKey) {
      return;
    }
    this._filterKey = key;
    this._filter.replaceChildren(
      ...options.map(([value, label]) => {
        const option = document.createElement('option');
        option.value = value;
        option.textContent = label;
        return option;
      })
    );
    this._filter.value = this._filterValue;
  }

  private _render(): void {
    if (this.isDisposed) {
      return;
    }
    this._renderFilter();
    const listed = this._model.state.list(this._filterValue);
    const query = this._filterBox.query;
    const jobs = filterJobs(listed, query);
    this._filterBox.showCount(jobs.length, listed.length, listed.filter(job => job.archived).length);
    // A sweep none of whose trials is listed still shows while nothing is filtered (it may
    // have no trial yet), and among the active ones while it runs.
    const unfiltered = this._filterValue === 'all' && query.terms.length === 0;
    const entries = groupEntries(
      jobs,
      this._model.sweeps.list(),
      sweep => unfiltered || (this._filterValue === 'active' && sweep.state === 'running')
    );
    const wantedJobs = new Set<string>();
    const wantedSweeps = new Set<string>();
    for (const entry of entries) {
      if (entry.kind === 'job') {
        wantedJobs.add(entry.job.id);
      } else {
        wantedSweeps.add(entry.sweep.id);
        if (this._expanded.has(entry.sweep.id)) {
          entry.trials.forEach(job => wantedJobs.add(job.id));
        }
      }
    }
    dropUnwanted(this._rows, wantedJobs);
    dropUnwanted(this._sweepRows, wantedSweeps);
    const now = Date.now() / 1000;
    const top: HTMLElement[] = [];
    entries.forEach((entry, index) => {
      if (entry.kind === 'job') {
        const { job } = entry;
        // Running jobs are followed by the model; recent finished ones load their curves once.
        top.push(this._jobRow(job, job.status === 'running' || (index < SPARKLINE_ROWS && job.status !== 'queued'), now));
        return;
      }
      const { sweep, trials } = entry;
      let row = this._sweepRows.get(sweep.id);
      if (!row) {
        row = new SweepRow(sweep.id, {
          open: id => this._openSweep(id),
          cancel: id => this._confirmCancelSweep(id),
          toggle: id => this._toggleSweep(id)
        });
        this._sweepRows.set(sweep.id, row);
      }
      const expanded = this._expanded.has(sweep.id);
      row.update(sweep, expanded, trials.length);
      if (expanded) {
        placeInOrder(
          row.trials,
          trials.map(job => this._jobRow(job, job.status === 'running', now))
        );
      }
      top.push(row.node);
    });
    placeInOrder(this._list, top);
    const anything = this._model.state.size > 0 || this._model.sweeps.size > 0;
    this._empty.hidden = entries.length > 0 || !this._model.state.initialized;
    if (!this._empty.hidden && anything) {
      this._empty.textContent = this._filterBox.active ? 'No jobs match the filter.' : 'No jobs with this status.';
    }
  }

  /** The row of `job`, made if new, brought up to date. */
  private _jobRow(job: IJob, watched: boolean, now: number): HTMLElement {
    let row = this._rows.get(job.id);
    if (!row) {
      row = new JobRow(job.id, this._model, {
        open: id => this._openJob(id),
        cancel: id => this._confirmCancel(id),
        resume: id => this._act(() => this._model.resume(id)),
        changed: () => this._scheduleRender()
      });
      this._rows.set(job.id, row);
    }
    row.setWatched(watched);
    row.update(job, now);
    return row.node;
  }

  private _toggleSweep(id: string): void {
    if (!this._expanded.delete(id)) {
      this._expanded.add(id);
    }
    this._scheduleRender();
  }

  private _renderDevices(devices: IDevice[], cluster?: IClusterNode[]): void {
    const names = new Map(this._model.state.list().map(job => [job.id, job.name || job.id]));
    const gpus = devices.filter(device => device.kind === 'gpu');
    const nodes: HTMLElement[] = [];
    // A cluster executor's nodes, where its jobs run; the devices below are the server's host.
    if (cluster) {
      const count = `${cluster.length} node${cluster.length === 1 ? '' : 's'}`;
      nodes.push(el('div', 'lepton-lab-nodes-title', `Cluster: ${count}`));
      nodes.push(...nodeRows(cluster, names).map(row => this._nodeRow(row)));
      nodes.push(el('div', 'lepton-lab-nodes-title', "This server's host"));
    }
    if (gpus.length === 0) {
      const cpu = devices.find(device => device.kind === 'cpu');
      const item = el('div', 'lepton-lab-device lepton-lab-cpu-only');
      item.append(el('div', 'lepton-lab-device-name', 'CPU only'));
      if (cpu) {
        item.append(el('div', 'lepton-lab-device-detail', deviceLabel(cpu)));
        item.append(holders(cpu, names, id => this._openJob(id)));
      }
      nodes.push(item);
    }
    for (const gpu of gpus) {
      const item = el('div', 'lepton-lab-device lepton-lab-gpu');
      item.dataset.deviceId = gpu.id;
      item.append(el('div', 'lepton-lab-device-name', `GPU ${gpu.index ?? ''}: ${gpu.name}`));
      const fraction = gpu.memory_total ? (gpu.memory_used ?? 0) / gpu.memory_total : null;
      item.append(bar(fraction, 'lepton-lab-memory'));
      const util = gpu.utilization === null || gpu.utilization === undefined ? 'n/a' : `${Math.round(gpu.utilization)}%`;
      item.append(
        el(
          'div',
          'lepton-lab-device-detail',
          `memory ${formatBytes(gpu.memory_used)} / ${formatBytes(gpu.memory_total)} (${formatPercent(fraction)}) · util ${util}`
        )
      );
      item.append(holders(gpu, names, id => this._openJob(id)));
      nodes.push(item);
    }
    this._devices.replaceChildren(...nodes);
  }

  private _nodeRow(row: INodeRow): HTMLElement {
    const item = el('div', 'lepton-lab-device lepton-lab-node');
    item.dataset.nodeId = row.id;
    item.dataset.state = row.state;
    item.title = row.tooltip;
    const name = el('div', 'lepton-lab-device-name');
    name.append(el('span', 'lepton-lab-node-id', row.title));
    if (row.head) {
      name.append(el('span', 'lepton-lab-node-head', 'head'));
    }
    if (row.state === 'lost') {
      const lost = el('span', 'lepton-lab-node-lost', 'lost');
      lost.title = 'The cluster lost this node: its jobs are interrupted (Resume continues them)';
      name.append(lost);
    }
    item.append(name, el('div', 'lepton-lab-device-detail', row.resources));
    const line = el('div', 'lepton-lab-device-jobs');
    if (row.jobs.length === 0) {
      line.textContent = 'idle';
    } else {
      line.append(document.createTextNode('running '));
      row.jobs.forEach((job, index) => {
        if (index > 0) {
          line.append(document.createTextNode(', '));
        }
        const link = el('a', 'lepton-lab-device-job', job.label);
        link.setAttribute('role', 'button');
        link.title = job.id;
        link.addEventListener('click', () => this._openJob(job.id));
        line.append(link);
      });
    }
    item.append(line);
    return item;
  }

  /** Cancel `id` once the user confirms; resolves to whether it was asked to cancel. */
  private async _confirmCancel(id: string): Promise<boolean> {
    const job = this._model.state.get(id);
    if (!job || !(await confirmCancel(job))) {
      return false;
    }
    await this._act(() => this._model.cancel(id));
    return true;
  }

  /** Cancel sweep `id` once the user confirms; resolves to whether it was asked to cancel. */
  private async _confirmCancelSweep(id: string): Promise<boolean> {
    const sweep = this._model.sweeps.get(id);
    if (!sweep || !(await confirmCancelSweep(sweep))) {
      return false;
    }
    await this._act(() => this._model.cancelSweep(id));
    return true;
  }

  /** Undeploy model `name` once the user confirms; resolves to whether it was asked to. */
  private async _confirmUndeploy(name: string): Promise<boolean> {
    const model = this._model.models.get(name);
    if (!model || !(await confirmUndeploy(model))) {
      return false;
    }
    await this._act(() => this._model.undeploy(name));
    return true;
  }

  private async _act(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
      this._banner.hidden = true;
    } catch (error) {
      this._showError(error);
    }
  }

  private _showError(error: unknown): void {
    this._banner.hidden = false;
    this._banner.dataset.kind = 'error';
    this._banner.textContent = messageOf(error);
  }

  private _showConnection(state: string): void {
    this._connection.dataset.state = state;
    this._connection.textContent = state === 'open' ? '● live' : state === 'closed' ? '○ offline' : '◌ reconnecting';
    if (state === 'open') {
      this._banner.hidden = true; // connected again: what the banner said is stale
    }
    if (state === 'waiting') {
      this._banner.hidden = false;
      this._banner.dataset.kind = 'connection';
      this._banner.textContent = 'Lost the connection to the server; reconnecting…';
    }
    if (state === 'open') {
      // After a server restart: the status and devices may have changed as well.
      void this._refreshStatus();
      void this.refreshDevices();
    }
  }

  private _model: LeptonModel;
  private _openJob: (id: string) => void;
  private _openSweep: (id: string) => void;
  private _connection: HTMLElement;
  private _banner: HTMLElement;
  private _status: HTMLElement;
  private _filter: HTMLSelectElement;
  private _filterValue: JobFilter = 'all';
  private _filterKey = '';
  private _filterBox: FilterBox;
  private _list: HTMLElement;
  private _empty: HTMLElement;
  private _devices: HTMLElement;
  private _models: ModelsSection;
  private _rows = new Map<string, JobRow>();
  private _sweepRows = new Map<string, SweepRow>();
  /** Sweeps whose trials are shown. */
  private _expanded = new Set<string>();
  private _throttle: FrameThrottle;
  private _devicesTimer: ReturnType<typeof setInterval> | null = null;
  private _tickTimer: ReturnType<typeof setInterval> | null = null;
}

function holders(device: IDevice, names: Map<string, string>, open: (id: string) => void): HTMLElement {
  const line = el('div', 'lepton-lab-device-jobs');
  const jobs = device.jobs ?? [];
  if (jobs.length === 0) {
    line.textContent = 'idle';
    return line;
  }
  line.append(document.createTextNode('held by '));
  jobs.forEach((id, index) => {
    if (index > 0) {
      line.append(document.createTextNode(', '));
    }
    const link = el('a', 'lepton-lab-device-job', names.get(id) ?? id);
    link.setAttribute('role', 'button');
    link.addEventListener('click', () => open(id));
    line.append(link);
  });
  return line;
}

/** Dispose the rows whose id is not wanted any more. */
function dropUnwanted(rows: Map<string, { dispose(): void }>, wanted: Set<string>): void {
  for (const [id, row] of rows) {
    if (!wanted.has(id)) {
      row.dispose();
      rows.delete(id);
    }
  }
}

/** Make `nodes` the children of `parent`, in order, moving only those out of place. */
function placeInOrder(parent: HTMLElement, nodes: HTMLElement[]): void {
  let previous: HTMLElement | null = null;
  for (const node of nodes) {
    const expected: Element | null = previous ? previous.nextElementSibling : parent.firstElementChild;
    if (expected !== node) {
      parent.insertBefore(node, expected);
    }
    previous = node;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
