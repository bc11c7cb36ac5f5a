/**
 * A WebSocket that reconnects with exponential backoff.
 *
 * Used for the `stream` and `jobs/{id}/stream` endpoints: when the Jupyter
 * server restarts the socket drops, and this reopens it (asking for the URL
 * again, so a job stream resumes from the last offset it received) without a
 * page reload. Free of JupyterLab imports; the WebSocket constructor and the
 * timer functions are injectable for tests.
 */

/** The part of the browser's WebSocket this class uses. */
export interface ISocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => ISocketLike;

/** Connection state reported to `onState`. */
export type SocketState = 'connecting' | 'open' | 'waiting' | 'closed';

export interface IReconnectOptions {
  /** URL to open; called before each attempt so it can carry a fresh resume offset. */
  url: () => string;
  /** Opens a socket (`url => new WebSocket(url)` in the browser). */
  connect: SocketFactory;
  /** Called with each parsed JSON message. */
  onMessage: (message: unknown) => void;
  /** Called when the connection state changes. */
  onState?: (state: SocketState) => void;
  /**
   * Whether to reconnect after the socket closed with `code` and `reason` (default: always).
   */
  shouldReconnect?: (code: number, reason: string) => boolean;
  /** First delay before reconnecting, in ms (default 500). */
  initialDelay?: number;
  /** Longest delay between attempts, in ms (default 10 000). */
  maxDelay?: number;
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/** Delay before reconnect attempt number `attempt` (0-based): doubling, capped. */
export function backoffDelay(attempt: number, initial = 500, max = 10_000): number {
  return Math.min(max, initial * 2 ** Math.max(0, attempt));
}

/** A JSON WebSocket that reopens itself until disposed. */
export class ReconnectingSocket {
  constructor(options: IReconnectOptions) {
    this._options = options;
    this._setTimeout = options.setTimeout ?? ((callback, ms) => setTimeout(callback, ms));
    this._clearTimeout = options.clearTimeout ?? (handle => clearTimeout(handle as ReturnType<typeof setTimeout>));
  }

  /** Current state. */
  get state(): SocketState {
    return this._state;
  }

  /** Attempts since the last successful message. */
  get attempts(): number {
    return this._attempt;
  }

  /** Open the socket (no-op when already started). */
  start(): void {
    if (this._started || this._disposed) {
      return;
    }
    this._started = true;
    this._open();
  }

  /** Close now and reconnect right away (e.g. after the user pressed refresh). */
  reconnectNow(): void {
    if (this._disposed) {
      return;
    }
    this._cancelTimer();
    this._attempt = 0;
    this._detach()?.close(1000, 'reconnecting');
    this._open();
  }

  /** Close for good. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._cancelTimer();
    this._detach()?.close(1000, 'disposed');
    this._setState('closed');
  }

  private _open(): void {
    this._setState('connecting');
    let socket: ISocketLike;
    try {
      socket = this._options.connect(this._options.url());
    } catch {
      this._scheduleReconnect();
      return;
    }
    this._socket = socket;
    socket.onopen = () => this._setState('open');
    socket.onmessage = event => {
      // A message (not just an open) proves the server is back: reset the backoff.
      this._attempt = 0;
      let message: unknown;
      try {
        message = typeof event.data === 'string' ? JSON.parse(event.data) : event.data;
      } catch {
        return; // not JSON: not ours
      }
      this._options.onMessage(message);
    };
    socket.onerror = () => {
      // onclose follows and decides about reconnecting.
    };
    socket.onclose = event => {
      if (this._socket !== socket) {
        return;
      }
      this._detach();
      const again = this._options.shouldReconnect?.(event.code, event.reason) ?? true;
      if (this._disposed || !again) {
        this._setState('closed');
        return;
      }
      this._scheduleReconnect();
    };
  }

  private _scheduleReconnect(): void {
    const delay = backoffDelay(this._attempt, this._options.initialDelay, this._options.maxDelay);
    this._attempt += 1;
    this._setState('waiting');
    this._timer = this._setTimeout(() => {
      this._timer = null;
      if (!this._disposed) {
        this._open();
      }
    }, delay);
  }

  private _detach(): ISocketLike | null {
    const socket = this._socket;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    }
    this._socket = null;
    return socket;
  }

  private _cancelTimer(): void {
    if (this._timer !== null) {
      this._clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _setState(state: SocketState): void {
    if (state !== this._state) {
      this._state = state;
      this._options.onState?.(state);
    }
  }

  private _options: IReconnectOptions;
  private _setTimeout: (callback: () => void, ms: number) => unknown;
  private _clearTimeout: (handle: unknown) => void;
  private _socket: ISocketLike | null = null;
  private _timer: unknown = null;
  private _attempt = 0;
  private _state: SocketState = 'closed';
  private _started = false;
  private _disposed = false;
}
