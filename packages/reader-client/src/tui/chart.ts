/**
 * The embeddable chart: a blessed-contrib line chart of the last N
 * readings of each sensor, time on the x axis, gaps where data is missing,
 * several sensors with a legend, a fixed y range when asked.
 *
 * How it works: `push` only appends to the series' ring buffers and marks
 * the chart dirty; drawing happens in `update()`, at most once per frame
 * (`frameIntervalMs`), never per reading. `update()` lays every series out
 * on one slot per pixel column (see layout.ts for how time and gaps are
 * mapped onto blessed-contrib's index-based line chart) and hands the result
 * to the widget.
 */
import type { Widgets } from 'blessed';
import contrib from 'blessed-contrib';
import { FrameScheduler } from './frame.js';
import { layoutSeries, timeLabel, yRange } from './layout.js';
import { Series } from './series.js';
import type { ChartPoint, SeriesStats } from './series.js';

/**
 * What the chart needs of a blessed-contrib grid: `set` builds a widget with
 * `factory` from box options placed in a cell, appends it to the screen and
 * returns it. A `new contrib.grid({ ... })` fits. The type is declared here so
 * that this package's types stand on their own: no blessed-contrib typings
 * are loaded into a program that imports the chart.
 */
export interface ChartGrid {
  set(
    row: number,
    col: number,
    rowSpan: number,
    colSpan: number,
    factory: (options: Widgets.BoxOptions) => Widgets.BoxElement,
    options: Widgets.BoxOptions,
  ): Widgets.BoxElement;
}

/**
 * A cell of a blessed-contrib grid to mount the chart in.
 *
 * @example
 * ```ts
 * const grid = new contrib.grid({ rows: 12, cols: 12, screen });
 * const chart = createChart({ grid: { grid, row: 0, col: 0, rowSpan: 8, colSpan: 12 } });
 * ```
 */
export interface ChartGridCell {
  grid: ChartGrid;
  row: number;
  col: number;
  rowSpan: number;
  colSpan: number;
}

/**
 * Options of {@link createChart}.
 *
 * @example
 * ```ts
 * const options: ChartOptions = { parent: screen, height: '70%', window: 50, yMin: 0, yMax: 1 };
 * ```
 */
export interface ChartOptions {
  /** A screen or box to append the chart to. */
  parent?: Widgets.Node;
  /** Or a grid cell to place it in. One of `parent` and `grid` is needed to draw. */
  grid?: ChartGridCell;
  /** Position inside `parent` (blessed units: cells or percentages). Default: all of it. */
  top?: Widgets.Types.TTopLeft;
  left?: Widgets.Types.TTopLeft;
  width?: Widgets.Types.TPosition;
  height?: Widgets.Types.TPosition;
  /** Readings shown per sensor. Default 20, as the original lector. */
  window?: number;
  /** Fixed bottom of the y axis; autoscaled when omitted. */
  yMin?: number;
  /** Fixed top of the y axis; autoscaled when omitted. A fixed range keeps a sawtooth's axis still. */
  yMax?: number;
  /** Steps between y labels. Default 5. */
  yLabels?: number;
  /** Title on the border. Default ' readings '. */
  label?: string;
  /** x labels as wall-clock time (`12:00:01.250`) or seconds before the newest reading (`-2.5s`). Default 'clock'. */
  timeLabels?: 'clock' | 'relative';
  /** Break the line and count lost readings where the seq jumps. Default true; false for polled data. */
  trackSeq?: boolean;
  /** Sensors drawn at most; readings of further sensors are ignored (and counted). Default 8. */
  maxSeries?: number;
  /** Line colours, one per sensor in order of appearance. */
  colors?: readonly string[];
  /** Show the legend box. Default true. */
  showLegend?: boolean;
  /** Minimum time between two renders, in ms. Default 50 (at most 20 frames/s). */
  frameIntervalMs?: number;
  /**
   * Called (cheaply, once per change) instead of rendering: for an owner
   * that renders the screen on its own frame timer, like the dashboard.
   */
  onChange?: () => void;
}

/**
 * Defaults of {@link ChartOptions}.
 *
 * @example
 * ```ts
 * CHART_DEFAULTS.window; // 20
 * ```
 */
export const CHART_DEFAULTS = Object.freeze({
  window: 20,
  maxWindow: 100_000,
  yLabels: 5,
  label: ' readings ',
  timeLabels: 'clock',
  trackSeq: true,
  maxSeries: 8,
  colors: Object.freeze(['yellow', 'cyan', 'magenta', 'green', 'red', 'blue', 'white']),
  showLegend: true,
  frameIntervalMs: 50,
});

/**
 * The chart widget returned by {@link createChart}.
 *
 * @example
 * ```ts
 * const chart = createChart({ parent: screen, window: 20, yMin: 0, yMax: 1 });
 * for await (const r of client.subscribe('ramp')) chart.push(r.name, r);
 * ```
 */
export interface Chart {
  /** The chart's element, a blessed box (to focus, hide, re-position...); its data belongs to the chart. */
  readonly element: Widgets.BoxElement;
  /** Readings shown per sensor. */
  readonly window: number;
  /** Times the chart rendered the screen on its own frame timer. */
  readonly frames: number;
  /** Readings ignored because `maxSeries` sensors are already drawn. */
  readonly ignored: number;
  /** Adds a reading of sensor `name`; the screen is redrawn within a frame. A NaN value marks a gap. */
  push(name: string, point: ChartPoint): void;
  /** Data is missing from now on for `name` (or every sensor): the line breaks before the next reading. */
  markGap(name?: string): void;
  /** Shows the last `n` readings per sensor (2 .. 100000). */
  setWindow(n: number): void;
  /** The sensors drawn, in order of appearance. */
  names(): string[];
  /** Per sensor: last, min and max over the window, rate, lost. */
  stats(): SeriesStats[];
  /** Forgets every reading and sensor. */
  clear(): void;
  /** Lays the buffered readings out in the widget now (no screen render). */
  update(): void;
  /** Updates and renders the screen now. */
  render(): void;
  /** Stops the frame timer and removes the element. */
  destroy(): void;
}

/** Readings kept per sensor at least, whatever the window. */
const HISTORY_READINGS = 1024;

type LineElement = contrib.Widgets.LineElement & {
  ctx?: unknown;
  canvasSize: { width: number; height: number };
  options: contrib.Widgets.LineOptions & {
    numYLabels?: number;
    showLegend?: boolean;
    minY?: number;
    maxY?: number;
    xPadding?: number;
    xLabelPadding?: number;
  };
  legend?: Widgets.BoxElement | undefined;
};

function checkWindow(n: unknown): number {
  if (typeof n !== 'number') throw new TypeError(`window must be a number, got ${typeof n}`);
  if (!Number.isInteger(n) || n < 2 || n > CHART_DEFAULTS.maxWindow) {
    throw new RangeError(`window must be an integer in 2..${CHART_DEFAULTS.maxWindow}, got ${n}`);
  }
  return n;
}

function checkFinite(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${name} must be a finite number`);
  return v;
}

/** The widest y label blessed-contrib will print for this range (it uses 2 decimals when a step is below 1). */
function yLabelWidth(range: { min: number; step: number }, steps: number): number {
  let widest = 1;
  for (let k = 0; k <= steps; k += 1) {
    const v = range.min + k * range.step;
    widest = Math.max(widest, v.toFixed(range.step < 1 && v !== 0 ? 2 : 0).length);
  }
  return widest;
}

/** blessed-contrib sizes its canvas from the element; keep it valid for tiny elements too. */
function safeCalcSize(this: LineElement): void {
  const width = typeof this.width === 'number' ? this.width : 0;
  const height = typeof this.height === 'number' ? this.height : 0;
  this.canvasSize = { width: Math.max(2, width * 2 - 12), height: Math.max(4, height * 4 - 8) };
}

class LineChart implements Chart {
  readonly element: LineElement;
  readonly #series = new Map<string, Series>();
  readonly #options: {
    yMin: number | undefined;
    yMax: number | undefined;
    yLabels: number;
    timeLabels: 'clock' | 'relative';
    trackSeq: boolean;
    maxSeries: number;
    colors: readonly string[];
    showLegend: boolean;
  };
  readonly #scheduler: FrameScheduler | undefined;
  readonly #onChange: (() => void) | undefined;
  #window: number;
  #ignored = 0;
  #screen: Widgets.Screen | undefined;
  #scratch = new Map<string, { times: Float64Array; values: Float64Array; breaks: Float64Array }>();

  constructor(options: ChartOptions) {
    this.#window = checkWindow(options.window ?? CHART_DEFAULTS.window);
    const yMin = checkFinite('yMin', options.yMin);
    const yMax = checkFinite('yMax', options.yMax);
    if (yMin !== undefined && yMax !== undefined && !(yMax > yMin))
      throw new RangeError('yMax must be greater than yMin');
    const yLabels = options.yLabels ?? CHART_DEFAULTS.yLabels;
    if (!Number.isInteger(yLabels) || yLabels < 1 || yLabels > 50) {
      throw new RangeError('yLabels must be an integer in 1..50');
    }
    const maxSeries = options.maxSeries ?? CHART_DEFAULTS.maxSeries;
    if (!Number.isInteger(maxSeries) || maxSeries < 1) throw new RangeError('maxSeries must be an integer >= 1');
    const frameIntervalMs = options.frameIntervalMs ?? CHART_DEFAULTS.frameIntervalMs;
    if (!(frameIntervalMs >= 1) || !Number.isFinite(frameIntervalMs)) {
      throw new RangeError('frameIntervalMs must be a finite number >= 1');
    }
    const colors = options.colors ?? CHART_DEFAULTS.colors;
    if (colors.length === 0) throw new RangeError('colors must not be empty');
    this.#options = {
      yMin,
      yMax,
      yLabels,
      timeLabels: options.timeLabels ?? CHART_DEFAULTS.timeLabels,
      trackSeq: options.trackSeq ?? CHART_DEFAULTS.trackSeq,
      maxSeries,
      colors,
      showLegend: options.showLegend ?? CHART_DEFAULTS.showLegend,
    };
    this.#onChange = options.onChange;
    if (!this.#onChange) this.#scheduler = new FrameScheduler(() => this.#draw(), frameIntervalMs);

    const lineOptions: contrib.Widgets.LineOptions & Record<string, unknown> = {
      label: options.label ?? CHART_DEFAULTS.label,
      showLegend: this.#options.showLegend,
      legend: { width: 12 },
      minY: 0,
      numYLabels: yLabels,
      xLabelPadding: 3,
      xPadding: 5,
      wholeNumbersOnly: false,
      style: { line: colors[0] ?? 'yellow', text: 'white', baseline: 'white' },
    };
    if (options.grid) {
      const { grid, row, col, rowSpan, colSpan } = options.grid;
      // The grid hands back lineOptions, placed in the cell.
      const factory = (opts: Widgets.BoxOptions): LineElement => {
        const el = contrib.line(opts as contrib.Widgets.LineOptions) as LineElement;
        el.calcSize = safeCalcSize;
        return el;
      };
      this.element = grid.set(row, col, rowSpan, colSpan, factory, lineOptions) as LineElement;
    } else {
      lineOptions.top = options.top ?? 0;
      lineOptions.left = options.left ?? 0;
      lineOptions.width = options.width ?? '100%';
      lineOptions.height = options.height ?? '100%';
      lineOptions.border = { type: 'line' };
      // Appended after construction: blessed-contrib creates its canvas on 'attach'.
      this.element = contrib.line(lineOptions);
      this.element.calcSize = safeCalcSize;
      options.parent?.append(this.element);
    }
    this.#screen = this.element.screen;
    this.#screen?.on('resize', this.#onResize);
  }

  get window(): number {
    return this.#window;
  }

  get frames(): number {
    return this.#scheduler?.frames ?? 0;
  }

  get ignored(): number {
    return this.#ignored;
  }

  push(name: string, point: ChartPoint): void {
    if (!Number.isFinite(point.value)) {
      // No value (a legacy poll's `nan`): a gap, not a point.
      this.markGap(name);
      return;
    }
    let series = this.#series.get(name);
    if (!series) {
      if (this.#series.size >= this.#options.maxSeries) {
        this.#ignored += 1;
        return;
      }
      const color = this.#options.colors[this.#series.size % this.#options.colors.length] ?? 'yellow';
      // Some history beyond the window, so that a larger window shows data at once.
      series = new Series(name, color, Math.max(this.#window, HISTORY_READINGS), this.#options.trackSeq);
      this.#series.set(name, series);
    }
    if (series.push(point)) this.#changed();
  }

  markGap(name?: string): void {
    if (name === undefined) for (const s of this.#series.values()) s.markGap();
    else this.#series.get(name)?.markGap();
  }

  setWindow(n: number): void {
    this.#window = checkWindow(n);
    for (const s of this.#series.values()) s.ensureCapacity(this.#window);
    this.#changed();
  }

  names(): string[] {
    return [...this.#series.keys()];
  }

  stats(): SeriesStats[] {
    return [...this.#series.values()].map((s) => s.stats(this.#window));
  }

  clear(): void {
    this.#series.clear();
    this.#scratch.clear();
    this.#ignored = 0;
    this.#changed();
  }

  update(): void {
    const el = this.element;
    if (!el.ctx || el.detached) return;
    const window = this.#window;
    const all = [...this.#series.values()];
    // Pass 1: copy each window out of its ring buffers; find the time span and value range.
    let tMin = Number.POSITIVE_INFINITY;
    let tMax = Number.NEGATIVE_INFINITY;
    let vMin = Number.POSITIVE_INFINITY;
    let vMax = Number.NEGATIVE_INFINITY;
    const copied: { series: Series; n: number; times: Float64Array; values: Float64Array; breaks: Float64Array }[] = [];
    for (const series of all) {
      let scratch = this.#scratch.get(series.name);
      if (scratch?.values.length !== window) {
        scratch = {
          times: new Float64Array(window),
          values: new Float64Array(window),
          breaks: new Float64Array(window),
        };
        this.#scratch.set(series.name, scratch);
      }
      const n = series.copyLast(window, scratch.times, scratch.values, scratch.breaks);
      if (n === 0) continue;
      for (let i = 0; i < n; i += 1) {
        const t = scratch.times[i] ?? Number.NaN;
        const v = scratch.values[i] ?? Number.NaN;
        if (t < tMin) tMin = t;
        if (t > tMax) tMax = t;
        if (v < vMin) vMin = v;
        if (v > vMax) vMax = v;
      }
      copied.push({ series, n, ...scratch });
    }
    if (!Number.isFinite(tMax)) tMax = Date.now();
    if (!(tMin < tMax)) tMin = tMax - 1000;
    const span = tMax - tMin;

    const range = yRange(vMin, vMax, this.#options.yMin, this.#options.yMax, this.#options.yLabels);
    const steps = Math.max(1, Math.round((range.max - range.min) / range.step));
    // One step of headroom: blessed-contrib draws the top value 2 pixels above the
    // canvas (cut off) and never labels the top of its range.
    const top = range.min + (steps + 1) * range.step;
    el.options.minY = range.min;
    el.options.maxY = top === 0 ? Number.MIN_VALUE : top;
    el.options.numYLabels = steps + 1;
    // Room for the widest y label plus one blank column before it (units: canvas pixels, 2 per cell).
    const labelCells = yLabelWidth(range, steps);
    el.options.xLabelPadding = labelCells * 2;
    el.options.xPadding = labelCells * 2 + 2;

    const slots = Math.max(2, Math.floor(el.canvasSize.width) - 14);
    // No reading yet (or none left): no time to label. A blank label is one
    // space: the canvas prints an empty string as 'null'.
    const labels = new Array<string>(slots).fill(' ');
    if (copied.length > 0) {
      for (let k = 0; k < slots; k += 1) {
        labels[k] = timeLabel(tMin + (span * k) / (slots - 1), tMax, span, this.#options.timeLabels);
      }
    }
    const data: contrib.Widgets.LineData[] = copied.map(({ series, n, times, values, breaks }) => ({
      title: series.name,
      x: labels,
      y: layoutSeries(times, values, breaks, n, tMin, tMax, slots, range.min, range.max),
      style: { line: series.color },
    }));
    const showLegend = this.#options.showLegend && data.length > 0;
    el.options.showLegend = showLegend;
    if (!showLegend && el.legend) {
      el.remove(el.legend);
      el.legend = undefined;
    }
    const longest = data.reduce((m, d) => Math.max(m, d.title?.length ?? 0), 0);
    el.options.legend = { width: Math.min(32, Math.max(8, longest + 2)) };
    // blessed-contrib prints every ceil(points / labels that fit)-th x label of
    // the first series: the placeholder of an empty chart needs one point per
    // slot too (NaN: nothing drawn), or it prints all `slots` labels a pixel
    // apart, one over the other.
    if (data.length === 0) data.push({ title: '', x: labels, y: new Array<number>(slots).fill(Number.NaN) });
    el.setData(data);
  }

  render(): void {
    this.#scheduler?.cancel();
    this.#draw();
  }

  #draw(): void {
    this.update();
    this.element.screen?.render();
  }

  destroy(): void {
    this.#scheduler?.stop();
    this.#screen?.off('resize', this.#onResize);
    this.element.destroy();
  }

  #changed(): void {
    if (this.#onChange) this.#onChange();
    else this.#scheduler?.invalidate();
  }

  readonly #onResize = (): void => {
    // blessed-contrib sizes its canvas on 'attach' only: size it again.
    if (this.element.detached || !this.element.ctx) return;
    this.element.emit('attach');
    this.#changed();
  };
}

/**
 * Creates a line chart of the last `window` readings per sensor, mounted in
 * `parent` (a screen or any box) or in a blessed-contrib grid cell. Feed it
 * with `push`; it renders the screen by itself at most every
 * `frameIntervalMs`, only when something changed.
 *
 * @example
 * ```ts
 * import blessed from 'blessed';
 * import { connect } from '@opc-lite/reader-client';
 * import { createChart } from '@opc-lite/reader-client/tui';
 *
 * const screen = blessed.screen({ smartCSR: true });
 * const chart = createChart({ parent: screen, height: '60%', window: 50, yMin: 0, yMax: 1 });
 * screen.key(['q', 'C-c'], () => screen.destroy());
 * const client = await connect({ reconnect: true });
 * for await (const r of client.subscribe('ramp*', { backlog: 50 })) chart.push(r.name, r);
 * ```
 */
export function createChart(options: ChartOptions = {}): Chart {
  return new LineChart(options);
}
