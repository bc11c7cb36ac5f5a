/**
 * Bounded series: a metric curve of any length kept in at most `maxPoints` points.
 *
 * A job emitting 500 batches a second for an hour makes 1.8 million points;
 * a chart needs a few hundred. Each stored point is the mean of a bucket of
 * consecutive raw points. When the series outgrows `maxPoints`, neighbouring
 * buckets merge pairwise and the bucket size doubles, so memory and redraw
 * cost stay bounded, every raw point still counts (no aliasing from skipping),
 * and appending costs O(1) amortised.
 */

export interface IPoint {
  x: number;
  y: number;
}

export class BoundedSeries {
  /**
   * @param maxPoints - Most points kept (at least 4; halves when exceeded).
   */
  constructor(readonly maxPoints = 1000) {
    if (!(maxPoints >= 4)) {
      throw new RangeError(`maxPoints must be at least 4, got ${maxPoints}`);
    }
  }

  /** Points stored now (≤ maxPoints). */
  get length(): number {
    return this._xs.length;
  }

  /** Raw points per full bucket (1 until the series first overflows). */
  get bucketSize(): number {
    return this._bucket;
  }

  /** Raw points appended in total. */
  get count(): number {
    return this._count;
  }

  /** The last raw point appended, exactly (not averaged), or null. */
  get last(): IPoint | null {
    return this._last;
  }

  /** Bumped by every change, so views can tell whether to redraw. */
  get version(): number {
    return this._version;
  }

  /** X values of the stored points (bucket means). */
  get xs(): readonly number[] {
    return this._xs;
  }

  /** Y values of the stored points (bucket means). */
  get ys(): readonly number[] {
    return this._ys;
  }

  /** Append a raw point; non-finite values (NaN loss, null) are skipped. */
  push(x: number, y: number | null | undefined): void {
    if (y === null || y === undefined || !Number.isFinite(y) || !Number.isFinite(x)) {
      return;
    }
    this._count += 1;
    this._version += 1;
    this._last = { x, y };
    const n = this._xs.length;
    if (n > 0 && this._ws[n - 1] < this._bucket) {
      const w = this._ws[n - 1];
      this._xs[n - 1] = (this._xs[n - 1] * w + x) / (w + 1);
      this._ys[n - 1] = (this._ys[n - 1] * w + y) / (w + 1);
      this._ws[n - 1] = w + 1;
      return;
    }
    this._xs.push(x);
    this._ys.push(y);
    this._ws.push(1);
    if (this._xs.length > this.maxPoints) {
      this._halve();
    }
  }

  /**
   * Drop the points after `x` (a resumed run trains those again; their new values replace them).
   * Points merged into buckets are dropped by their bucket's mean x.
   */
  truncateAfter(x: number): void {
    let keep = this._xs.length;
    while (keep > 0 && this._xs[keep - 1] > x) {
      keep -= 1;
    }
    if (keep === this._xs.length) {
      return;
    }
    this._count -= this._ws.slice(keep).reduce((a, b) => a + b, 0);
    this._xs.length = keep;
    this._ys.length = keep;
    this._ws.length = keep;
    this._last = keep > 0 ? { x: this._xs[keep - 1], y: this._ys[keep - 1] } : null;
    this._version += 1;
  }

  /** Forget every point. */
  clear(): void {
    this._xs = [];
    this._ys = [];
    this._ws = [];
    this._bucket = 1;
    this._count = 0;
    this._last = null;
    this._version += 1;
  }

  /** Smallest and largest stored y, or null when empty. */
  yRange(): [number, number] | null {
    if (this._ys.length === 0) {
      return null;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const y of this._ys) {
      if (y < lo) lo = y;
      if (y > hi) hi = y;
    }
    return [lo, hi];
  }

  private _halve(): void {
    const xs: number[] = [];
    const ys: number[] = [];
    const ws: number[] = [];
    for (let i = 0; i < this._xs.length; i += 2) {
      if (i + 1 >= this._xs.length) {
        xs.push(this._xs[i]);
        ys.push(this._ys[i]);
        ws.push(this._ws[i]);
        break;
      }
      const a = this._ws[i];
      const b = this._ws[i + 1];
      xs.push((this._xs[i] * a + this._xs[i + 1] * b) / (a + b));
      ys.push((this._ys[i] * a + this._ys[i + 1] * b) / (a + b));
      ws.push(a + b);
    }
    this._xs = xs;
    this._ys = ys;
    this._ws = ws;
    this._bucket *= 2;
  }

  private _xs: number[] = [];
  private _ys: number[] = [];
  private _ws: number[] = [];
  private _bucket = 1;
  private _count = 0;
  private _last: IPoint | null = null;
  private _version = 0;
}
