/**
 * Test doubles: a recording HTTP transport, fake WebSockets and a manual clock.
 */
import { IConnection, IResponseLike, LeptonClient } from '../src/client';
import { ISocketLike } from '../src/socket';

export interface IRecordedRequest {
  url: string;
  method: string;
  body: unknown;
}

/** Answers requests from a route table `"METHOD path" -> [status, body]` and records them. */
export class FakeServer {
  constructor(readonly routes: Record<string, [number, unknown]> = {}) {}

  readonly requests: IRecordedRequest[] = [];

  connection(baseUrl = 'http://127.0.0.1:8888/x/', token = 'secret'): IConnection {
    return {
      baseUrl,
      wsUrl: baseUrl.replace(/^http/, 'ws'),
      token,
      request: async (url, init) => this.answer(url, init)
    };
  }

  client(baseUrl?: string, token?: string): LeptonClient {
    return new LeptonClient(this.connection(baseUrl, token));
  }

  async answer(url: string, init: RequestInit): Promise<IResponseLike> {
    const method = (init.method ?? 'GET').toUpperCase();
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    this.requests.push({ url, method, body });
    const path = new URL(url).pathname.replace(/^.*\/lepton-lab\/api\//, '');
    const route = this.routes[`${method} ${path}`];
    const [status, data] = route ?? [404, { message: `no route ${method} ${path}`, reason: 'NotFound' }];
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    return { ok: status >= 200 && status < 300, status, statusText: `status ${status}`, text: async () => text };
  }
}

/** A WebSocket double the test opens, feeds and closes by hand. */
export class FakeSocket implements ISocketLike {
  constructor(readonly url: string) {}

  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closedWith: { code?: number; reason?: string } | null = null;

  open(): void {
    this.onopen?.({});
  }

  send(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  /** The server (or the network) closes the connection. */
  drop(code = 1006, reason = ''): void {
    this.onclose?.({ code, reason });
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }
}

/** Records every socket opened. */
export class SocketLog {
  readonly sockets: FakeSocket[] = [];

  connect = (url: string): FakeSocket => {
    const socket = new FakeSocket(url);
    this.sockets.push(socket);
    return socket;
  };

  /** Sockets whose URL contains `part`. */
  matching(part: string): FakeSocket[] {
    return this.sockets.filter(socket => socket.url.includes(part));
  }

  last(part = ''): FakeSocket {
    const found = this.matching(part);
    if (found.length === 0) {
      throw new Error(`no socket matching ${part}; opened: ${this.sockets.map(s => s.url).join(', ')}`);
    }
    return found[found.length - 1];
  }
}

/** Timers run by hand: `advance(ms)` fires what is due. */
export class ManualTimers {
  now = 0;
  private _next = 1;
  private _pending = new Map<number, { at: number; callback: () => void }>();

  setTimeout = (callback: () => void, ms: number): number => {
    const id = this._next++;
    this._pending.set(id, { at: this.now + ms, callback });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this._pending.delete(handle as number);
  };

  /** Delays of the timers pending now, soonest first. */
  get delays(): number[] {
    return [...this._pending.values()].map(p => p.at - this.now).sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this._pending.entries()].filter(([, p]) => p.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) {
        break;
      }
      this._pending.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = end;
  }
}

/** A batch event at `step` (epoch inferred from `stepsPerEpoch`). */
export function batch(step: number, t: number, loss: number, extra: Record<string, unknown> = {}) {
  return {
    t,
    type: 'batch' as const,
    step,
    epoch: 1,
    metrics: { loss, accuracy: 1 - loss },
    ...extra
  };
}
