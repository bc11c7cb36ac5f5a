/**
 * Parallel coordinates of a sweep's trials: one vertical axis per parameter and one for the
 * objective, one polyline per trial. Numeric axes span the search space's bounds (log-scaled
 * where the dimension samples on a log scale), categorical axes spread their choices evenly.
 * Completed trials are shaded by how good their value is (the best is drawn on top and marked);
 * pruned and failed trials are drawn faint and dashed behind them.
 *
 * `parcoordsLayout` is the pure geometry (unit-tested under Node); `ParallelCoordinates` draws it
 * as an SVG sized to its element, and clicking a trial's line opens that trial's job.
 */
import { formatTick, linearScale, niceTicks, paddedRange } from './chartgeom';
import { formatMetric } from './format';
import { ISweep, ITrial, SweepChoice, SweepDimension } from './sweeppayloads';
import { formatParam, minimizes, paramLabels } from './sweeps';

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = { left: 44, right: 44, top: 30, bottom: 12 };

export interface IParTick {
  y: number;
  label: string;
}

export interface IParAxis {
  /** The parameter path, or `objective`. */
  key: string;
  label: string;
  x: number;
  log: boolean;
  objective: boolean;
  ticks: IParTick[];
}

export interface IParLine {
  number: number;
  jobId: string | null;
  status: string;
  value: number | null;
  /** 0 (worst) … 1 (best) among completed trials with a value; null for the others. */
  shade: number | null;
  best: boolean;
  points: [number, number][];
}

export interface IParLayout {
  axes: IParAxis[];
  /** Drawing order: faint lines first, the best last. */
  lines: IParLine[];
}

/** Where each trial's line crosses each axis, for a `width` × `height` plot. */
export function parcoordsLayout(sweep: ISweep, trials: readonly ITrial[], width: number, height: number): IParLayout {
  const space = sweep.space ?? {};
  const paths = [...Object.keys(space)];
  for (const trial of trials) {
    for (const path of Object.keys(trial.params ?? {})) {
      if (!paths.includes(path)) {
        paths.push(path);
      }
    }
  }
  const labels = paramLabels(paths);
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const axes: IParAxis[] = [];
  const maps: ((value: SweepChoice | number | undefined) => number | null)[] = [];

  paths.forEach((path, index) => {
    const values = trials.map(trial => trial.params?.[path]).filter(value => value !== undefined) as SweepChoice[];
    const axis = paramAxis(path, labels.get(path) ?? path, space[path], values, 0, top, bottom);
    axes.push(axis.axis);
    maps.push(axis.map);
  });

  const metric = sweep.objective?.metric ?? 'objective';
  const values = trials.map(trial => trial.value).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const [lo, hi] = values.length > 0 ? paddedRange(Math.min(...values), Math.max(...values)) : [0, 1];
  const sy = linearScale([lo, hi], [bottom, top]);
  axes.push({
    key: 'objective',
    label: metric,
    x: 0,
    log: false,
    objective: true,
    ticks: niceTicks(lo, hi, Math.max(2, Math.floor((bottom - top) / 40))).map(v => ({ y: sy(v), label: formatTick(v) }))
  });
  maps.push(value => (typeof value === 'number' && Number.isFinite(value) ? sy(value) : null));

  // Room for the first axis's tick labels (left of it) and the objective's (right of it).
  const left = Math.max(MARGIN.left, labelWidth(axes[0]));
  const right = Math.max(MARGIN.right, labelWidth(axes[axes.length - 1]));
  const xs = linearScale([0, Math.max(1, axes.length - 1)], [left, Math.max(left, width - right)]);
  axes.forEach((axis, index) => {
    axis.x = xs(index);
  });

  // Shades: completed trials ranked by value, better is darker.
  const minimize = minimizes(sweep);
  const scored = trials.filter(t => t.status === 'completed' && typeof t.value === 'number' && Number.isFinite(t.value));
  const worst = scored.length ? (minimize ? Math.max : Math.min)(...scored.map(t => t.value as number)) : 0;
  const bestValue = scored.length ? (minimize ? Math.min : Math.max)(...scored.map(t => t.value as number)) : 0;
  const bestNumber = sweep.best?.number ?? null;

  const lines: IParLine[] = trials.map(trial => {
    const points: [number, number][] = [];
    paths.forEach((path, index) => {
      const y = maps[index](trial.params?.[path]);
      if (y !== null) {
        points.push([axes[index].x, y]);
      }
    });
    const y = maps[paths.length](trial.value ?? undefined);
    if (y !== null) {
      points.push([axes[paths.length].x, y]);
    }
    const scoredTrial = scored.includes(trial);
    const shade =
      !scoredTrial ? null : bestValue === worst ? 1 : Math.abs((trial.value as number) - worst) / Math.abs(bestValue - worst);
    return {
      number: trial.number,
      jobId: trial.job_id,
      status: trial.status,
      value: trial.value,
      shade,
      best: bestNumber !== null ? trial.number === bestNumber : false,
      points
    };
  });
  lines.sort((a, b) => drawRank(a) - drawRank(b));
  return { axes, lines };
}

/** About how wide an axis's tick labels are, in px (10 px text), and a gap. */
function labelWidth(axis: IParAxis): number {
  return 8 + 6 * Math.max(0, ...axis.ticks.map(tick => tick.label.length));
}

function drawRank(line: IParLine): number {
  if (line.best) {
    return 3;
  }
  return line.shade === null ? (line.status === 'running' ? 1 : 0) : 2 + line.shade * 0.999;
}

/** One parameter's axis and how a value maps onto it. */
function paramAxis(
  key: string,
  label: string,
  dimension: SweepDimension | undefined,
  values: SweepChoice[],
  x: number,
  top: number,
  bottom: number
): { axis: IParAxis; map: (value: SweepChoice | number | undefined) => number | null } {
  const numeric = dimension ? dimension.type !== 'categorical' : values.every(v => typeof v === 'number');
  if (!numeric || values.some(v => typeof v !== 'number')) {
    const choices: SweepChoice[] = dimension?.type === 'categorical' ? [...dimension.choices] : [];
    for (const value of values) {
      if (!choices.some(choice => choice === value)) {
        choices.push(value);
      }
    }
    const at = (index: number): number =>
      choices.length <= 1 ? (top + bottom) / 2 : bottom - (index / (choices.length - 1)) * (bottom - top);
    return {
      axis: { key, label, x, log: false, objective: false, ticks: choices.map((c, i) => ({ y: at(i), label: formatParam(c) })) },
      map: value => {
        const index = choices.findIndex(choice => choice === value);
        return value === undefined || index < 0 ? null : at(index);
      }
    };
  }
  const numbers = values as number[];
  let lo = dimension && dimension.type !== 'categorical' ? dimension.low : Math.min(...numbers);
  let hi = dimension && dimension.type !== 'categorical' ? dimension.high : Math.max(...numbers);
  lo = Math.min(lo, ...numbers);
  hi = Math.max(hi, ...numbers);
  const log = !!(dimension && dimension.type !== 'categorical' && dimension.log) && lo > 0;
  if (log) {
    const sy = linearScale([Math.log10(lo), Math.log10(hi)], [bottom, top]);
    return {
      axis: { key, label, x, log, objective: false, ticks: logTicks(lo, hi).map(v => ({ y: sy(Math.log10(v)), label: logLabel(v) })) },
      map: value => (typeof value === 'number' && value > 0 ? sy(Math.log10(value)) : null)
    };
  }
  const sy = linearScale([lo, hi], [bottom, top]);
  const integer = dimension?.type === 'int';
  const ticks = niceTicks(lo, hi, Math.max(2, Math.floor((bottom - top) / 40))).filter(v => !integer || Number.isInteger(v));
  return {
    axis: { key, label, x, log, objective: false, ticks: ticks.map(v => ({ y: sy(v), label: formatTick(v) })) },
    map: value => (typeof value === 'number' && Number.isFinite(value) ? sy(value) : null)
  };
}

/** Powers of ten within [lo, hi]; the ends themselves when fewer than two fall inside. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++) {
    ticks.push(Number((10 ** e).toPrecision(12)));
  }
  return ticks.length >= 2 ? ticks : [lo, hi];
}

/** 0.001 → "1e-3", 0.05 → "0.05", 3e5 → "3e+5". */
export function logLabel(value: number): string {
  if (value >= 0.01 && value < 1e4) {
    return String(Number(value.toPrecision(3)));
  }
  return Number(value.toPrecision(3))
    .toExponential()
    .replace(/\.?0+e/, 'e');
}

/** The tooltip of a trial's line: its number, status, value and parameters. */
function lineTitle(line: IParLine, trial: ITrial | undefined, metric: string, labels: Map<string, string>): string {
  const head = `#${line.number} · ${line.status} · ${metric} ${formatMetric(line.value)}`;
  const params = Object.entries(trial?.params ?? {}).map(([path, value]) => `${labels.get(path) ?? path} = ${formatParam(value)}`);
  return [head, ...params].join('\n');
}

/** The parallel-coordinates plot of a sweep, redrawn on `update` and when resized. */
export class ParallelCoordinates {
  constructor(private readonly _open: (jobId: string) => void) {
    this.node = document.createElement('div');
    this.node.className = 'lepton-lab-chart lepton-lab-parcoords';
    const title = document.createElement('div');
    title.className = 'lepton-lab-chart-title';
    title.textContent = 'Parallel coordinates';
    this._plot = document.createElement('div');
    this._plot.className = 'lepton-lab-chart-plot';
    this._svg = document.createElementNS(SVG_NS, 'svg');
    this._svg.setAttribute('class', 'lepton-lab-chart-svg');
    this._empty = document.createElement('div');
    this._empty.className = 'lepton-lab-chart-empty';
    this._empty.textContent = 'Waiting for trials…';
    this._plot.append(this._svg, this._empty);
    this.node.append(title, this._plot);
    this._svg.addEventListener('click', event => {
      const target = (event.target as Element).closest('[data-job-id]');
      const id = target?.getAttribute('data-job-id');
      if (id) {
        this._open(id);
      }
    });
    if (typeof ResizeObserver !== 'undefined') {
      this._resize = new ResizeObserver(() => this.draw());
      this._resize.observe(this._plot);
    }
  }

  readonly node: HTMLDivElement;

  update(sweep: ISweep, trials: readonly ITrial[]): void {
    this._sweep = sweep;
    this._trials = trials;
    this.draw();
  }

  draw(): void {
    const width = this._plot.clientWidth;
    const height = this._plot.clientHeight;
    if (!this._sweep || width <= 0 || height <= 0) {
      return;
    }
    const { axes, lines } = parcoordsLayout(this._sweep, this._trials, width, height);
    this._empty.hidden = this._trials.length > 0;
    const labels = paramLabels(axes.filter(a => !a.objective).map(a => a.key));
    const byNumber = new Map(this._trials.map(trial => [trial.number, trial]));
    const metric = this._sweep.objective?.metric ?? 'objective';
    const svg = this._svg;
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(height));
    const nodes: SVGElement[] = [];
    for (const line of lines) {
      if (line.points.length < 2) {
        continue;
      }
      const path = svgEl('polyline', `lepton-lab-pc-line${line.best ? ' lepton-lab-pc-best' : ''}`);
      path.setAttribute('points', line.points.map(([x, y]) => `${round1(x)},${round1(y)}`).join(' '));
      path.dataset.status = line.status;
      path.dataset.number = String(line.number);
      if (line.jobId) {
        path.dataset.jobId = line.jobId;
      }
      if (line.shade !== null) {
        path.style.strokeOpacity = String(0.3 + 0.7 * line.shade);
      }
      const title = svgEl('title', '');
      title.textContent = lineTitle(line, byNumber.get(line.number), metric, labels);
      path.appendChild(title);
      nodes.push(path);
    }
    axes.forEach((axis, index) => {
      const group = svgEl('g', `lepton-lab-pc-axis${axis.objective ? ' lepton-lab-pc-objective' : ''}`);
      group.dataset.key = axis.key;
      group.dataset.scale = axis.log ? 'log' : 'linear';
      const rule = svgEl('line', 'lepton-lab-axis');
      rule.setAttribute('x1', String(round1(axis.x)));
      rule.setAttribute('x2', String(round1(axis.x)));
      rule.setAttribute('y1', String(MARGIN.top));
      rule.setAttribute('y2', String(height - MARGIN.bottom));
      group.appendChild(rule);
      // The objective's ticks go to its right, clear of the lines that end on it.
      const side = axis.objective ? 1 : -1;
      for (const tick of axis.ticks) {
        const text = svgEl('text', 'lepton-lab-tick lepton-lab-pc-tick');
        text.setAttribute('x', String(round1(axis.x + 4 * side)));
        text.setAttribute('y', String(round1(tick.y + 3)));
        text.setAttribute('text-anchor', axis.objective ? 'start' : 'end');
        text.textContent = tick.label;
        group.appendChild(text);
      }
      // The outer labels grow inwards, so they are not cut at the plot's edges.
      const first = index === 0;
      const last = index === axes.length - 1 && !first;
      const label = svgEl('text', 'lepton-lab-pc-label');
      label.setAttribute('x', String(first ? 2 : last ? width - 2 : round1(axis.x)));
      label.setAttribute('y', String(MARGIN.top - 12));
      label.setAttribute('text-anchor', first ? 'start' : last ? 'end' : 'middle');
      label.textContent = axis.log ? `${axis.label} (log)` : axis.label;
      group.appendChild(label);
      nodes.push(group);
    });
    svg.replaceChildren(...nodes);
  }

  dispose(): void {
    this._resize?.disconnect();
  }

  private _plot: HTMLDivElement;
  private _svg: SVGSVGElement;
  private _empty: HTMLDivElement;
  private _resize: ResizeObserver | null = null;
  private _sweep: ISweep | null = null;
  private _trials: readonly ITrial[] = [];
}

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, className: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  if (className) {
    node.setAttribute('class', className);
  }
  return node;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
