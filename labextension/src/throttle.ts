/**
 * FrameThrottle: run a redraw at most once per animation frame and at most
 * once per `minInterval` ms, however often it is requested.
 *
 * A job at 500 batches/s delivers a message every few ms; redrawing for each
 * would starve the browser. Requests between two draws coalesce into one, and
 * a hidden tab (no animation frames) does no drawing at all. The frame and
 * clock functions are injectable so the unit tests run without a browser.
 */
export interface IThrottleOptions {
  /** Least time between two runs, in ms (default 0: every frame at most). */
  minInterval?: number;
  requestFrame?: (callback: () => void) => unknown;
  cancelFrame?: (handle: unknown) => void;
  now?: () => number;
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

export class FrameThrottle {
  constructor(
    private readonly _callback: () => void,
    options: IThrottleOptions = {}
  ) {
    this._minInterval = options.minInterval ?? 0;
    this._requestFrame =
      options.requestFrame ??
      (callback =>
        typeof requestAnimationFrame === 'function' ? requestAnimationFrame(callback) : setTimeout(callback, 16));
    this._cancelFrame =
      options.cancelFrame ??
      (handle =>
        typeof cancelAnimationFrame === 'function'
          ? cancelAnimationFrame(handle as number)
          : clearTimeout(handle as ReturnType<typeof setTimeout>));
    this._now = options.now ?? (() => (typeof performance !== 'undefined' ? performance.now() : Date.now()));
    this._setTimeout = options.setTimeout ?? ((callback, ms) => setTimeout(callback, ms));
    this._clearTimeout = options.clearTimeout ?? (handle => clearTimeout(handle as ReturnType<typeof setTimeout>));
  }

  /** Ask for a run; calls before it happens coalesce into it. */
  schedule(): void {
    if (this._pending || this._disposed) {
      return;
    }
    this._pending = true;
    const wait = this._lastRun === null ? 0 : this._lastRun + this._minInterval - this._now();
    if (wait > 0) {
      this._timer = this._setTimeout(() => {
        this._timer = null;
        this._frame = this._requestFrame(this._run);
      }, wait);
    } else {
      this._frame = this._requestFrame(this._run);
    }
  }

  dispose(): void {
    this._disposed = true;
    this._cancel();
    this._pending = false;
  }

  private _run = (): void => {
    this._frame = null;
    if (this._disposed) {
      return;
    }
    this._pending = false;
    this._lastRun = this._now();
    this._callback();
  };

  private _cancel(): void {
    if (this._timer !== null) {
      this._clearTimeout(this._timer);
      this._timer = null;
    }
    if (this._frame !== null) {
      this._cancelFrame(this._frame);
      this._frame = null;
    }
  }

  private _minInterval: number;
  private _requestFrame: (callback: () => void) => unknown;
  private _cancelFrame: (handle: unknown) => void;
  private _now: () => number;
  private _setTimeout: (callback: () => void, ms: number) => unknown;
  private _clearTimeout: (handle: unknown) => void;
  private _pending = false;
  private _disposed = false;
  private _lastRun: number | null = null;
  private _frame: unknown = null;
  private _timer: unknown = null;
}
