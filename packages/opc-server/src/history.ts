/**
 * Reading a sensor's past: the `RANGE` and `AFTER` commands (docs/PROTOCOL.md,
 * "History: RANGE" and "Resume: AFTER") ask a {@link HistoryReader}, so the
 * in-memory rings of today and a durable store later answer them alike.
 *
 * How {@link RingHistory} works: a sensor's ring holds its readings in seq
 * order, oldest first. While their timestamps never go back
 * (`Sensor.timeOrdered`, the usual case), seq order is (timestamp, seq)
 * order: a binary search finds `from` and the readings up to `to` are read in
 * place. Otherwise the readings within [from, to] are collected and sorted by
 * (timestamp, seq) first. Nothing is cached between calls.
 */
import type { BucketFn, ReadingFn } from '@opc-lite/tsdb';
import type { Sensor } from './store.js';

/**
 * Receives one reading of a {@link HistoryReader} answer, without an object
 * per reading.
 *
 * @example
 * ```ts
 * const print: ReadingVisitor = (ts, value, seq) => console.log(ts, value, seq);
 * ```
 */
export type ReadingVisitor = ReadingFn;

/**
 * Receives one non-empty bucket of {@link HistoryReader.buckets}.
 *
 * @example
 * ```ts
 * const print: BucketVisitor = (start, count, min, max, mean) => console.log(start, count, min, max, mean);
 * ```
 */
export type BucketVisitor = BucketFn;

/**
 * What {@link HistoryReader.range} tells besides the readings.
 *
 * @example
 * ```ts
 * const { more } = history.range(sensor, from, to, 1000, visit);
 * if (more !== undefined) history.range(sensor, more, to, 1000, visit); // the rest, nothing repeated
 * ```
 */
export interface RangeResult {
  /** Set when readings were left out by `limit`: the timestamp to continue from (the first one left out). */
  readonly more: number | undefined;
}

/**
 * A sensor's stored readings, as `RANGE` and `AFTER` read them. Readings are
 * ordered by (timestamp, seq) in `range` and `buckets`, by seq in `after`.
 * Implementations must not call a visitor after they return.
 *
 * @example
 * ```ts
 * const history: HistoryReader = new RingHistory();
 * history.after(sensor, 41, 100, (ts, value, seq) => console.log(seq)); // 42, 43, …
 * ```
 */
export interface HistoryReader {
  /**
   * Calls `fn` for the readings with `fromMs <= ts <= toMs`, in (timestamp,
   * seq) order, at most `limit` (>= 1) of them. A cut falls only between two
   * different timestamps, so a `range` from the returned `more` continues
   * with nothing repeated and nothing skipped. If more than `limit` readings
   * share the first timestamp, they are all given together (the only case
   * where more than `limit` are given), so a continuation always moves on.
   */
  range(sensor: Sensor, fromMs: number, toMs: number, limit: number, fn: ReadingVisitor): RangeResult;

  /**
   * Splits [fromMs, toMs] into `points` (>= 1) buckets of equal width and
   * calls `fn` for each bucket that holds a reading, in time order. A reading
   * at `ts` is in bucket `floor((ts − fromMs) × points / (toMs − fromMs))`,
   * the last bucket also taking `ts = toMs` (all in bucket 0 when
   * `fromMs = toMs`); bucket `i` starts at `fromMs + i × (toMs − fromMs) / points`.
   * `first` and `last` are by (timestamp, seq). Returns how many buckets were given.
   */
  buckets(sensor: Sensor, fromMs: number, toMs: number, points: number, fn: BucketVisitor): number;

  /** Calls `fn` for the readings with a seq above `seq`, ascending, at most `limit`. Returns how many. */
  after(sensor: Sensor, seq: number, limit: number, fn: ReadingVisitor): number;
}

/** The readings within a time span, in (timestamp, seq) order, as ring indexes. */
interface Selection {
  /** How many readings. */
  readonly length: number;
  /** The ring index of the `k`-th one. */
  index(k: number): number;
}

class Contiguous implements Selection {
  constructor(
    readonly start: number,
    readonly length: number,
  ) {}

  index(k: number): number {
    return this.start + k;
  }
}

class Sorted implements Selection {
  constructor(readonly indexes: Int32Array) {}

  get length(): number {
    return this.indexes.length;
  }

  index(k: number): number {
    return this.indexes[k] as number;
  }
}

const EMPTY: Selection = new Contiguous(0, 0);
const NO_MORE: RangeResult = Object.freeze({ more: undefined });

/**
 * In a time-ordered ring, the first index whose timestamp is `>= ms`
 * (`orEqual` false) or `> ms` (`orEqual` true); `size` if none.
 */
function bound(sensor: Sensor, ms: number, orEqual: boolean): number {
  let lo = 0;
  let hi = sensor.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const ts = sensor.timestampAt(mid) as number;
    if (ts < ms || (orEqual && ts === ms)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function select(sensor: Sensor, fromMs: number, toMs: number): Selection {
  const size = sensor.size;
  if (size === 0 || !(fromMs <= toMs)) return EMPTY;
  if (sensor.timeOrdered) {
    const start = bound(sensor, fromMs, false);
    const end = bound(sensor, toMs, true);
    return end > start ? new Contiguous(start, end - start) : EMPTY;
  }
  const picked: number[] = [];
  for (let i = 0; i < size; i++) {
    const ts = sensor.timestampAt(i) as number;
    if (ts >= fromMs && ts <= toMs) picked.push(i);
  }
  const indexes = Int32Array.from(picked);
  const stamps = new Float64Array(size);
  for (const i of indexes) stamps[i] = sensor.timestampAt(i) as number;
  // Ring index order is seq order: it breaks ties between equal timestamps.
  indexes.sort((a, b) => (stamps[a] as number) - (stamps[b] as number) || a - b);
  return new Sorted(indexes);
}

/**
 * A {@link HistoryReader} over the sensors' in-memory rings (the store's
 * history, `historyCapacity` readings per sensor). It holds no state: one
 * instance serves every sensor.
 *
 * @example
 * ```ts
 * const history = new RingHistory();
 * const sensor = store.get('ramp');
 * if (sensor) {
 *   const { more } = history.range(sensor, Date.now() - 60_000, Date.now(), 1000, (ts, value, seq) => {
 *     console.log(ts, value, seq);
 *   });
 * }
 * ```
 */
export class RingHistory implements HistoryReader {
  range(sensor: Sensor, fromMs: number, toMs: number, limit: number, fn: ReadingVisitor): RangeResult {
    const sel = select(sensor, fromMs, toMs);
    const n = sel.length;
    if (n === 0) return NO_MORE;
    const oldestSeq = sensor.seq - sensor.size + 1;
    const tsAt = (k: number): number => sensor.timestampAt(sel.index(k)) as number;
    let end = n;
    let more: number | undefined;
    if (n > limit) {
      const cut = tsAt(limit);
      end = limit;
      while (end > 0 && tsAt(end - 1) === cut) end--;
      if (end === 0) {
        // More than `limit` readings share the first timestamp: give them all, or a continuation would stall.
        while (end < n && tsAt(end) === cut) end++;
        more = end < n ? tsAt(end) : undefined;
      } else {
        more = cut;
      }
    }
    for (let k = 0; k < end; k++) {
      const i = sel.index(k);
      fn(sensor.timestampAt(i) as number, sensor.valueAt(i) as number, oldestSeq + i);
    }
    return more === undefined ? NO_MORE : { more };
  }

  buckets(sensor: Sensor, fromMs: number, toMs: number, points: number, fn: BucketVisitor): number {
    const sel = select(sensor, fromMs, toMs);
    const n = sel.length;
    const span = toMs - fromMs;
    let given = 0;
    let bucket = -1;
    let count = 0;
    let min = 0;
    let max = 0;
    let sum = 0;
    let first = 0;
    let last = 0;
    const flush = (): void => {
      fn(fromMs + (bucket * span) / points, count, min, max, sum / count, first, last);
      given++;
    };
    for (let k = 0; k < n; k++) {
      const i = sel.index(k);
      const ts = sensor.timestampAt(i) as number;
      const value = sensor.valueAt(i) as number;
      const b = span === 0 ? 0 : Math.min(points - 1, Math.floor(((ts - fromMs) * points) / span));
      if (b !== bucket) {
        if (count > 0) flush();
        bucket = b;
        count = 0;
        sum = 0;
        min = value;
        max = value;
        first = value;
      }
      count++;
      sum += value;
      // Math.min and Math.max, as the chunk summaries: -0 is below 0, whichever comes first.
      min = Math.min(min, value);
      max = Math.max(max, value);
      last = value;
    }
    if (count > 0) flush();
    return given;
  }

  after(sensor: Sensor, seq: number, limit: number, fn: ReadingVisitor): number {
    const size = sensor.size;
    const oldestSeq = sensor.seq - size + 1;
    const start = Math.max(0, seq + 1 - oldestSeq);
    const end = Math.min(size, start + Math.max(0, limit));
    for (let i = start; i < end; i++) fn(sensor.timestampAt(i) as number, sensor.valueAt(i) as number, oldestSeq + i);
    return Math.max(0, end - start);
  }
}
