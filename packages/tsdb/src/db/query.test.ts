import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkEncoder } from '../chunk/index.js';
import { BucketGrid, nextDown, nextUp } from './bucket-grid.js';
import { FLAG_SORTED } from './format.js';
import type { ChunkRef } from './head.js';
import { Scratch, queryBuckets, type SeriesView } from './query.js';
import { ModelSeries, diffBuckets, type Bucket, type Reading } from './testing-model.js';

/** An in-memory series view: the readings (in seq order) cut into chunks of the given sizes, the rest the head. */
function viewOf(readings: readonly Reading[], sizes: readonly number[]): SeriesView {
  const data = new Map<ChunkRef, Uint8Array>();
  const refs: ChunkRef[] = [];
  let at = 0;
  for (let c = 0; at < readings.length; c++) {
    const part = readings.slice(at, at + (sizes[c % sizes.length] ?? 1));
    at += part.length;
    const enc = new ChunkEncoder();
    let sorted = true;
    for (const [k, r] of part.entries()) {
      enc.append(r.ts, r.value);
      if (k > 0 && r.ts < (part[k - 1] as Reading).ts) sorted = false;
    }
    const ref: ChunkRef = {
      seriesId: 0,
      count: enc.count,
      flags: sorted ? FLAG_SORTED : 0,
      firstSeq: (part[0] as Reading).seq,
      minTs: enc.minTs,
      maxTs: enc.maxTs,
      minValue: enc.minValue,
      maxValue: enc.maxValue,
      sum: enc.sum,
      firstValue: enc.earliestValue,
      lastValue: enc.latestValue,
      file: 0,
      offset: 0,
      dataLength: 0,
    };
    refs.push(ref);
    data.set(ref, enc.bytes());
  }
  let prevMax = -Infinity;
  let sorted = true;
  for (const ref of refs) {
    if ((ref.flags & FLAG_SORTED) === 0 || ref.minTs < prevMax) sorted = false;
    prevMax = Math.max(prevMax, ref.maxTs);
  }
  const head = refs.pop();
  return { chunks: refs, head, sorted, data: (ref) => data.get(ref) as Uint8Array };
}

function buckets(view: SeriesView, from: number, to: number, points: number): Bucket[] {
  const out: Bucket[] = [];
  queryBuckets(view, from, to, points, new Scratch(), (startMs, count, min, max, mean, first, last) =>
    out.push({ startMs, count, min, max, mean, first, last }),
  );
  return out;
}

/** Timestamps on and around every edge of the grid (and the window's ends), sorted: where a misplaced edge shows. */
function edgeTimestamps(from: number, to: number, points: number): number[] {
  const grid = new BucketGrid(from, to, points);
  const out = [nextDown(from), from, to, nextDown(to), nextUp(to)];
  for (let i = 0; i < Math.min(points, 200); i++) {
    const start = grid.startOf(i);
    out.push(start, nextDown(start), nextUp(start));
    if (grid.edges && i < points - 1) {
      const end = grid.end(i);
      out.push(end, nextDown(end), nextUp(end));
    }
  }
  return out.filter(Number.isFinite).sort((a, b) => a - b);
}

const T0 = Date.UTC(2030, 0, 1);

describe('queryBuckets', () => {
  it('places readings on, just before and just after every edge as the model does, at widths that are not whole', () => {
    const window = fc.oneof(
      fc
        .tuple(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0.5, max: 1e7, noNaN: true }))
        .map(([ms, width]) => [T0 + ms + 0.3, T0 + ms + 0.3 + width] as const),
      fc
        .tuple(fc.double({ min: -1000, max: 1000, noNaN: true }), fc.double({ min: 1e-6, max: 1000, noNaN: true }))
        .map(([from, width]) => [from, from + width] as const),
    );
    fc.assert(
      fc.property(
        window,
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        ([from, to], points, sizes, shuffle) => {
          const model = new ModelSeries('edges');
          const ts = edgeTimestamps(from, to, points);
          if (shuffle) ts.reverse();
          ts.forEach((t, k) => model.readings.push({ seq: k + 1, ts: t, value: (k * 7) % 11 }));
          const view = viewOf(model.readings, sizes);
          expect(diffBuckets(buckets(view, from, to, points), model.buckets(from, to, points))).toBeUndefined();
        },
      ),
      { numRuns: 400 },
    );
  });

  it('agrees with the model on a 1 s series read in buckets narrower and wider than its chunks', () => {
    const model = new ModelSeries('steady');
    for (let k = 0; k < 20_000; k++) model.readings.push({ seq: k + 1, ts: T0 + 1000 * k, value: (k % 600) / 10 });
    const view = viewOf(model.readings, [1024]);
    for (const [from, to, points] of [
      [T0, T0 + 19_999_000, 1000],
      [T0, T0 + 19_999_000, 7],
      [T0 + 123_456.5, T0 + 9_876_543.25, 333],
      [T0 - 5000, T0 + 30_000_000, 1_000_000],
      [T0 + 5000, T0 + 5000, 3],
    ] as const) {
      expect(diffBuckets(buckets(view, from, to, points), model.buckets(from, to, points))).toBeUndefined();
    }
  });
});
