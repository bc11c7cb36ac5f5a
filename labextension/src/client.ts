/**
 * Client of the Lepton Lab REST API and WebSocket endpoints.
 *
 * Free of JupyterLab imports: the transport (a `fetch`-like function that
 * adds authentication) and the connection settings are passed in, so unit
 * tests drive the client with a recording fake and `api.ts` plugs in
 * JupyterLab's `ServerConnection`.
 */
import type {
  IDevice,
  IDevicesPayload,
  IEventsPage,
  IJob,
  IJobPatch,
  IJobSpec,
  IServerStatus,
  JobStatus
} from './payloads';
import type { ISweep, ISweepsPage, ITrial, ITrialsPage } from './sweeppayloads';
import { apiUrl, socketUrl } from './urls';

/** The part of a fetch `Response` the client reads. */
export interface IResponseLike {
  ok: boolean;
  status: number;
  statusText?: string;
  text(): Promise<string>;
}

/** Sends one HTTP request with the server's authentication. */
export type Transport = (url: string, init: RequestInit) => Promise<IResponseLike>;

/** Where the server is and how to reach it. */
export interface IConnection {
  /** HTTP base URL of the Jupyter server, base URL included (`http://h:8888/x/`). */
  baseUrl: string;
  /** WebSocket base URL of the Jupyter server (`ws://h:8888/x/`). */
  wsUrl: string;
  /** The server token, '' when the page authenticates by cookie only. */
  token: string;
  request: Transport;
}

/** An API call that failed: the HTTP status and the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason = ''
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Typed calls to every Lepton Lab route. */
export class LeptonClient {
  constructor(readonly connection: IConnection) {}

  /** Full HTTP URL of an API endpoint. */
  url(endpoint: string, query?: Record<string, string | number>): string {
    return apiUrl(this.connection.baseUrl, endpoint, query);
  }

  /** WebSocket URL of `stream` (all jobs) or, given an id, `jobs/{id}/stream?after=N`. */
  streamUrl(jobId?: string, after = 0): string {
    const { wsUrl, token } = this.connection;
    if (jobId === undefined) {
      return socketUrl(wsUrl, 'stream', {}, token);
    }
    return socketUrl(wsUrl, `jobs/${encodeURIComponent(jobId)}/stream`, { after }, token);
  }

  /** Fetch an endpoint and parse its JSON answer; throws `ApiError` when it fails. */
  async request<T>(endpoint: string, init: RequestInit = {}, query?: Record<string, string | number>): Promise<T> {
    const response = await this.connection.request(this.url(endpoint, query), init);
    const text = await response.text();
    let data: unknown = null;
    if (text.length > 0) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!response.ok) {
      throw errorFrom(response, data);
    }
    return data as T;
  }

  status(): Promise<IServerStatus> {
    return this.request<IServerStatus>('status');
  }

  /** Every job, newest first; only those with one of `statuses` when given. */
  async jobs(statuses?: readonly JobStatus[]): Promise<IJob[]> {
    const query = statuses && statuses.length > 0 ? { status: statuses.join(',') } : undefined;
    const data = await this.request<IJob[] | { jobs: IJob[] }>('jobs', {}, query);
    return Array.isArray(data) ? data : data.jobs;
  }

  job(id: string): Promise<IJob> {
    return this.request<IJob>(jobPath(id));
  }

  /** Queue a new job; resolves to the job the server created (HTTP 201). */
  submit(spec: IJobSpec): Promise<IJob> {
    return this.request<IJob>('jobs', { method: 'POST', body: JSON.stringify(spec) });
  }

  /** Cancel a queued or running job. */
  cancel(id: string): Promise<IJob> {
    return this.request<IJob>(jobPath(id), { method: 'DELETE' });
  }

  /** Rename a job, set its note or archive it; resolves to the updated job. */
  annotate(id: string, changes: IJobPatch): Promise<IJob> {
    return this.request<IJob>(jobPath(id), { method: 'PATCH', body: JSON.stringify(changes) });
  }

  /** Delete a finished job's run directory (HTTP 204; 409 while it is queued or running). */
  async deleteRun(id: string): Promise<void> {
    await this.request<null>(`${jobPath(id)}/run`, { method: 'DELETE' });
  }

  /** Files of the job's run directory, with their sizes. */
  async artifacts(id: string): Promise<{ name: string; size: number }[]> {
    const data = await this.request<{ artifacts: { name: string; size: number }[] }>(`${jobPath(id)}/artifacts`);
    return data.artifacts;
  }

  /** Continue an interrupted or failed job from its checkpoints. */
  resume(id: string): Promise<IJob> {
    return this.request<IJob>(`${jobPath(id)}/resume`, { method: 'POST' });
  }

  /** Events after line offset `after`, and the offset to ask from next time. */
  events(id: string, after = 0): Promise<IEventsPage> {
    return this.request<IEventsPage>(`${jobPath(id)}/events`, {}, { after });
  }

  evaluation(id: string): Promise<Record<string, unknown>> {
    return this.request<Record<string, unknown>>(`${jobPath(id)}/evaluation`);
  }

  /** HTTP URL of a run artifact (`worker.log`, `report.html`, `model.keras`, …). */
  artifactUrl(id: string, name: string): string {
    const path = name.split('/').map(encodeURIComponent).join('/');
    return this.url(`${jobPath(id)}/artifacts/${path}`);
  }

  /** A run artifact as text. */
  async artifactText(id: string, name: string): Promise<string> {
    const response = await this.connection.request(this.artifactUrl(id, name), {});
    const text = await response.text();
    if (!response.ok) {
      let data: unknown = text;
      try {
        data = JSON.parse(text);
      } catch {
        // a plain-text error page
      }
      throw errorFrom(response, data);
    }
    return text;
  }

  async devices(): Promise<IDevice[]> {
    return (await this.devicesPayload()).devices;
  }

  /** The whole answer of `GET devices`: the devices, and a cluster executor's `nodes`. */
  async devicesPayload(): Promise<IDevicesPayload> {
    const data = await this.request<IDevice[] | IDevicesPayload>('devices');
    return Array.isArray(data) ? { devices: data } : data;
  }

  datasets(): Promise<unknown> {
    return this.request<unknown>('datasets');
  }

  /** Every sweep, newest first. */
  async sweeps(): Promise<ISweep[]> {
    return (await this.request<ISweepsPage>('sweeps')).sweeps;
  }

  sweep(id: string): Promise<ISweep> {
    return this.request<ISweep>(sweepPath(id));
  }

  /** The trials of a sweep, by number. */
  async sweepTrials(id: string): Promise<ITrial[]> {
    return (await this.request<ITrialsPage>(`${sweepPath(id)}/trials`)).trials;
  }

  /** Cancel a sweep: its queued trials never start, its running ones are cancelled. */
  cancelSweep(id: string): Promise<ISweep> {
    return this.request<ISweep>(sweepPath(id), { method: 'DELETE' });
  }
}

function jobPath(id: string): string {
  return `jobs/${encodeURIComponent(id)}`;
}

function sweepPath(id: string): string {
  return `sweeps/${encodeURIComponent(id)}`;
}

function errorFrom(response: IResponseLike, data: unknown): ApiError {
  let message = response.statusText || `HTTP ${response.status}`;
  let reason = '';
  if (data && typeof data === 'object') {
    const record = data as { message?: unknown; reason?: unknown };
    if (typeof record.message === 'string' && record.message) {
      message = record.message;
    }
    if (typeof record.reason === 'string') {
      reason = record.reason;
    }
  } else if (typeof data === 'string' && data.trim()) {
    message = data.trim().slice(0, 500);
  }
  return new ApiError(response.status, message, reason);
}
