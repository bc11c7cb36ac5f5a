/**
 * Chart geometry: scales, axis ticks and SVG path data.
 *
 * Pure functions shared by the job view's charts and the panel's sparklines,
 * unit-tested under Node.
 */

/** A linear map from `domain` to `range`; a zero-width domain maps to the range's middle. */
export function linearScale(domain: [number, number], range: [number, number]): (value: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d1 === d0) {
    const middle = (r0 + r1) / 2;
    return () => middle;
  }
  const k = (r1 - r0) / (d1 - d0);
  return value => r0 + (value - d0) * k;
}

/** Round "nice" tick values covering [lo, hi], about `count` of them (1, 2 or 5 × 10^n apart). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    return [];
  }
  if (hi < lo) {
    [lo, hi] = [hi, lo];
  }
  if (hi === lo) {
    return [lo];
  }
  const raw = (hi - lo) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map(m => m * magnitude).find(s => s >= raw) ?? 10 * magnitude;
  const first = Math.ceil(lo / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let value = first; value <= hi + step * 1e-9; value += step) {
    // Snap away float noise such as 0.30000000000000004.
    ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

/** [lo, hi] widened by `pad` of its span (or ±pad·|lo| for a flat range) so lines don't touch the edge. */
export function paddedRange(lo: number, hi: number, pad = 0.05): [number, number] {
  if (hi < lo) {
    [lo, hi] = [hi, lo];
  }
  const span = hi - lo;
  if (span === 0) {
    const delta = Math.abs(lo) * pad || 1;
    return [lo - delta, hi + delta];
  }
  return [lo - span * pad, hi + span * pad];
}

/** SVG path data ("M x y L x y …") through the points, coordinates rounded to 0.1 px. */
export function pathData(
  xs: readonly number[],
  ys: readonly number[],
  sx: (x: number) => number,
  sy: (y: number) => number
): string {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) {
    return '';
  }
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    parts[i] = `${i === 0 ? 'M' : 'L'}${round1(sx(xs[i]))} ${round1(sy(ys[i]))}`;
  }
  return parts.join('');
}

/** Path data of a sparkline filling a `width` × `height` box (y grows downwards). */
export function sparklinePath(xs: readonly number[], ys: readonly number[], width: number, height: number): string {
  if (xs.length === 0) {
    return '';
  }
  let xlo = Infinity;
  let xhi = -Infinity;
  let ylo = Infinity;
  let yhi = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    xlo = Math.min(xlo, xs[i]);
    xhi = Math.max(xhi, xs[i]);
    ylo = Math.min(ylo, ys[i]);
    yhi = Math.max(yhi, ys[i]);
  }
  const sx = linearScale([xlo, xhi], [1, width - 1]);
  const sy = linearScale([ylo, yhi], [height - 1, 1]);
  return pathData(xs, ys, sx, sy);
}

/** Tick label: compact, without float noise (0.1 not 0.10000000000000001; 12000 as 12k). */
export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) {
    return `${Number((value / 1e6).toPrecision(3))}M`;
  }
  if (abs >= 1e4) {
    return `${Number((value / 1e3).toPrecision(3))}k`;
  }
  return String(Number(value.toPrecision(4)));
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
