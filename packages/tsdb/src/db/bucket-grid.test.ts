import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BucketGrid, nextDown, nextUp } from './bucket-grid.js';

/** The adjacent double by its bits (positive steps away from zero, negative towards it, crossing zero at ±0). */
function adjacent(x: number, up: boolean): number {
  if (x === 0) return up ? 5e-324 : -5e-324;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, up === x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -Number.MAX_VALUE, max: Number.MAX_VALUE });

/** Windows with whole, fractional, huge, tiny and negative bounds and widths that are not whole numbers. */
const window = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 2 ** 42 }), fc.double({ min: 1e-3, max: 1e9, noNaN: true }))
    .map(([from, width]) => [from + 0.3, from + 0.3 + width] as const),
  fc
    .tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 1e-9, max: 1e6, noNaN: true }))
    .map(([from, width]) => [from, from + width] as const),
  fc.tuple(finite, finite).map(([a, b]) => (a <= b ? ([a, b] as const) : ([b, a] as const))),
);
const points = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 50 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) },
);

describe('nextUp and nextDown', () => {
  it('step to the adjacent double', () => {
    fc.assert(
      fc.property(finite, (x) => {
        if (x !== Number.MAX_VALUE) expect(nextUp(x)).toBe(adjacent(x, true));
        if (x !== -Number.MAX_VALUE) expect(nextDown(x)).toBe(adjacent(x, false));
      }),
      { numRuns: 2000 },
    );
    expect(nextUp(0)).toBe(5e-324);
    expect(nextUp(-0)).toBe(5e-324);
    expect(nextDown(5e-324)).toBe(0);
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
  });
});

describe('BucketGrid', () => {
  it('puts each edge on the first double the bucket formula sends to the next bucket', () => {
    fc.assert(
      fc.property(window, points, fc.nat(), ([from, to], n, pick) => {
        const grid = new BucketGrid(from, to, n);
        fc.pre(grid.edges);
        for (const i of new Set([0, n - 1, pick % n, (pick >> 3) % n])) {
          const end = grid.end(i);
          if (i === n - 1) {
            expect(end).toBe(nextUp(to));
            continue;
          }
          expect(end).toBeGreaterThan(from);
          expect(end).toBeLessThanOrEqual(to);
          expect(grid.bucketOf(end)).toBeGreaterThan(i);
          expect(grid.bucketOf(nextDown(end))).toBeLessThanOrEqual(i);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reports bucket starts and indexes by the documented formula, edges or not', () => {
    const grid = new BucketGrid(10, 20, 3);
    expect([grid.startOf(0), grid.startOf(1), grid.startOf(2)]).toEqual([10, 10 + 10 / 3, 10 + 20 / 3]);
    expect([grid.bucketOf(10), grid.bucketOf(13.333333333333334), grid.bucketOf(20)]).toEqual([0, 1, 2]);
    expect(grid.end(0)).toBe(13.333333333333334);
    expect(grid.bucketOf(nextDown(13.333333333333334))).toBe(0);
    const instant = new BucketGrid(5, 5, 10);
    expect([instant.edges, instant.bucketOf(5), instant.startOf(0)]).toEqual([false, 0, 5]);
    expect(new BucketGrid(-Number.MAX_VALUE, Number.MAX_VALUE, 2).edges).toBe(false);
  });
});
