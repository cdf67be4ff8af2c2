/**
 * From readings to what blessed-contrib's line chart can draw (pure, no
 * blessed here).
 *
 * The line chart places the k-th y value at the k-th of `x.length` evenly
 * spaced columns and joins consecutive values with a line; it has no notion
 * of time and no gaps. Two facts of its drawing code make both possible:
 * - a time axis: the chart gets one slot per pixel column, and each reading
 *   goes to the slot of its timestamp; the slots between two consecutive
 *   readings are filled by linear interpolation, so the line between them is
 *   drawn as it would be between two points;
 * - gaps: a NaN y makes the Bresenham step between it and its neighbours draw
 *   nothing (every comparison with NaN is false), so slots left NaN between
 *   two readings are a visible gap. A lone reading between gaps is widened to
 *   two slots so that it shows as a short dash.
 */

/**
 * The visible y range: drawn labels from `min` to `max` every `step`.
 */
export interface YRange {
  min: number;
  max: number;
  step: number;
}

/** A step of 1, 2, 2.5 or 5 times a power of ten, at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw * (1 - 1e-9)) return m * power;
  return 10 * power;
}

/**
 * The y range to draw: `[yMin, yMax]` when both are fixed (split into
 * `labels` steps); otherwise rounded outward to nice steps around the data,
 * keeping whichever bound is fixed.
 */
export function yRange(
  dataMin: number,
  dataMax: number,
  fixedMin: number | undefined,
  fixedMax: number | undefined,
  labels: number,
): YRange {
  if (fixedMin !== undefined && fixedMax !== undefined) {
    return { min: fixedMin, max: fixedMax, step: (fixedMax - fixedMin) / labels };
  }
  let lo = fixedMin ?? (Number.isFinite(dataMin) ? dataMin : 0);
  let hi = fixedMax ?? (Number.isFinite(dataMax) ? dataMax : 1);
  if (hi < lo) [lo, hi] = fixedMin !== undefined ? [lo, lo + 1] : [hi - 1, hi];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) / 2;
    if (fixedMin === undefined) lo -= pad;
    if (fixedMax === undefined) hi += pad;
  }
  const step = niceStep((hi - lo) / labels);
  const min = fixedMin ?? Math.floor(lo / step + 1e-9) * step;
  const max = fixedMax ?? Math.ceil(hi / step - 1e-9) * step;
  return { min, max, step };
}

/**
 * Lays one series out on `slots` columns spanning `[tMin, tMax]`. Returns
 * the y of each slot, NaN where nothing is drawn. `breaks[i]` = 1 means data
 * is missing before reading i. Values are clamped to `[yLow, yHigh]`.
 */
export function layoutSeries(
  times: Float64Array,
  values: Float64Array,
  breaks: Float64Array,
  count: number,
  tMin: number,
  tMax: number,
  slots: number,
  yLow: number,
  yHigh: number,
): number[] {
  const y = new Array<number>(slots).fill(Number.NaN);
  const span = tMax - tMin;
  const last = slots - 1;
  let prevSlot = -1;
  let prevValue = Number.NaN;
  for (let i = 0; i < count; i += 1) {
    const t = times[i] ?? Number.NaN;
    const raw = values[i] ?? Number.NaN;
    const value = raw < yLow ? yLow : raw > yHigh ? yHigh : raw;
    let slot = span > 0 ? Math.round(((t - tMin) / span) * last) : last;
    if (!(slot >= 0)) slot = 0;
    if (slot > last) slot = last;
    const joined = prevSlot >= 0 && breaks[i] !== 1 && Number.isFinite(value) && Number.isFinite(prevValue);
    if (joined && slot > prevSlot + 1) {
      const steps = slot - prevSlot;
      for (let k = prevSlot + 1; k < slot; k += 1) y[k] = prevValue + ((value - prevValue) * (k - prevSlot)) / steps;
    } else if (!joined && prevSlot >= 0 && slot === prevSlot + 1) {
      // Adjacent slots would be joined by the chart: keep the gap one slot wide.
      y[prevSlot] = Number.NaN;
    }
    y[slot] = value;
    prevSlot = slot;
    prevValue = value;
  }
  widenLonePoints(y);
  return y;
}

/** A value with no neighbour draws nothing: repeat it in a free neighbouring slot. */
function widenLonePoints(y: number[]): void {
  const free = (k: number): boolean => k >= 0 && k < y.length && Number.isNaN(y[k]);
  const freeOrEdge = (k: number): boolean => k < 0 || k >= y.length || Number.isNaN(y[k]);
  for (let k = 0; k < y.length; k += 1) {
    const v = y[k] ?? Number.NaN;
    if (Number.isNaN(v) || !freeOrEdge(k - 1) || !freeOrEdge(k + 1)) continue;
    if (free(k + 1) && freeOrEdge(k + 2)) {
      y[k + 1] = v;
      k += 1;
    } else if (free(k - 1) && freeOrEdge(k - 2)) {
      y[k - 1] = v;
    }
  }
}

/**
 * A time label for the x axis: wall-clock `HH:MM:SS.mmm` (local time;
 * milliseconds dropped when the span is a minute or more), or seconds
 * relative to the newest reading (`-12.5s`).
 */
export function timeLabel(timeMs: number, newestMs: number, spanMs: number, mode: 'clock' | 'relative'): string {
  if (!Number.isFinite(timeMs)) return '?';
  if (mode === 'relative') {
    const seconds = (timeMs - newestMs) / 1000;
    const digits = spanMs >= 60_000 ? 0 : spanMs >= 5000 ? 1 : spanMs >= 500 ? 2 : 3;
    const text = seconds.toFixed(digits);
    return `${/^-0(\.0*)?$/.test(text) ? text.slice(1) : text}s`;
  }
  const d = new Date(timeMs);
  const two = (n: number): string => String(n).padStart(2, '0');
  const clock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return spanMs >= 60_000 ? clock : `${clock}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}
