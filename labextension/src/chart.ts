/**
 * LineChart: a small SVG line chart for live metric curves; Sparkline: its tiny cousin.
 *
 * Drawing reads BoundedSeries (a few hundred points each) and is throttled
 * with FrameThrottle, so a job streaming hundreds of events a second costs one
 * cheap redraw per interval. The SVG's view box is the element's pixel size
 * (tracked with a ResizeObserver), so strokes and labels are never stretched.
 */
import { formatTick, linearScale, niceTicks, paddedRange, pathData, sparklinePath } from './chartgeom';
import { formatMetric } from './format';
import type { SeriesKey } from './metrics';
import { BoundedSeries } from './series';
import { FrameThrottle } from './throttle';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** How one curve of a chart looks. */
export interface ICurveStyle {
  key: string;
  label: string;
  /** CSS class giving the colour (`lepton-lab-curve-train`, `-val`, …). */
  className: string;
  /** Draw a dot at each point (epoch curves). */
  markers?: boolean;
  /** Join the points with a line (default true; false with `markers` draws a scatter). */
  line?: boolean;
  /** Show the last value in the legend (default true; a scatter's last point means little). */
  legendValue?: boolean;
}

export interface IChartOptions {
  title: string;
  curves: ICurveStyle[];
  /** Fixed y range (accuracy: [0, 1]) or automatic. */
  yDomain?: [number, number] | 'auto';
  xLabel?: string;
  /** Least ms between redraws (default 100). */
  minInterval?: number;
  /** What the chart says while it has no point (default "Waiting for metrics…"). */
  emptyText?: string;
}

const MARGIN = { left: 46, right: 10, top: 8, bottom: 24 };

export class LineChart {
  constructor(options: IChartOptions) {
    this._options = options;
    this.node = document.createElement('div');
    this.node.className = 'lepton-lab-chart';
    const title = document.createElement('div');
    title.className = 'lepton-lab-chart-title';
    title.textContent = options.title;
    this._legend = document.createElement('div');
    this._legend.className = 'lepton-lab-chart-legend';
    this._plot = document.createElement('div');
    this._plot.className = 'lepton-lab-chart-plot';
    this._svg = document.createElementNS(SVG_NS, 'svg');
    this._svg.setAttribute('class', 'lepton-lab-chart-svg');
    this._axes = document.createElementNS(SVG_NS, 'g');
    this._axes.setAttribute('class', 'lepton-lab-chart-axes');
    this._svg.appendChild(this._axes);
    this._empty = document.createElement('div');
    this._empty.className = 'lepton-lab-chart-empty';
    this._empty.textContent = options.emptyText ?? 'Waiting for metrics…';
    this._plot.append(this._svg, this._empty);
    this.node.append(title, this._plot, this._legend);
    for (const curve of options.curves) {
      const path = document.createElementNS(SVG_NS, 'path');
      path.setAttribute('class', `lepton-lab-curve ${curve.className}${curve.markers ? ' lepton-lab-curve-markers' : ''}`);
      path.dataset.key = curve.key;
      this._svg.appendChild(path);
      this._paths.set(curve.key, path);
      let dots: SVGPathElement | null = null;
      if (curve.markers) {
        dots = document.createElementNS(SVG_NS, 'path');
        dots.setAttribute('class', `lepton-lab-dots ${curve.className}`);
        this._svg.appendChild(dots);
        this._dots.set(curve.key, dots);
      }
      const item = document.createElement('span');
      item.className = `lepton-lab-legend-item ${curve.className}`;
      const swatch = document.createElement('span');
      swatch.className = 'lepton-lab-legend-swatch';
      const text = document.createElement('span');
      text.textContent = curve.label;
      const value = document.createElement('span');
      value.className = 'lepton-lab-legend-value';
      item.append(swatch, text, value);
      item.hidden = true;
      this._legend.appendChild(item);
      this._legendItems.set(curve.key, { item, value });
    }
    this._throttle = new FrameThrottle(() => this.draw(), { minInterval: options.minInterval ?? 100 });
    if (typeof ResizeObserver !== 'undefined') {
      this._resize = new ResizeObserver(() => {
        this._sizeKey = '';
        this.invalidate();
      });
      this._resize.observe(this._plot);
    }
  }

  readonly node: HTMLDivElement;

  /** Plot `series` as the curve `key`. */
  setSeries(key: string, series: BoundedSeries): void {
    this._series.set(key, series);
    this.invalidate();
  }

  /** Ask for a redraw (coalesced and throttled). */
  invalidate(): void {
    this._throttle.schedule();
  }

  /** Redraw now if anything changed. */
  draw(): void {
    const width = this._plot.clientWidth;
    const height = this._plot.clientHeight;
    if (width <= 0 || height <= 0) {
      return; // hidden: the ResizeObserver asks again when shown
    }
    const versionKey = this._options.curves.map(c => this._series.get(c.key)?.version ?? -1).join(',');
    const sizeKey = `${width}x${height}`;
    if (versionKey === this._versionKey && sizeKey === this._sizeKey) {
      return;
    }
    this._versionKey = versionKey;

    let xlo = Infinity;
    let xhi = -Infinity;
    let ylo = Infinity;
    let yhi = -Infinity;
    let points = 0;
    for (const curve of this._options.curves) {
      const series = this._series.get(curve.key);
      if (!series || series.length === 0) {
        continue;
      }
      points += series.length;
      xlo = Math.min(xlo, series.xs[0]);
      xhi = Math.max(xhi, series.xs[series.length - 1]);
      const range = series.yRange();
      if (range) {
        ylo = Math.min(ylo, range[0]);
        yhi = Math.max(yhi, range[1]);
      }
    }
    this._empty.hidden = points > 0;
    if (points === 0) {
      for (const path of this._paths.values()) {
        path.setAttribute('d', '');
      }
      return;
    }
    const fixed = this._options.yDomain;
    const [y0, y1] = Array.isArray(fixed) ? [Math.min(fixed[0], ylo), Math.max(fixed[1], yhi)] : paddedRange(ylo, yhi);
    const [x0, x1] = xlo === xhi ? [xlo - 1, xhi + 1] : [xlo, xhi];
    const sx = linearScale([x0, x1], [MARGIN.left, width - MARGIN.right]);
    const sy = linearScale([y0, y1], [height - MARGIN.bottom, MARGIN.top]);

    this._svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    this._svg.setAttribute('width', String(width));
    this._svg.setAttribute('height', String(height));
    const axesKey = `${sizeKey}|${x0}|${x1}|${y0}|${y1}`;
    if (axesKey !== this._axesKey) {
      this._axesKey = axesKey;
      this._drawAxes(sx, sy, [x0, x1], [y0, y1], width, height);
    }
    this._sizeKey = sizeKey;

    for (const curve of this._options.curves) {
      const series = this._series.get(curve.key);
      const path = this._paths.get(curve.key)!;
      const legend = this._legendItems.get(curve.key)!;
      if (!series || series.length === 0) {
        path.setAttribute('d', '');
        legend.item.hidden = true;
        continue;
      }
      path.setAttribute('d', curve.line === false ? '' : pathData(series.xs, series.ys, sx, sy));
      const dots = this._dots.get(curve.key);
      if (dots) {
        // Dots only while they are few enough to tell apart (always when they are all there is).
        const shown = series.length <= 80 || curve.line === false;
        dots.setAttribute('d', shown ? dotsData(series.xs, series.ys, sx, sy) : '');
      }
      legend.item.hidden = false;
      legend.value.textContent = curve.legendValue === false ? '' : formatMetric(series.last?.y);
    }
  }

  dispose(): void {
    this._throttle.dispose();
    this._resize?.disconnect();
  }

  private _drawAxes(
    sx: (x: number) => number,
    sy: (y: number) => number,
    xDomain: [number, number],
    yDomain: [number, number],
    width: number,
    height: number
  ): void {
    const parts: string[] = [];
    const left = MARGIN.left;
    const right = width - MARGIN.right;
    const bottom = height - MARGIN.bottom;
    for (const y of niceTicks(yDomain[0], yDomain[1], Math.max(2, Math.floor(height / 40)))) {
      const py = Math.round(sy(y)) + 0.5;
      parts.push(`<line class="lepton-lab-grid" x1="${left}" x2="${right}" y1="${py}" y2="${py}"/>`);
      parts.push(`<text class="lepton-lab-tick" x="${left - 4}" y="${py + 3}" text-anchor="end">${formatTick(y)}</text>`);
    }
    const xTicks = niceTicks(xDomain[0], xDomain[1], Math.max(2, Math.floor(width / 90))).filter(
      x => Number.isInteger(x) || Math.abs(xDomain[1] - xDomain[0]) < 10
    );
    for (const x of xTicks) {
      const px = Math.round(sx(x)) + 0.5;
      parts.push(`<line class="lepton-lab-grid" x1="${px}" x2="${px}" y1="${MARGIN.top}" y2="${bottom}"/>`);
      parts.push(`<text class="lepton-lab-tick" x="${px}" y="${bottom + 14}" text-anchor="middle">${formatTick(x)}</text>`);
    }
    parts.push(`<line class="lepton-lab-axis" x1="${left}" x2="${right}" y1="${bottom + 0.5}" y2="${bottom + 0.5}"/>`);
    if (this._options.xLabel) {
      parts.push(
        `<text class="lepton-lab-axis-label" x="${right}" y="${height - 1}" text-anchor="end">${this._options.xLabel}</text>`
      );
    }
    this._axes.innerHTML = parts.join('');
  }

  private _options: IChartOptions;
  private _plot: HTMLDivElement;
  private _svg: SVGSVGElement;
  private _axes: SVGGElement;
  private _empty: HTMLDivElement;
  private _legend: HTMLDivElement;
  private _paths = new Map<string, SVGPathElement>();
  private _dots = new Map<string, SVGPathElement>();
  private _legendItems = new Map<string, { item: HTMLSpanElement; value: HTMLSpanElement }>();
  private _series = new Map<string, BoundedSeries>();
  private _throttle: FrameThrottle;
  private _resize: ResizeObserver | null = null;
  private _versionKey = '';
  private _sizeKey = '';
  private _axesKey = '';
}

/** A small circle (r = 2.5) at every point, as one path. */
function dotsData(xs: readonly number[], ys: readonly number[], sx: (x: number) => number, sy: (y: number) => number): string {
  const parts: string[] = [];
  for (let i = 0; i < xs.length; i++) {
    const x = Math.round(sx(xs[i]) * 10) / 10;
    const y = Math.round(sy(ys[i]) * 10) / 10;
    parts.push(`M${x - 2.5} ${y}a2.5 2.5 0 1 0 5 0a2.5 2.5 0 1 0 -5 0`);
  }
  return parts.join('');
}

/** A tiny inline SVG line of a series (the panel's loss sparkline). */
export class Sparkline {
  constructor(
    readonly width = 84,
    readonly height = 22
  ) {
    this.node = document.createElementNS(SVG_NS, 'svg');
    this.node.setAttribute('class', 'lepton-lab-sparkline');
    this.node.setAttribute('width', String(width));
    this.node.setAttribute('height', String(height));
    this.node.setAttribute('viewBox', `0 0 ${width} ${height}`);
    this._path = document.createElementNS(SVG_NS, 'path');
    this.node.appendChild(this._path);
  }

  readonly node: SVGSVGElement;

  /** Redraw from `series` if it changed since the last call. */
  update(series: BoundedSeries | null): void {
    const version = series ? series.version : -1;
    if (series === this._series && version === this._version) {
      return;
    }
    this._series = series;
    this._version = version;
    this.node.style.visibility = series && series.length > 1 ? 'visible' : 'hidden';
    this._path.setAttribute('d', series ? sparklinePath(series.xs, series.ys, this.width, this.height) : '');
  }

  private _path: SVGPathElement;
  private _series: BoundedSeries | null = null;
  private _version = -2;
}

/** The loss and accuracy charts of a job: the Lab job view's and the notebook live plot's. */
export function jobCharts(
  series: Record<SeriesKey, BoundedSeries>,
  minInterval?: number
): { loss: LineChart; accuracy: LineChart } {
  const chart = (title: string, metric: 'loss' | 'accuracy', yDomain?: [number, number]): LineChart => {
    const epochKey = `epoch_${metric}` as const;
    const valKey = `val_${metric}` as const;
    const made = new LineChart({
      title,
      xLabel: 'step',
      yDomain,
      minInterval,
      curves: [
        { key: metric, label: 'train (batch)', className: 'lepton-lab-curve-batch' },
        { key: epochKey, label: 'train (epoch)', className: 'lepton-lab-curve-train', markers: true },
        { key: valKey, label: 'validation', className: 'lepton-lab-curve-val', markers: true }
      ]
    });
    made.node.classList.add(`lepton-lab-chart-${metric}`);
    for (const key of [metric, epochKey, valKey]) {
      made.setSeries(key, series[key]);
    }
    return made;
  };
  return { loss: chart('Loss', 'loss'), accuracy: chart('Accuracy', 'accuracy', [0, 1]) };
}
