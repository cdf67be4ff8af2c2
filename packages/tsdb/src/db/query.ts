// How it works: reads over one series, across its closed chunks and its head
// (the open chunk), all given as ChunkRefs with a loader for their encoded
// bytes. `last` and `after` go by seq: chunks hold consecutive seqs, so the
// chunk holding a seq is found by binary search and decoding starts there.
// `range` and `buckets` go by timestamp: chunks whose [minTs, maxTs] misses
// the window are skipped without decoding. When a series is `sorted` (its
// timestamps never decrease by seq), readings come out in (ts, seq) order as
// they are decoded; otherwise the readings in the window are collected and
// sorted. `buckets` takes a chunk that falls inside one bucket from its
// stored summary, and decodes only the chunks that straddle a bucket edge;
// a decoded chunk in ts order is added one bucket's run of readings at a
// time, the runs cut where bucket-grid.ts puts the edges.
// docs/STORAGE.md, "Reads".

import { decodeChunk } from '../chunk/index.js';
import { BucketGrid } from './bucket-grid.js';
import { FLAG_SORTED } from './format.js';
import type { ChunkRef } from './head.js';

/** Called once per reading. */
export type ReadingFn = (ts: number, value: number, seq: number) => void;

/** Called once per non-empty bucket. */
export type BucketFn = (
  startMs: number,
  count: number,
  min: number,
  max: number,
  mean: number,
  first: number,
  last: number,
) => void;

/** The chunks of a series, oldest first (the head, if any, last), and how to get a chunk's encoded bytes. */
export interface SeriesView {
  readonly chunks: readonly ChunkRef[];
  readonly head: ChunkRef | undefined;
  readonly sorted: boolean;
  data(ref: ChunkRef): Uint8Array;
}

/** Decode buffers, grown as needed and reused between queries. */
export class Scratch {
  ts: Float64Array = new Float64Array(1024);
  values: Float64Array = new Float64Array(1024);
  busy = false;

  /** Decodes `ref` into the buffers (or fresh ones when these are in use) and returns them. */
  decode(view: SeriesView, ref: ChunkRef, own: { ts: Float64Array; values: Float64Array }): void {
    if (own.ts.length < ref.count) {
      let n = own.ts.length;
      while (n < ref.count) n *= 2;
      own.ts = new Float64Array(n);
      own.values = new Float64Array(n);
    }
    decodeChunk(view.data(ref), ref.count, own.ts, own.values);
  }
}

function chunkAt(view: SeriesView, i: number): ChunkRef {
  const { chunks } = view;
  return i < chunks.length ? (chunks[i] as ChunkRef) : (view.head as ChunkRef);
}

function chunkCount(view: SeriesView): number {
  return view.chunks.length + (view.head === undefined ? 0 : 1);
}

/** Takes the shared buffers, or new ones when a callback re-entered a query. */
function buffers(scratch: Scratch): { ts: Float64Array; values: Float64Array; shared: boolean } {
  if (scratch.busy) return { ts: new Float64Array(1024), values: new Float64Array(1024), shared: false };
  scratch.busy = true;
  return { ts: scratch.ts, values: scratch.values, shared: true };
}

function release(scratch: Scratch, b: { ts: Float64Array; values: Float64Array; shared: boolean }): void {
  if (!b.shared) return;
  scratch.ts = b.ts;
  scratch.values = b.values;
  scratch.busy = false;
}

/** The newest `n` readings by seq, oldest first. */
export function queryLast(view: SeriesView, n: number, scratch: Scratch, fn: ReadingFn): void {
  const total = chunkCount(view);
  let need = n;
  let i = total;
  while (i > 0 && need > 0) {
    i--;
    need -= chunkAt(view, i).count;
  }
  const b = buffers(scratch);
  try {
    let skip = need < 0 ? -need : 0;
    for (let j = i; j < total; j++) {
      const ref = chunkAt(view, j);
      scratch.decode(view, ref, b);
      const { ts, values } = b;
      for (let k = skip; k < ref.count; k++) fn(ts[k] as number, values[k] as number, ref.firstSeq + k);
      skip = 0;
    }
  } finally {
    release(scratch, b);
  }
}

/** Readings with seq > `seq`, ascending, at most `limit`; returns how many. */
export function queryAfter(view: SeriesView, seq: number, limit: number, scratch: Scratch, fn: ReadingFn): number {
  const total = chunkCount(view);
  // First chunk whose last seq is > seq.
  let lo = 0;
  let hi = total;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = chunkAt(view, mid);
    if (c.firstSeq + c.count - 1 > seq) hi = mid;
    else lo = mid + 1;
  }
  let emitted = 0;
  if (lo >= total || limit <= 0) return 0;
  const b = buffers(scratch);
  try {
    for (let j = lo; j < total && emitted < limit; j++) {
      const ref = chunkAt(view, j);
      scratch.decode(view, ref, b);
      const { ts, values } = b;
      for (let k = Math.max(0, seq + 1 - ref.firstSeq); k < ref.count && emitted < limit; k++) {
        fn(ts[k] as number, values[k] as number, ref.firstSeq + k);
        emitted++;
      }
    }
  } finally {
    release(scratch, b);
  }
  return emitted;
}

/** Growable columns of (ts, value, seq). */
class Collected {
  ts: Float64Array = new Float64Array(256);
  values: Float64Array = new Float64Array(256);
  seqs: Float64Array = new Float64Array(256);
  length = 0;

  push(ts: number, value: number, seq: number): void {
    if (this.length === this.ts.length) {
      const n = this.length * 2;
      const t = new Float64Array(n);
      t.set(this.ts);
      this.ts = t;
      const v = new Float64Array(n);
      v.set(this.values);
      this.values = v;
      const s = new Float64Array(n);
      s.set(this.seqs);
      this.seqs = s;
    }
    this.ts[this.length] = ts;
    this.values[this.length] = value;
    this.seqs[this.length] = seq;
    this.length++;
  }
}

/** Index of the first chunk (of a sorted series) whose maxTs >= fromMs. */
function firstChunkFrom(view: SeriesView, fromMs: number): number {
  let lo = 0;
  let hi = chunkCount(view);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (chunkAt(view, mid).maxTs >= fromMs) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Readings with from <= ts <= to in (ts, seq) order, at most `limit`, cut only
 * between two different timestamps; `more` is the ts to go on from when cut.
 * A first timestamp holding more than `limit` readings is returned whole, so
 * that paging always advances.
 */
export function queryRange(
  view: SeriesView,
  fromMs: number,
  toMs: number,
  limit: number,
  scratch: Scratch,
  fn: ReadingFn,
): { more: number | undefined } {
  const rows = new Collected();
  const total = chunkCount(view);
  const b = buffers(scratch);
  try {
    if (view.sorted) {
      // Decode in order and stop once the reading after the limit is known and its ts differs.
      let cutTs = Number.NaN;
      outer: for (let j = firstChunkFrom(view, fromMs); j < total; j++) {
        const ref = chunkAt(view, j);
        if (ref.minTs > toMs) break;
        scratch.decode(view, ref, b);
        const { ts, values } = b;
        for (let k = 0; k < ref.count; k++) {
          const t = ts[k] as number;
          if (t < fromMs) continue;
          if (t > toMs) break outer;
          if (rows.length >= limit) {
            const lastTs = rows.ts[rows.length - 1] as number;
            if (t !== lastTs) {
              cutTs = t;
              break outer;
            }
          }
          rows.push(t, values[k] as number, ref.firstSeq + k);
        }
      }
      return emitCut(rows, limit, cutTs, fn);
    }
    for (let j = 0; j < total; j++) {
      const ref = chunkAt(view, j);
      if (ref.maxTs < fromMs || ref.minTs > toMs) continue;
      scratch.decode(view, ref, b);
      const { ts, values } = b;
      for (let k = 0; k < ref.count; k++) {
        const t = ts[k] as number;
        if (t >= fromMs && t <= toMs) rows.push(t, values[k] as number, ref.firstSeq + k);
      }
    }
  } finally {
    release(scratch, b);
  }
  const order = new Uint32Array(rows.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const rts = rows.ts;
  const rseq = rows.seqs;
  order.sort((x, y) => (rts[x] as number) - (rts[y] as number) || (rseq[x] as number) - (rseq[y] as number));
  const sorted = new Collected();
  for (const i of order) sorted.push(rts[i] as number, rows.values[i] as number, rseq[i] as number);
  let cutTs = Number.NaN;
  if (sorted.length > limit) {
    // Keep the whole run of the timestamp at the limit only when it starts the window.
    let end = limit;
    const atLimit = sorted.ts[limit] as number;
    while (end > 0 && sorted.ts[end - 1] === atLimit) end--;
    if (end === 0) {
      end = limit;
      while (end < sorted.length && sorted.ts[end] === atLimit) end++;
    }
    if (end < sorted.length) cutTs = sorted.ts[end] as number;
    sorted.length = end;
  }
  return emitCut(sorted, Number.POSITIVE_INFINITY, cutTs, fn);
}

/** Emits `rows` (in order), cutting the trailing run of one timestamp when it crosses `limit`. */
function emitCut(rows: Collected, limit: number, cutTs: number, fn: ReadingFn): { more: number | undefined } {
  let end = rows.length;
  let more: number | undefined = Number.isNaN(cutTs) ? undefined : cutTs;
  if (end > limit) {
    // The run of the last timestamp went past the limit: drop it unless it is the whole window.
    const lastTs = rows.ts[end - 1] as number;
    let start = end;
    while (start > 0 && rows.ts[start - 1] === lastTs) start--;
    if (start > 0) {
      end = start;
      more = lastTs;
    }
  }
  for (let i = 0; i < end; i++) fn(rows.ts[i] as number, rows.values[i] as number, rows.seqs[i] as number);
  return { more };
}

/** Per-bucket columns: count, sum, min and max, and the (ts, seq, value) first and last by (ts, seq). */
class BucketColumns {
  readonly count: Float64Array;
  readonly sum: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly firstTs: Float64Array;
  readonly firstSeq: Float64Array;
  readonly firstValue: Float64Array;
  readonly lastTs: Float64Array;
  readonly lastSeq: Float64Array;
  readonly lastValue: Float64Array;

  constructor(points: number) {
    this.count = new Float64Array(points);
    this.sum = new Float64Array(points);
    this.min = new Float64Array(points).fill(Infinity);
    this.max = new Float64Array(points).fill(-Infinity);
    this.firstTs = new Float64Array(points).fill(Infinity);
    this.firstSeq = new Float64Array(points);
    this.firstValue = new Float64Array(points);
    this.lastTs = new Float64Array(points).fill(-Infinity);
    this.lastSeq = new Float64Array(points);
    this.lastValue = new Float64Array(points);
  }

  /** Adds `n` readings to bucket `i`: their sum, min and max, and the first and last of them by (ts, seq). */
  add(
    i: number,
    n: number,
    sum: number,
    min: number,
    max: number,
    firstTs: number,
    firstSeq: number,
    firstValue: number,
    lastTs: number,
    lastSeq: number,
    lastValue: number,
  ): void {
    this.count[i] = (this.count[i] as number) + n;
    this.sum[i] = (this.sum[i] as number) + sum;
    this.min[i] = Math.min(this.min[i] as number, min);
    this.max[i] = Math.max(this.max[i] as number, max);
    const ft = this.firstTs[i] as number;
    if (firstTs < ft || (firstTs === ft && firstSeq < (this.firstSeq[i] as number))) {
      this.firstTs[i] = firstTs;
      this.firstSeq[i] = firstSeq;
      this.firstValue[i] = firstValue;
    }
    const lt = this.lastTs[i] as number;
    if (lastTs > lt || (lastTs === lt && lastSeq > (this.lastSeq[i] as number))) {
      this.lastTs[i] = lastTs;
      this.lastSeq[i] = lastSeq;
      this.lastValue[i] = lastValue;
    }
  }
}

/**
 * The sum, min and max of values[k] (which is in the run) and the values after it while ts < end, into
 * runTotals[0..2]; returns the index after the run, at least k + 1. Kept apart and small so that it is compiled
 * early.
 */
function foldRun(ts: Float64Array, values: Float64Array, k: number, count: number, end: number): number {
  let sum = values[k] as number;
  let min = sum;
  let max = sum;
  for (k++; k < count; k++) {
    if ((ts[k] as number) >= end) break;
    const v = values[k] as number;
    sum += v;
    // Math.min and Math.max, as the chunk summaries: -0 is below 0, whichever comes first.
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  runTotals[0] = sum;
  runTotals[1] = min;
  runTotals[2] = max;
  return k;
}

/** foldRun's results. */
const runTotals = new Float64Array(3);

/**
 * Adds the decoded readings of a chunk whose timestamps never decrease, a run of one bucket at a time: the run ends
 * where ts reaches the bucket's end (BucketGrid), so foldRun does one comparison and the min, max and sum per
 * reading. Stops at the first reading past toMs.
 */
function addSortedChunk(
  grid: BucketGrid,
  columns: BucketColumns,
  ts: Float64Array,
  values: Float64Array,
  count: number,
  firstSeq: number,
): void {
  const fromMs = grid.fromMs;
  let k = 0;
  while (k < count && (ts[k] as number) < fromMs) k++;
  while (k < count) {
    const t = ts[k] as number;
    if (t > grid.toMs) return;
    const i = grid.bucketOf(t);
    const start = k;
    k = foldRun(ts, values, k, count, grid.end(i));
    const last = k - 1;
    columns.add(
      i,
      k - start,
      runTotals[0] as number,
      runTotals[1] as number,
      runTotals[2] as number,
      t,
      firstSeq + start,
      values[start] as number,
      ts[last] as number,
      firstSeq + last,
      values[last] as number,
    );
  }
}

/** Adds the decoded readings of any chunk, each by its own bucket. */
function addChunk(
  grid: BucketGrid,
  columns: BucketColumns,
  ts: Float64Array,
  values: Float64Array,
  count: number,
  firstSeq: number,
): void {
  for (let k = 0; k < count; k++) {
    const t = ts[k] as number;
    if (t < grid.fromMs || t > grid.toMs) continue;
    const v = values[k] as number;
    const s = firstSeq + k;
    columns.add(grid.bucketOf(t), 1, v, v, v, t, s, v, t, s, v);
  }
}

/**
 * `points` equal-width buckets over [from, to]: reading ts falls in bucket
 * floor((ts - from) * points / (to - from)), the last bucket closed at `to`.
 * A chunk inside one bucket is taken from its summary; the others are decoded,
 * and a sorted one is added a bucket's run at a time (see BucketGrid).
 */
export function queryBuckets(
  view: SeriesView,
  fromMs: number,
  toMs: number,
  points: number,
  scratch: Scratch,
  fn: BucketFn,
): void {
  const grid = new BucketGrid(fromMs, toMs, points);
  const columns = new BucketColumns(points);
  const total = chunkCount(view);
  const b = buffers(scratch);
  try {
    let j = view.sorted ? firstChunkFrom(view, fromMs) : 0;
    for (; j < total; j++) {
      const ref = chunkAt(view, j);
      if (ref.minTs > toMs) {
        if (view.sorted) break;
        continue;
      }
      if (ref.maxTs < fromMs) continue;
      if (ref.minTs >= fromMs && ref.maxTs <= toMs) {
        const i = grid.bucketOf(ref.minTs);
        if (i === grid.bucketOf(ref.maxTs)) {
          // Inside one bucket: the summary answers. Seqs of different chunks never interleave, so the chunk's first
          // (or last) seq stands for the seq of its first (or last) reading by (ts, seq).
          const endSeq = ref.firstSeq + ref.count - 1;
          columns.add(
            i,
            ref.count,
            ref.sum,
            ref.minValue,
            ref.maxValue,
            ref.minTs,
            ref.firstSeq,
            ref.firstValue,
            ref.maxTs,
            endSeq,
            ref.lastValue,
          );
          continue;
        }
      }
      scratch.decode(view, ref, b);
      if (grid.edges && isSortedChunk(ref)) addSortedChunk(grid, columns, b.ts, b.values, ref.count, ref.firstSeq);
      else addChunk(grid, columns, b.ts, b.values, ref.count, ref.firstSeq);
    }
  } finally {
    release(scratch, b);
  }
  const { count, min, max, sum, firstValue, lastValue } = columns;
  for (let i = 0; i < points; i++) {
    const n = count[i] as number;
    if (n === 0) continue;
    fn(
      grid.startOf(i),
      n,
      min[i] as number,
      max[i] as number,
      (sum[i] as number) / n,
      firstValue[i] as number,
      lastValue[i] as number,
    );
  }
}

/** Whether a chunk's readings are in ts order by seq. */
export function isSortedChunk(ref: ChunkRef): boolean {
  return (ref.flags & FLAG_SORTED) !== 0;
}
