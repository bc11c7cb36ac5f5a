/**
 * LeptonModel: the live state the panel, job views and notifications share.
 *
 * One `stream` socket keeps the job list current. Each job's events come
 * through a JobFeed: one `jobs/{id}/stream` socket shared by every view of
 * that job (reference counted), reconnecting with backoff and resuming from
 * the last offset it received. Running jobs are always followed (the panel's
 * progress, ETA and sparkline need them); feeds of finished jobs stay cached
 * (bounded) so reopening a view costs nothing. Sweeps come with the job list
 * (`GET sweeps`, the snapshot) and as `sweep` messages of the same socket.
 *
 * No JupyterLab or DOM imports: the client and the socket factory are passed
 * in, so the unit tests drive the model with fakes.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError, LeptonClient } from './client';
import { IJobTransition, JobsState } from './jobs';
import { IMetricsOptions, JobMetrics } from './metrics';
import { IReconnectOptions, ReconnectingSocket, SocketFactory, SocketState } from './socket';
import { IEventsMessage, IJob, IJobPatch, IJobSpec, StreamMessage, isFinished } from './payloads';
import { listModels, undeployModel } from './modelclient';
import { ModelsState } from './models';
import { ISweep } from './sweeppayloads';
import { ISweepTransition, SweepsState } from './sweeps';

export interface IModelOptions {
  client: LeptonClient;
  /** Opens a WebSocket (`url => new WebSocket(url)`). */
  connect: SocketFactory;
  /** Finished jobs whose feeds stay cached without a viewer (default 50). */
  cacheSize?: number;
  metrics?: IMetricsOptions;
  /** Passed to every ReconnectingSocket (tests use fake timers). */
  socketOptions?: Partial<Pick<IReconnectOptions, 'initialDelay' | 'maxDelay' | 'setTimeout' | 'clearTimeout'>>;
}

/** One job's event stream and what it adds up to. */
export class JobFeed {
  constructor(
    readonly id: string,
    private readonly _model: LeptonModel,
    metrics: IMetricsOptions | undefined
  ) {
    this.metrics = new JobMetrics(metrics);
  }

  readonly metrics: JobMetrics;

  /** Emits after new events were applied. */
  get changed(): ISignal<JobFeed, void> {
    return this._changed;
  }

  /** Emits the socket's state. */
  get stateChanged(): ISignal<JobFeed, SocketState> {
    return this._stateChanged;
  }

  /** Viewers holding this feed. */
  get refs(): number {
    return this._refs;
  }

  /** Whether the server said the stream is over (the job finished and every event was sent). */
  get ended(): boolean {
    return this._ended;
  }

  get socketState(): SocketState {
    return this._socket?.state ?? 'closed';
  }

  /** Resolves once the stream has ended, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void> {
    if (this._ended) {
      return Promise.resolve();
    }
    return new Promise(resolve => {
      const done = (): void => {
        clearTimeout(timer);
        this._stateChanged.disconnect(onState);
        resolve();
      };
      const onState = (): void => {
        if (this._ended) {
          done();
        }
      };
      const timer = setTimeout(done, timeoutMs);
      this._stateChanged.connect(onState);
    });
  }

  /** Take a reference; call the returned function to give it back. */
  acquire(): () => void {
    this._refs += 1;
    this.open();
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this._refs -= 1;
        this._model._released(this);
      }
    };
  }

  /** Open the socket unless it is open or the stream ended. */
  open(): void {
    if (this._socket || this._ended) {
      return;
    }
    const socket = new ReconnectingSocket({
      ...this._model.socketOptions,
      url: () => this._model.client.streamUrl(this.id, this.metrics.after),
      connect: this._model.connect,
      onMessage: message => this._onMessage(message as StreamMessage),
      onState: state => this._stateChanged.emit(state),
      shouldReconnect: code => {
        // 1000: the server sent everything and the job is over. 1001 (the server is
        // stopping), 1013 (too slow) and anything abnormal resume from the last offset.
        if (code === 1000) {
          this._ended = true;
          this._socket = null;
          return false;
        }
        return true;
      }
    });
    this._socket = socket;
    socket.start();
  }

  /** The job runs again (resumed): follow it anew from the last offset. */
  reopen(): void {
    this._ended = false;
    this.open();
  }

  /** Close the socket (the feed and its metrics stay usable). */
  close(): void {
    const socket = this._socket;
    this._socket = null;
    socket?.dispose();
  }

  dispose(): void {
    this.close();
    Signal.clearData(this);
  }

  private _onMessage(message: StreamMessage): void {
    if (message.type === 'events') {
      const { events, next } = message as IEventsMessage;
      this.metrics.apply(events ?? [], next);
      this._changed.emit();
    } else {
      this._model._onStreamMessage(message);
    }
  }

  private _changed = new Signal<JobFeed, void>(this);
  private _stateChanged = new Signal<JobFeed, SocketState>(this);
  private _socket: ReconnectingSocket | null = null;
  private _refs = 0;
  private _ended = false;
}

export class LeptonModel {
  constructor(options: IModelOptions) {
    this.client = options.client;
    this.connect = options.connect;
    this.socketOptions = options.socketOptions ?? {};
    this._cacheSize = options.cacheSize ?? 50;
    this._metricsOptions = options.metrics;
  }

  readonly client: LeptonClient;
  readonly connect: SocketFactory;
  readonly socketOptions: IModelOptions['socketOptions'] & object;
  readonly state = new JobsState();
  readonly sweeps = new SweepsState();
  /** Deployed models (`GET models`, the snapshot's `models`, `model` messages); signals its own changes. */
  readonly models = new ModelsState();

  /** Emits after the job list changed. */
  get changed(): ISignal<LeptonModel, void> {
    return this._changed;
  }

  /** Emits every status change of a job already known (not jobs first seen in a list). */
  get transitions(): ISignal<LeptonModel, IJobTransition> {
    return this._transitions;
  }

  /** Emits every state change of a sweep already known (a sweep that completed, failed, was cancelled). */
  get sweepTransitions(): ISignal<LeptonModel, ISweepTransition> {
    return this._sweepTransitions;
  }

  /** Emits the `stream` socket's state. */
  get connectionChanged(): ISignal<LeptonModel, SocketState> {
    return this._connectionChanged;
  }

  /** Emits errors of REST calls made by the model. */
  get errors(): ISignal<LeptonModel, Error> {
    return this._errors;
  }

  get connectionState(): SocketState {
    return this._socket?.state ?? 'closed';
  }

  /** Fetch the job list and open the `stream` socket. */
  start(): void {
    if (this._socket) {
      return;
    }
    this._socket = new ReconnectingSocket({
      ...this.socketOptions,
      url: () => this.client.streamUrl(),
      connect: this.connect,
      onMessage: message => this._onStreamMessage(message as StreamMessage),
      onState: state => {
        this._connectionChanged.emit(state);
        if (state === 'open') {
          // Back after a restart: follow running jobs again from their last offsets.
          for (const feed of this._feeds.values()) {
            if (feed.refs > 0 || this._follow.has(feed.id)) {
              feed.open();
            }
          }
        }
      }
    });
    this._socket.start();
    void this.refresh();
  }

  /** Reconnect now a stream waiting out its backoff (the user asked for fresh data). */
  reconnect(): void {
    if (this._socket && this._socket.state === 'waiting') {
      this._socket.reconnectNow();
    }
  }

  /** Re-read the job and sweep lists over REST. */
  async refresh(): Promise<void> {
    await Promise.all([this._refreshJobs(), this._refreshSweeps(), this._refreshModels()]);
  }

  /** The shared feed of job `id` (created on first use, without taking a reference). */
  feed(id: string): JobFeed {
    let feed = this._feeds.get(id);
    if (!feed) {
      feed = new JobFeed(id, this, this._metricsOptions);
      this._feeds.set(id, feed);
    }
    // Most recently used last: the cache evicts from the front.
    this._feeds.delete(id);
    this._feeds.set(id, feed);
    return feed;
  }

  /** The feed of `id` if one exists (never creates one). */
  existingFeed(id: string): JobFeed | undefined {
    return this._feeds.get(id);
  }

  /** Cancel a sweep (its queued trials never start, its running ones are cancelled). */
  async cancelSweep(id: string): Promise<ISweep> {
    const sweep = await this.client.cancelSweep(id);
    this._onStreamMessage({ type: 'sweep', sweep });
    return sweep;
  }

  /** Undeploy a model (its worker stops; the run's export stays). */
  async undeploy(name: string): Promise<void> {
    await undeployModel(this.client, name);
    this.models.remove(name);
  }

  async submit(spec: IJobSpec): Promise<IJob> {
    const job = await this.client.submit(spec);
    this._applyTransitions(nonNull([this.state.upsert(job)]));
    return job;
  }

  async cancel(id: string): Promise<IJob> {
    const job = await this.client.cancel(id);
    this._applyTransitions(nonNull([this.state.upsert(job)]));
    return job;
  }

  async resume(id: string): Promise<IJob> {
    const job = await this.client.resume(id);
    this._applyTransitions(nonNull([this.state.upsert(job)]));
    return job;
  }

  /** Rename a job, set its note or archive it (other clients hear it on the stream). */
  async annotate(id: string, changes: IJobPatch): Promise<IJob> {
    const job = await this.client.annotate(id, changes);
    this._onStreamMessage({ type: 'status', job });
    return job;
  }

  /** Delete a finished job's run directory and drop it from the list. */
  async deleteRun(id: string): Promise<void> {
    await this.client.deleteRun(id);
    this._onStreamMessage({ type: 'deleted', id });
  }

  dispose(): void {
    this._socket?.dispose();
    this._socket = null;
    for (const feed of this._feeds.values()) {
      feed.dispose();
    }
    this._feeds.clear();
    this.models.dispose();
    Signal.clearData(this);
  }

  /** @internal A message of the all-jobs stream (or a status message on a job stream). */
  _onStreamMessage(message: StreamMessage): void {
    if (!message || typeof message !== 'object') {
      return;
    }
    const before = this.state.version;
    if (message.type === 'deleted') {
      this._dropFeed(message.id);
    }
    const sweeps = this.sweeps.apply(message);
    this.models.apply(message);
    const transitions = this.state.apply(message);
    this._applyTransitions(transitions, message.type === 'snapshot');
    if (transitions.length === 0 && (this.state.version !== before || sweeps.changed)) {
      this._changed.emit();
    }
    this._emitSweepTransitions(sweeps.transitions);
  }

  /** @internal A viewer gave a feed back. */
  _released(feed: JobFeed): void {
    if (feed.refs === 0 && !this._follow.has(feed.id)) {
      feed.close();
    }
    this._evict();
  }

  private async _refreshJobs(): Promise<void> {
    try {
      const jobs = await this.client.jobs();
      this._applyTransitions(this.state.replaceAll(jobs), true);
    } catch (error) {
      this._errors.emit(error as Error);
    }
  }

  private async _refreshSweeps(): Promise<void> {
    try {
      const transitions = this.sweeps.replaceAll(await this.client.sweeps());
      this._changed.emit();
      this._emitSweepTransitions(transitions);
    } catch (error) {
      // A server from before sweeps has no such route: it simply has no sweeps.
      if (!(error instanceof ApiError && error.status === 404)) {
        this._errors.emit(error as Error);
      }
    }
  }

  private async _refreshModels(): Promise<void> {
    try {
      this.models.replaceAll(await listModels(this.client));
    } catch (error) {
      // A server from before deployment has no such route: it simply has no models.
      if (!(error instanceof ApiError && error.status === 404)) {
        this._errors.emit(error as Error);
      }
    }
  }

  private _emitSweepTransitions(transitions: ISweepTransition[]): void {
    // Only changes seen happening are news: a sweep first seen in a list is how things are.
    for (const transition of transitions) {
      if (transition.from !== null) {
        this._sweepTransitions.emit(transition);
      }
    }
  }

  /** @param fullList - The transitions come from a whole new list (a snapshot or `GET jobs`). */
  private _applyTransitions(transitions: IJobTransition[], fullList = false): void {
    for (const transition of transitions) {
      if (isFinished(transition.to) && this._follow.delete(transition.id)) {
        const feed = this._feeds.get(transition.id);
        // The job stream closes by itself once its last events are sent; only a feed that
        // never connected is closed here.
        if (feed && feed.refs === 0 && feed.socketState !== 'open') {
          feed.close();
        }
      }
    }
    const started = new Set(transitions.filter(t => t.to === 'running').map(t => t.id));
    this._followRunning(id => fullList || started.has(id));
    this._evict();
    if (transitions.length > 0) {
      this._changed.emit();
      // Only changes seen happening are news: a job first seen in a list is how things are.
      for (const transition of transitions) {
        if (transition.from !== null) {
          this._transitions.emit(transition);
        }
      }
    }
  }

  /**
   * Follow every running job. An ended feed is reopened (from its offset) when `reopen` says
   * so: the job was resumed, or a new list shows it still running after a server restart
   * (which closes every stream normally).
   */
  private _followRunning(reopen: (id: string) => boolean): void {
    for (const job of this.state.list('running')) {
      this._follow.add(job.id);
      const feed = this.feed(job.id);
      if (feed.ended && reopen(job.id)) {
        feed.reopen();
      } else {
        feed.open();
      }
    }
  }

  private _dropFeed(id: string): void {
    this._follow.delete(id);
    const feed = this._feeds.get(id);
    if (feed && feed.refs === 0) {
      feed.dispose();
      this._feeds.delete(id);
    }
  }

  private _evict(): void {
    let idle = 0;
    for (const feed of this._feeds.values()) {
      if (feed.refs === 0 && !this._follow.has(feed.id)) {
        idle += 1;
      }
    }
    for (const [id, feed] of this._feeds) {
      if (idle <= this._cacheSize) {
        break;
      }
      if (feed.refs === 0 && !this._follow.has(id)) {
        feed.dispose();
        this._feeds.delete(id);
        idle -= 1;
      }
    }
  }

  private _changed = new Signal<LeptonModel, void>(this);
  private _transitions = new Signal<LeptonModel, IJobTransition>(this);
  private _sweepTransitions = new Signal<LeptonModel, ISweepTransition>(this);
  private _connectionChanged = new Signal<LeptonModel, SocketState>(this);
  private _errors = new Signal<LeptonModel, Error>(this);
  private _socket: ReconnectingSocket | null = null;
  private _feeds = new Map<string, JobFeed>();
  private _follow = new Set<string>();
  private _cacheSize: number;
  private _metricsOptions: IMetricsOptions | undefined;
}

function nonNull<T>(items: (T | null)[]): T[] {
  return items.filter((item): item is T => item !== null);
}
