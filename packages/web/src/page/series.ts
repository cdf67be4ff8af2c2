/**
 * The page's data, without the DOM: each sensor's readings (or buckets) in typed arrays, and the table uPlot
 * draws, built from them at most once per frame.
 *
 * How it works: {@link RawSeries} keeps readings in (timestamp, seq) order in growable `Float64Array` columns
 * with a moving start, so appending a reading and dropping the oldest cost no allocation.
 * {@link BucketSeries} keeps the buckets of `/api/range?points=` (docs/HTTP.md, "GET /api/range") on the grid
 * the server cut, and folds live readings into them. {@link plotTable} joins several sensors on one x axis:
 * the union of their x values; a sensor has `undefined` where another has a point (uPlot draws across it) and
 * `null` all along a gap in its own data (uPlot breaks the line over nulls only), a gap being a step between two
 * points more than {@link GAP_FACTOR} times the sensor's median step. {@link foldTable} does the same for raw
 * readings on a grid of pixel columns, keeping at most four points per sensor and column, so what a redraw costs
 * does not grow with the readings on screen.
 */

/** A step this many times a sensor's median step is drawn as a gap. */
export const GAP_FACTOR = 5;

/** Growable Float64Array columns with a moving start. */
class Columns {
  cols: Float64Array[];
  start = 0;
  end = 0;

  constructor(count: number, capacity = 256) {
    this.cols = Array.from({ length: count }, () => new Float64Array(capacity));
  }

  get length(): number {
    return this.end - this.start;
  }

  /** Makes room for one more row at the end: compacts in place when half is free, else doubles. */
  reserve(): void {
    const capacity = this.cols[0]!.length;
    if (this.end < capacity) return;
    const length = this.length;
    if (length * 2 <= capacity) {
      for (const col of this.cols) col.copyWithin(0, this.start, this.end);
    } else {
      this.cols = this.cols.map((col) => {
        const next = new Float64Array(capacity * 2);
        next.set(col.subarray(this.start, this.end));
        return next;
      });
    }
    this.start = 0;
    this.end = length;
  }

  /** Opens a row at position `rel` (0 to length), moving the rows after it; returns its absolute index. */
  insertAt(rel: number): number {
    this.reserve();
    const at = this.start + rel;
    if (at < this.end) for (const col of this.cols) col.copyWithin(at + 1, at, this.end);
    this.end++;
    return at;
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
  }
}

/** The first index in [start, end) whose value is above `x` (`end` if none); `col` ascending there. */
function upperBound(col: Float64Array, start: number, end: number, x: number): number {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (col[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index in [start, end) whose value is `x` or above (`end` if none). */
function lowerBound(col: Float64Array, start: number, end: number, x: number): number {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (col[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One sensor's raw readings, in (timestamp, seq) order.
 *
 * @example
 * ```ts
 * const raw = new RawSeries();
 * raw.add(1000, 0.5, 1);
 * raw.trimBefore(500);
 * ```
 */
export class RawSeries {
  readonly kind = 'raw';
  readonly #c = new Columns(3);

  get length(): number {
    return this.#c.length;
  }

  /** Adds a reading; one older than the newest is put in its place. */
  add(ts: number, value: number, seq: number): void {
    const c = this.#c;
    const [tsCol] = c.cols;
    let rel = c.length;
    if (rel > 0 && tsCol![c.end - 1]! > ts) rel = upperBound(tsCol!, c.start, c.end, ts) - c.start;
    const i = c.insertAt(rel);
    const [t, v, s] = c.cols;
    t![i] = ts;
    v![i] = value;
    s![i] = seq;
  }

  /** Drops the readings before `ms`. */
  trimBefore(ms: number): void {
    const c = this.#c;
    c.start = lowerBound(c.cols[0]!, c.start, c.end, ms);
    if (c.start === c.end) c.clear();
  }

  clear(): void {
    this.#c.clear();
  }

  /** The newest seq held (0 when empty). */
  get lastSeq(): number {
    const c = this.#c;
    let max = 0;
    for (let i = c.start; i < c.end; i++) if (c.cols[2]![i]! > max) max = c.cols[2]![i]!;
    return max;
  }

  /** Views of the readings with `from <= ts <= to`: timestamps, values, seqs. */
  slice(from: number, to: number): { ts: Float64Array; value: Float64Array; seq: Float64Array } {
    const c = this.#c;
    const [t, v, s] = c.cols;
    const i0 = lowerBound(t!, c.start, c.end, from);
    const i1 = upperBound(t!, i0, c.end, to);
    return { ts: t!.subarray(i0, i1), value: v!.subarray(i0, i1), seq: s!.subarray(i0, i1) };
  }
}

/**
 * A bucket of `/api/range?points=`.
 *
 * @example
 * ```ts
 * const b: Bucket = { start: 0, count: 2, min: 1, max: 2, mean: 1.5, first: 1, last: 2 };
 * ```
 */
export interface Bucket {
  start: number;
  count: number;
  min: number;
  max: number;
  mean: number;
  first: number;
  last: number;
}

const START = 0;
const COUNT = 1;
const MIN = 2;
const MAX = 3;
const MEAN = 4;
const FIRST = 5;
const LAST = 6;
const INDEX = 7;

/**
 * One sensor's buckets on a fixed grid (`origin + k × width`), as the server cut them, with live readings folded
 * in: a reading in the newest bucket updates it, a later one opens a new bucket on the same grid.
 *
 * @example
 * ```ts
 * const series = new BucketSeries(from, (to - from) / points);
 * for (const b of answer.buckets) series.put(b);
 * series.add(Date.now(), 0.5);
 * ```
 */
export class BucketSeries {
  readonly kind = 'buckets';
  readonly origin: number;
  readonly width: number;
  readonly #c = new Columns(8);

  constructor(origin: number, width: number) {
    this.origin = origin;
    this.width = width > 0 ? width : 1;
  }

  get length(): number {
    return this.#c.length;
  }

  /** Puts a bucket of the server's answer (in time order, as it sends them). */
  put(b: Bucket): void {
    const c = this.#c;
    const i = c.insertAt(c.length);
    const col = c.cols;
    col[START]![i] = b.start;
    col[COUNT]![i] = b.count;
    col[MIN]![i] = b.min;
    col[MAX]![i] = b.max;
    col[MEAN]![i] = b.mean;
    col[FIRST]![i] = b.first;
    col[LAST]![i] = b.last;
    col[INDEX]![i] = Math.round((b.start - this.origin) / this.width);
  }

  /** Folds a live reading into its bucket. */
  add(ts: number, value: number): void {
    const k = Math.floor((ts - this.origin) / this.width);
    const c = this.#c;
    const idx = c.cols[INDEX]!;
    let i = lowerBound(idx, c.start, c.end, k);
    if (i === c.end || idx[i] !== k) {
      i = c.insertAt(i - c.start);
      const col = c.cols;
      col[START]![i] = this.origin + k * this.width;
      col[COUNT]![i] = 1;
      col[MIN]![i] = value;
      col[MAX]![i] = value;
      col[MEAN]![i] = value;
      col[FIRST]![i] = value;
      col[LAST]![i] = value;
      col[INDEX]![i] = k;
      return;
    }
    const col = c.cols;
    const count = col[COUNT]![i]!;
    col[MEAN]![i] = (col[MEAN]![i]! * count + value) / (count + 1);
    col[COUNT]![i] = count + 1;
    if (value < col[MIN]![i]!) col[MIN]![i] = value;
    if (value > col[MAX]![i]!) col[MAX]![i] = value;
    col[LAST]![i] = value;
  }

  /** Drops the buckets that end before `ms`. */
  trimBefore(ms: number): void {
    const c = this.#c;
    const starts = c.cols[START]!;
    while (c.start < c.end && starts[c.start]! + this.width <= ms) c.start++;
    if (c.start === c.end) c.clear();
  }

  /** The buckets whose start is in [from, to]. */
  slice(from: number, to: number): Bucket[] {
    const c = this.#c;
    const col = c.cols;
    const i0 = lowerBound(col[START]!, c.start, c.end, from);
    const i1 = upperBound(col[START]!, i0, c.end, to);
    const out: Bucket[] = [];
    for (let i = i0; i < i1; i++) {
      out.push({
        start: col[START]![i]!,
        count: col[COUNT]![i]!,
        min: col[MIN]![i]!,
        max: col[MAX]![i]!,
        mean: col[MEAN]![i]!,
        first: col[FIRST]![i]!,
        last: col[LAST]![i]!,
      });
    }
    return out;
  }

  /** Views for drawing the buckets in [from, to]: x at each bucket's middle, mean, min and max. */
  columns(from: number, to: number): { x: Float64Array; mean: Float64Array; min: Float64Array; max: Float64Array } {
    const c = this.#c;
    const col = c.cols;
    const i0 = lowerBound(col[START]!, c.start, c.end, from - this.width);
    const i1 = upperBound(col[START]!, i0, c.end, to);
    const x = new Float64Array(i1 - i0);
    for (let i = i0; i < i1; i++) x[i - i0] = col[START]![i]! + this.width / 2;
    return { x, mean: col[MEAN]!.subarray(i0, i1), min: col[MIN]!.subarray(i0, i1), max: col[MAX]!.subarray(i0, i1) };
  }
}

/**
 * One sensor's part of the plot: its x values and one or more y columns over them (raw: the value; buckets:
 * mean, min, max).
 */
export interface Trace {
  x: ArrayLike<number>;
  ys: ArrayLike<number>[];
}

/** One column of uPlot's table: a number, `undefined` (no point here, drawn across) or `null` (a gap). */
export type PlotColumn = (number | null | undefined)[];

/** The median step between consecutive x values (over the last 512 steps at most); 0 with fewer than two. */
export function medianStep(x: ArrayLike<number>): number {
  const n = x.length;
  if (n < 2) return 0;
  const from = Math.max(1, n - 512);
  const steps = new Float64Array(n - from);
  for (let i = from; i < n; i++) steps[i - from] = x[i]! - x[i - 1]!;
  steps.sort();
  return steps[steps.length >> 1]!;
}

/** The x values of `trace` with a gap marker (the middle of the step) inserted in every step over `threshold`. */
function withGaps(x: ArrayLike<number>, threshold: number): { xs: Float64Array; gap: Uint8Array } {
  const n = x.length;
  let gaps = 0;
  if (threshold > 0) for (let i = 1; i < n; i++) if (x[i]! - x[i - 1]! > threshold) gaps++;
  const xs = new Float64Array(n + gaps);
  const gap = new Uint8Array(n + gaps);
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && gaps > 0 && x[i]! - x[i - 1]! > threshold) {
      xs[j] = (x[i]! + x[i - 1]!) / 2;
      gap[j++] = 1;
    }
    xs[j++] = x[i]!;
  }
  return { xs, gap };
}

/** The sorted union of two sorted arrays, each value once. */
function union(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (n === 0 || out[n - 1] !== v) out[n++] = v;
  }
  return out.subarray(0, n);
}

/**
 * uPlot's table for several traces on one x axis: `[x, ...columns]`, the columns of each trace in order. A
 * trace's step over {@link GAP_FACTOR} times its median step (and over `minGap`) becomes a `null`.
 *
 * @example
 * ```ts
 * plotTable([{ x: [0, 1, 2, 10, 11], ys: [[1, 2, 3, 4, 5]] }]);
 * // [[0, 1, 2, 6, 10, 11], [1, 2, 3, null, 4, 5]]
 * ```
 */
export function plotTable(traces: readonly Trace[], minGap = 0): [Float64Array, ...PlotColumn[]] {
  const marked = traces.map((t) => withGaps(t.x, Math.max(minGap, GAP_FACTOR * medianStep(t.x))));
  let x: Float64Array = new Float64Array(0);
  for (const m of marked) x = union(x, m.xs);
  const columns: PlotColumn[] = [];
  traces.forEach((trace, k) => {
    const { xs, gap } = marked[k]!;
    const out: PlotColumn[] = trace.ys.map(() => new Array<number | null | undefined>(x.length));
    const setAll = (j: number, v: null): void => {
      for (const col of out) col[j] = v;
    };
    let i = 0; // into xs
    let src = 0; // into the trace's own points
    let last = -1; // the column index of the trace's last point
    let open = false; // between a gap marker and the next point
    for (let j = 0; j < x.length; j++) {
      if (i < xs.length && x[j] === xs[i]) {
        if (gap[i] === 1) {
          // The whole step is null, the other traces' points within it included (uPlot breaks only over nulls).
          for (let b = last + 1; b <= j; b++) setAll(b, null);
          open = true;
        } else {
          trace.ys.forEach((ys, c) => (out[c]![j] = ys[src]!));
          src++;
          last = j;
          open = false;
        }
        i++;
      } else if (open) {
        setAll(j, null);
      }
    }
    columns.push(...out);
  });
  return [x, ...columns];
}

/** A row of the page's CSV of raw readings. */
export interface RawRow {
  sensor: string;
  ts: number;
  value: number;
  seq: number;
}

/**
 * The page's CSV of raw readings: `sensor,ts,value,seq`, numbers written as the server writes them.
 *
 * @example
 * ```ts
 * rawCsv([{ sensor: 'ramp', ts: 1000, value: 0.5, seq: 1 }]); // 'sensor,ts,value,seq\nramp,1000,0.5,1\n'
 * ```
 */
export function rawCsv(rows: readonly RawRow[]): string {
  let out = 'sensor,ts,value,seq\n';
  for (const r of rows) out += `${r.sensor},${r.ts},${r.value},${r.seq}\n`;
  return out;
}

/**
 * The page's CSV of buckets: `sensor,start,count,min,max,mean,first,last`.
 *
 * @example
 * ```ts
 * bucketCsv([{ sensor: 'ramp', start: 0, count: 1, min: 1, max: 1, mean: 1, first: 1, last: 1 }]);
 * ```
 */
export function bucketCsv(rows: readonly (Bucket & { sensor: string })[]): string {
  let out = 'sensor,start,count,min,max,mean,first,last\n';
  for (const r of rows) out += `${r.sensor},${r.start},${r.count},${r.min},${r.max},${r.mean},${r.first},${r.last}\n`;
  return out;
}

/** The rows a pixel column holds in {@link foldTable}: first, min or max (the earlier), max or min, last. */
const ROWS = 4;

/** What {@link foldTable} gives: uPlot's table and each trace's min and max over what it drew. */
export interface Folded {
  table: [Float64Array, ...PlotColumn[]];
  min: (number | undefined)[];
  max: (number | undefined)[];
}

/**
 * uPlot's table for several raw traces on one x axis, folded to at most four points per trace and pixel column:
 * `[from, to]` is cut into `columns` columns of equal width, and each trace keeps, per column, its first and last
 * point and its min and max in between (in time order), so its line covers the same pixels as the raw one with
 * at most four points per column, however many readings the column holds. All traces share the column's rows;
 * a row's x is the earliest first (or latest last) timestamp of the traces in it, so a lone point keeps its
 * own timestamp and any other lies within its pixel column. Rows no trace uses are left out. A trace's step over
 * {@link GAP_FACTOR} times its median step, and over two columns, is a gap: `null` all along it, as in
 * {@link plotTable}; elsewhere a trace with no point in a row has `undefined` there (drawn across).
 *
 * @example
 * ```ts
 * foldTable([{ x: [0, 1, 2, 3], ys: [[5, 1, 9, 5]] }], 0, 10, 1).table;
 * // [[0, 1, 2, 3], [5, 1, 9, 5]]: one column, first, min, max, last
 * ```
 */
export function foldTable(traces: readonly Trace[], from: number, to: number, columns: number): Folded {
  const cols = Math.max(1, Math.floor(columns));
  const width = to > from ? (to - from) / cols : 1;
  const rows = cols * ROWS;
  const col = (t: number): number => Math.min(cols - 1, Math.max(0, Math.floor((t - from) / width)));
  // Per row: the x candidates (rows 0 and 1 take the earliest, 2 and 3 the latest) and whether a row is used.
  const lo = new Float64Array(rows).fill(Infinity);
  const hi = new Float64Array(rows).fill(-Infinity);
  const used = new Uint8Array(rows);
  const values: Float64Array[] = [];
  /** Per trace and row: 0 no point (undefined), 1 a value, 2 a gap (null). */
  const kinds: Uint8Array[] = [];
  const min: (number | undefined)[] = [];
  const max: (number | undefined)[] = [];
  const put = (v: Float64Array, k: Uint8Array, row: number, t: number, y: number): void => {
    v[row] = y;
    k[row] = 1;
    used[row] = 1;
    if ((row & 3) < 2) lo[row] = Math.min(lo[row]!, t);
    else hi[row] = Math.max(hi[row]!, t);
  };
  for (const trace of traces) {
    const x = trace.x;
    const y = trace.ys[0] ?? [];
    const v = new Float64Array(rows);
    const k = new Uint8Array(rows);
    values.push(v);
    kinds.push(k);
    const threshold = Math.max(2 * width, GAP_FACTOR * medianStep(x));
    let lastRow = -1;
    let tMin: number | undefined;
    let tMax: number | undefined;
    let i = 0;
    const n = Math.min(x.length, y.length);
    while (i < n) {
      const c = col(x[i]!);
      let j = i + 1; // the points of column c are [i, j)
      while (j < n && col(x[j]!) === c) j++;
      if (i > 0 && x[i]! - x[i - 1]! > threshold) {
        // A gap: null from the row after the previous point to the row before this one.
        for (let r = lastRow + 1; r < c * ROWS; r++) k[r] = 2;
        const mark = Math.min(c * ROWS - 1, (col(x[i - 1]!) + 1) * ROWS);
        if (mark > lastRow) used[mark] = 1;
      }
      let iMin = i;
      let iMax = i;
      for (let m = i + 1; m < j; m++) {
        if (y[m]! < y[iMin]!) iMin = m;
        if (y[m]! > y[iMax]!) iMax = m;
      }
      if (tMin === undefined || y[iMin]! < tMin) tMin = y[iMin]!;
      if (tMax === undefined || y[iMax]! > tMax) tMax = y[iMax]!;
      const base = c * ROWS;
      put(v, k, base, x[i]!, y[i]!);
      if (j - i > 1) {
        const [a, b] = iMin < iMax ? [iMin, iMax] : [iMax, iMin];
        if (a !== i && a !== j - 1) put(v, k, base + 1, x[a]!, y[a]!);
        if (b !== i && b !== j - 1 && b !== a) put(v, k, base + 2, x[b]!, y[b]!);
        put(v, k, base + 3, x[j - 1]!, y[j - 1]!);
        lastRow = base + 3;
      } else {
        lastRow = base;
      }
      i = j;
    }
    min.push(tMin);
    max.push(tMax);
  }
  let count = 0;
  for (let r = 0; r < rows; r++) count += used[r]!;
  const xs = new Float64Array(count);
  const out: PlotColumn[] = traces.map(() => new Array<number | null | undefined>(count));
  let at = 0;
  let prev = -Infinity;
  for (let r = 0; r < rows; r++) {
    if (used[r] === 0) continue;
    const c = r >> 2;
    let t = (r & 3) < 2 ? lo[r]! : hi[r]!;
    if (!Number.isFinite(t)) t = from + (c + 0.5) * width; // a gap's marker in an empty column
    // Rows 1 and 2 come from different traces: kept in order, never before the row above.
    if (t < prev) t = prev;
    xs[at] = t;
    prev = t;
    for (let s = 0; s < traces.length; s++) {
      const kind = kinds[s]![r]!;
      out[s]![at] = kind === 1 ? values[s]![r]! : kind === 2 ? null : undefined;
    }
    at++;
  }
  return { table: [xs, ...out], min, max };
}
