// Test helpers: a plain in-memory model of the store's read contract (arrays
// and sorts, nothing clever) that the engine is compared against, and small
// readers that pull everything a store holds into plain arrays.

import type { Tsdb } from './tsdb.js';

/** One reading. */
export interface Reading {
  seq: number;
  ts: number;
  value: number;
}

/** One bucket as `buckets()` reports it. */
export interface Bucket {
  startMs: number;
  count: number;
  min: number;
  max: number;
  mean: number;
  first: number;
  last: number;
}

const byTsSeq = (a: Reading, b: Reading): number => a.ts - b.ts || a.seq - b.seq;

/** The readings of one series, in seq order, and the answers the store should give. */
export class ModelSeries {
  readonly readings: Reading[] = [];

  constructor(readonly name: string) {}

  get lastSeq(): number {
    return this.readings.at(-1)?.seq ?? 0;
  }

  last(n: number): Reading[] {
    return n <= 0 ? [] : this.readings.slice(-n);
  }

  after(seq: number, limit: number): Reading[] {
    return this.readings.filter((r) => r.seq > seq).slice(0, limit);
  }

  range(fromMs: number, toMs: number, limit: number): { rows: Reading[]; more: number | undefined } {
    const all = this.readings.filter((r) => r.ts >= fromMs && r.ts <= toMs).sort(byTsSeq);
    if (all.length <= limit) return { rows: all, more: undefined };
    let end = limit;
    const atCut = (all[limit] as Reading).ts;
    while (end > 0 && (all[end - 1] as Reading).ts === atCut) end--;
    if (end === 0) {
      end = limit;
      while (end < all.length && (all[end] as Reading).ts === atCut) end++;
    }
    return { rows: all.slice(0, end), more: end < all.length ? (all[end] as Reading).ts : undefined };
  }

  buckets(fromMs: number, toMs: number, points: number): Bucket[] {
    const span = toMs - fromMs;
    const groups = new Map<number, Reading[]>();
    for (const r of this.readings) {
      if (r.ts < fromMs || r.ts > toMs) continue;
      const i = span === 0 ? 0 : Math.min(points - 1, Math.floor(((r.ts - fromMs) * points) / span));
      const g = groups.get(i) ?? [];
      g.push(r);
      groups.set(i, g);
    }
    return [...groups.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([i, g]) => {
        const sorted = [...g].sort(byTsSeq);
        const values = g.map((r) => r.value);
        return {
          startMs: span === 0 ? fromMs : fromMs + (i * span) / points,
          count: g.length,
          min: Math.min(...values),
          max: Math.max(...values),
          mean: values.reduce((a, b) => a + b, 0) / g.length,
          first: (sorted[0] as Reading).value,
          last: (sorted.at(-1) as Reading).value,
        };
      });
  }
}

/** Every reading of series `id` in the store, by seq. */
export function readAll(db: Tsdb, id: number): Reading[] {
  const out: Reading[] = [];
  db.after(id, 0, Number.MAX_SAFE_INTEGER, (ts, value, seq) => out.push({ seq, ts, value }));
  return out;
}

/** The store's `last`. */
export function readLast(db: Tsdb, id: number, n: number): Reading[] {
  const out: Reading[] = [];
  db.last(id, n, (ts, value, seq) => out.push({ seq, ts, value }));
  return out;
}

/** The store's `after`. */
export function readAfter(db: Tsdb, id: number, seq: number, limit: number): Reading[] {
  const out: Reading[] = [];
  const n = db.after(id, seq, limit, (ts, value, s) => out.push({ seq: s, ts, value }));
  if (n !== out.length) throw new Error(`after() returned ${n} but called back ${out.length} times`);
  return out;
}

/** The store's `range`. */
export function readRange(
  db: Tsdb,
  id: number,
  fromMs: number,
  toMs: number,
  limit: number,
): { rows: Reading[]; more: number | undefined } {
  const rows: Reading[] = [];
  const { more } = db.range(id, fromMs, toMs, limit, (ts, value, seq) => rows.push({ seq, ts, value }));
  return { rows, more };
}

/** The store's `buckets`. */
export function readBuckets(db: Tsdb, id: number, fromMs: number, toMs: number, points: number): Bucket[] {
  const out: Bucket[] = [];
  db.buckets(id, fromMs, toMs, points, (startMs, count, min, max, mean, first, last) =>
    out.push({ startMs, count, min, max, mean, first, last }),
  );
  return out;
}

/**
 * Whether two reading lists are equal bit for bit (Object.is on every
 * number, so -0 and 0 differ); returns a description of the first difference.
 */
export function diffReadings(actual: readonly Reading[], expected: readonly Reading[]): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as Reading;
    const e = expected[i] as Reading;
    if (!Object.is(a.seq, e.seq) || !Object.is(a.ts, e.ts) || !Object.is(a.value, e.value)) {
      return `at ${i}: ${JSON.stringify(a)} (value ${String(a.value)}), expected ${JSON.stringify(e)} (value ${String(e.value)})`;
    }
  }
  return undefined;
}

/**
 * Whether the buckets agree: counts, starts, first, last, min and max exactly
 * (-0 is below 0, as for Math.min and Math.max), the mean to a rounding error
 * (sums are added in a different order).
 */
export function diffBuckets(actual: readonly Bucket[], expected: readonly Bucket[]): string | undefined {
  if (actual.length !== expected.length) return `${actual.length} buckets, expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as Bucket;
    const e = expected[i] as Bucket;
    const meanOk = Math.abs(a.mean - e.mean) <= 1e-9 * Math.max(1, Math.abs(e.mean), Math.abs(e.min), Math.abs(e.max));
    if (
      a.startMs !== e.startMs ||
      a.count !== e.count ||
      !Object.is(a.min, e.min) ||
      !Object.is(a.max, e.max) ||
      !meanOk ||
      !Object.is(a.first, e.first) ||
      !Object.is(a.last, e.last)
    ) {
      return `bucket ${i}: ${JSON.stringify(a)}, expected ${JSON.stringify(e)}`;
    }
  }
  return undefined;
}
