/**
 * One sensor's recent readings, kept for drawing (no blessed here).
 *
 * How it works: three Float64RingBuffers of the same capacity hold the
 * timestamp, the value and a break flag of each reading, so pushing a
 * reading allocates nothing. A break flag of 1 means "data is missing before
 * this reading": set when the server seq jumps (a subscriber that sees a seq
 * jump knows it missed readings: docs/PROTOCOL.md, "Loss accounting") or when
 * the owner says so with {@link Series.markGap} (a failed poll, a reconnect).
 * Seq jumps also count the readings lost.
 */
import { Float64RingBuffer } from '@opc-lite/ring-buffer';

/**
 * A point to chart: a value at a time, with the server's seq when known.
 *
 * @example
 * ```ts
 * chart.push('ramp', { value: 0.35, timestampMs: Date.now(), seq: 42 });
 * ```
 */
export interface ChartPoint {
  readonly value: number;
  /** Unix epoch ms. */
  readonly timestampMs: number;
  /** The server seq; omit (or NaN) when unknown, e.g. for a legacy poll. */
  readonly seq?: number;
}

/**
 * Figures of one series over the chart's window, as the dashboard's table
 * shows them.
 *
 * @example
 * ```ts
 * for (const s of chart.stats()) console.log(s.name, s.last, s.min, s.max, s.ratePerSec, s.lost);
 * ```
 */
export interface SeriesStats {
  readonly name: string;
  /** Line colour in the chart. */
  readonly color: string;
  /** Latest value, NaN before any. */
  readonly last: number;
  /** Smallest and largest value in the window, NaN when empty. */
  readonly min: number;
  readonly max: number;
  /** Readings per second over the window, from their timestamps; NaN with fewer than two. */
  readonly ratePerSec: number;
  /** Readings missed according to seq jumps since the series started; NaN when seqs are not tracked. */
  readonly lost: number;
  /** Readings pushed since the series started. */
  readonly count: number;
  /** Readings in the window. */
  readonly size: number;
}

export class Series {
  readonly name: string;
  readonly color: string;
  /** Readings pushed in total. */
  count = 0;
  /** Readings missed according to seq jumps. */
  lost = 0;
  #times: Float64RingBuffer;
  #values: Float64RingBuffer;
  #breaks: Float64RingBuffer;
  #lastSeq = Number.NaN;
  #pendingBreak = false;
  readonly #trackSeq: boolean;

  constructor(name: string, color: string, capacity: number, trackSeq: boolean) {
    this.name = name;
    this.color = color;
    this.#trackSeq = trackSeq;
    this.#times = new Float64RingBuffer(capacity);
    this.#values = new Float64RingBuffer(capacity);
    this.#breaks = new Float64RingBuffer(capacity);
  }

  get capacity(): number {
    return this.#values.capacity;
  }

  get size(): number {
    return this.#values.size;
  }

  /**
   * Adds a reading. Returns false (and stores nothing) for a repeat of the
   * last seq: the same reading seen twice.
   */
  push(point: ChartPoint): boolean {
    const seq = point.seq ?? Number.NaN;
    let gap = this.#pendingBreak;
    if (this.#trackSeq && Number.isFinite(seq)) {
      const last = this.#lastSeq;
      if (seq === last) return false;
      if (Number.isFinite(last) && seq !== last + 1) {
        // A seq jump means missed readings (docs/PROTOCOL.md, "Loss accounting"); a seq that went back
        // means the server restarted (or reordered): a break either way, counted only forward.
        gap = true;
        if (seq > last + 1) this.lost += seq - last - 1;
      }
      this.#lastSeq = seq;
    }
    this.#pendingBreak = false;
    this.#times.push(point.timestampMs);
    this.#values.push(point.value);
    this.#breaks.push(gap && this.size > 0 ? 1 : 0);
    this.count += 1;
    return true;
  }

  /** Data is missing from here: the next reading will not be joined to the previous one. */
  markGap(): void {
    this.#pendingBreak = true;
  }

  /** Grows the buffers to hold at least `capacity` readings, keeping the newest ones. */
  ensureCapacity(capacity: number): void {
    if (capacity <= this.capacity) return;
    const grow = (old: Float64RingBuffer): Float64RingBuffer => {
      const next = new Float64RingBuffer(capacity);
      for (const v of old) next.push(v);
      return next;
    };
    this.#times = grow(this.#times);
    this.#values = grow(this.#values);
    this.#breaks = grow(this.#breaks);
  }

  /** Copies the newest `n` readings (oldest first) into the targets; returns how many. */
  copyLast(n: number, times: Float64Array, values: Float64Array, breaks: Float64Array): number {
    this.#times.copyLast(n, times);
    this.#breaks.copyLast(n, breaks);
    return this.#values.copyLast(n, values);
  }

  /** The newest timestamp, NaN when empty. */
  lastTime(): number {
    return this.#times.at(-1) ?? Number.NaN;
  }

  /** The timestamp of the oldest of the newest `n` readings, NaN when empty. */
  firstTime(n: number): number {
    const k = Math.min(n, this.size);
    return k === 0 ? Number.NaN : (this.#times.at(-k) ?? Number.NaN);
  }

  /** The table's figures over the newest `window` readings. */
  stats(window: number): SeriesStats {
    const n = Math.min(window, this.size);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = this.size - n; i < this.size; i += 1) {
      const v = this.#values.at(i) ?? Number.NaN;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (n === 0) min = max = Number.NaN;
    const span = this.lastTime() - this.firstTime(n);
    return {
      name: this.name,
      color: this.color,
      last: this.#values.at(-1) ?? Number.NaN,
      min,
      max,
      ratePerSec: n >= 2 && span > 0 ? ((n - 1) * 1000) / span : Number.NaN,
      lost: this.#trackSeq ? this.lost : Number.NaN,
      count: this.count,
      size: n,
    };
  }
}
