import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketCsv, BucketSeries, foldTable, GAP_FACTOR, medianStep, plotTable, rawCsv, RawSeries } from './series.js';

describe('RawSeries', () => {
  it('keeps readings in (timestamp, seq) order and drops the oldest, like a sorted list', () => {
    const op = fc.oneof(
      fc.record({ add: fc.integer({ min: 0, max: 200 }) }),
      fc.record({ trim: fc.integer({ min: 0, max: 200 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const series = new RawSeries();
        let model: { ts: number; seq: number }[] = [];
        let seq = 0;
        for (const o of ops) {
          if ('add' in o) {
            seq++;
            series.add(o.add, o.add * 2, seq);
            model.push({ ts: o.add, seq });
            model.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
          } else {
            series.trimBefore(o.trim);
            model = model.filter((r) => r.ts >= o.trim);
          }
        }
        const { ts, value, seq: seqs } = series.slice(-Infinity, Infinity);
        expect([...ts]).toEqual(model.map((r) => r.ts));
        expect([...value]).toEqual(model.map((r) => r.ts * 2));
        expect([...seqs]).toEqual(model.map((r) => r.seq));
        expect(series.length).toBe(model.length);
      }),
    );
  });

  it('slices the readings of a span, both ends included', () => {
    const series = new RawSeries();
    for (let i = 1; i <= 5; i++) series.add(i * 10, i, i);
    expect([...series.slice(20, 40).seq]).toEqual([2, 3, 4]);
    expect(series.lastSeq).toBe(5);
  });
});

describe('BucketSeries', () => {
  it('folds live readings into the server buckets on the same grid', () => {
    const series = new BucketSeries(1000, 100);
    series.put({ start: 1000, count: 2, min: 1, max: 3, mean: 2, first: 1, last: 3 });
    series.put({ start: 1200, count: 1, min: 5, max: 5, mean: 5, first: 5, last: 5 });
    series.add(1250, 7); // into the bucket at 1200
    series.add(1420, -1); // a new bucket at 1400
    series.add(1150, 4); // the empty bucket at 1100, in its place
    expect(series.slice(0, 2000)).toEqual([
      { start: 1000, count: 2, min: 1, max: 3, mean: 2, first: 1, last: 3 },
      { start: 1100, count: 1, min: 4, max: 4, mean: 4, first: 4, last: 4 },
      { start: 1200, count: 2, min: 5, max: 7, mean: 6, first: 5, last: 7 },
      { start: 1400, count: 1, min: -1, max: -1, mean: -1, first: -1, last: -1 },
    ]);
    series.trimBefore(1200);
    expect(series.slice(0, 2000).map((b) => b.start)).toEqual([1200, 1400]);
    expect([...series.columns(0, 2000).x]).toEqual([1250, 1450]);
  });
});

describe('plotTable', () => {
  it('draws a step over five times the median step as a gap (null)', () => {
    const [x, y] = plotTable([{ x: [0, 1, 2, 3, 20, 21], ys: [[1, 2, 3, 4, 5, 6]] }]);
    expect([...x]).toEqual([0, 1, 2, 3, 11.5, 20, 21]);
    expect(y).toEqual([1, 2, 3, 4, null, 5, 6]);
    expect(medianStep([0, 1, 2, 3, 20, 21])).toBe(1);
  });

  it('joins sensors on the union of their x values, undefined where a sensor has no point', () => {
    const [x, a, b] = plotTable([
      { x: [0, 2, 4], ys: [[10, 12, 14]] },
      { x: [1, 2, 3], ys: [[21, 22, 23]] },
    ]);
    expect([...x]).toEqual([0, 1, 2, 3, 4]);
    expect(a).toEqual([10, undefined, 12, undefined, 14]);
    expect(b).toEqual([undefined, 21, 22, 23, undefined]);
  });

  it('makes the whole of a gap null, over the points of other sensors within it', () => {
    const [x, a, b] = plotTable([
      { x: [0, 1, 2, 3, 20, 21], ys: [[1, 2, 3, 4, 5, 6]] },
      { x: [5, 10, 15], ys: [[7, 8, 9]] },
    ]);
    expect([...x]).toEqual([0, 1, 2, 3, 5, 10, 11.5, 15, 20, 21]);
    expect(a).toEqual([1, 2, 3, 4, null, null, null, null, 5, 6]);
    expect(b).toEqual([undefined, undefined, undefined, undefined, 7, 8, undefined, 9, undefined, undefined]);
  });

  it('keeps every point of every trace, in order, whatever the x values', () => {
    const trace = fc
      .uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 60 })
      .map((xs) => xs.sort((p, q) => p - q))
      .map((xs) => ({ x: xs, ys: [xs.map((v) => v + 0.5)] }));
    fc.assert(
      fc.property(fc.array(trace, { minLength: 1, maxLength: 4 }), (traces) => {
        const [x, ...cols] = plotTable(traces);
        expect([...x]).toEqual([...x].sort((p, q) => p - q));
        traces.forEach((t, k) => {
          const col = cols[k]!;
          expect(col).toHaveLength(x.length);
          const points = [...x].flatMap((xv, j) => (typeof col[j] === 'number' ? [[xv, col[j]]] : []));
          expect(points).toEqual(t.x.map((xv, i) => [xv, t.ys[0]![i]]));
        });
      }),
    );
  });
});

describe('foldTable', () => {
  /** A trace's numeric points in the table, with their row. */
  const pointsOf = (
    table: ReturnType<typeof foldTable>['table'],
    k: number,
  ): { row: number; x: number; y: number }[] => {
    const out: { row: number; x: number; y: number }[] = [];
    const ys = table[k + 1]!;
    ys.forEach((y, row) => {
      if (typeof y === 'number') out.push({ row, x: table[0][row]!, y });
    });
    return out;
  };

  it('keeps each pixel column first, min, max and last of every trace, in time order, and gaps as nulls', () => {
    const trace = fc.uniqueArray(fc.integer({ min: 0, max: 999 }), { maxLength: 300 }).chain((xs) => {
      const x = [...xs].sort((a, b) => a - b);
      return fc.array(fc.integer({ min: -50, max: 50 }), { minLength: x.length, maxLength: x.length }).map((y) => ({
        x,
        y,
      }));
    });
    fc.assert(
      fc.property(fc.array(trace, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 80 }), (ts, columns) => {
        const { table, min, max } = foldTable(
          ts.map((t) => ({ x: t.x, ys: [t.y] })),
          0,
          1000,
          columns,
        );
        const width = 1000 / columns;
        const col = (x: number): number => Math.floor(x / width);
        const xs = [...table[0]];
        expect(xs).toEqual([...xs].sort((a, b) => a - b));
        ts.forEach((t, k) => {
          // The model: the raw points of each column.
          const raw = new Map<number, number[]>();
          t.x.forEach((x, i) => raw.set(col(x), [...(raw.get(col(x)) ?? []), t.y[i]!]));
          const drawn = new Map<number, number[]>();
          const points = pointsOf(table, k);
          for (const p of points) drawn.set(col(p.x), [...(drawn.get(col(p.x)) ?? []), p.y]);
          expect([...drawn.keys()]).toEqual([...raw.keys()]);
          for (const [c, ys] of raw) {
            const got = drawn.get(c)!;
            expect(got.length).toBeLessThanOrEqual(4);
            expect(got[0]).toBe(ys[0]);
            expect(got.at(-1)).toBe(ys.at(-1));
            expect(Math.min(...got)).toBe(Math.min(...ys));
            expect(Math.max(...got)).toBe(Math.max(...ys));
          }
          expect(min[k]).toBe(t.y.length === 0 ? undefined : Math.min(...t.y));
          expect(max[k]).toBe(t.y.length === 0 ? undefined : Math.max(...t.y));
          // A null lies between two drawn points exactly when the raw step between them is a gap.
          const threshold = Math.max(2 * width, GAP_FACTOR * medianStep(t.x));
          const column = table[k + 1]!;
          const raws = t.x.map((x, i) => ({ x, y: t.y[i]! }));
          for (let i = 1; i < points.length; i++) {
            const a = points[i - 1]!;
            const b = points[i]!;
            const hasNull = column.slice(a.row + 1, b.row).some((v) => v === null);
            // The raw step between the two drawn points: the last raw point of a's column and the next.
            if (col(a.x) === col(b.x)) {
              expect(hasNull).toBe(false);
              continue;
            }
            let last = raws.length - 1;
            while (col(raws[last]!.x) !== col(a.x)) last--;
            expect(hasNull).toBe(raws[last + 1]!.x - raws[last]!.x > threshold);
          }
          const first = points[0]?.row ?? column.length;
          const end = points.at(-1)?.row ?? -1;
          const outside = [...column.slice(0, first), ...column.slice(end + 1)];
          expect(outside.every((v) => v === undefined)).toBe(true);
        });
      }),
    );
  });

  it('keeps sparse readings as they are: one row per reading, its own timestamp', () => {
    const x = [10, 250, 260, 700];
    expect(foldTable([{ x, ys: [[1, 2, 3, 4]] }], 0, 1000, 100).table).toEqual([Float64Array.from(x), [1, 2, 3, 4]]);
  });

  it('draws a sensor with 6,000 readings in a minute with at most four rows per pixel column', () => {
    const x = Array.from({ length: 6000 }, (_, i) => i * 10);
    const y = x.map((_, i) => Math.sin(i / 50));
    const { table } = foldTable(
      [
        { x, ys: [y] },
        { x, ys: [y.map((v) => -v)] },
      ],
      0,
      60_000,
      1000,
    );
    expect(table[0].length).toBeLessThanOrEqual(4000);
    expect(table[0].length).toBeGreaterThan(1000);
    expect(table).toHaveLength(3);
  });
});

describe('CSV', () => {
  it('writes numbers as the server does, with a header', () => {
    expect(rawCsv([{ sensor: 'ramp', ts: 1764316800125.5, value: 1e-7, seq: 3 }])).toBe(
      'sensor,ts,value,seq\nramp,1764316800125.5,1e-7,3\n',
    );
    expect(bucketCsv([{ sensor: 'a/b', start: 0.5, count: 2, min: -1, max: 1, mean: 0, first: -1, last: 1 }])).toBe(
      'sensor,start,count,min,max,mean,first,last\na/b,0.5,2,-1,1,0,-1,1\n',
    );
  });
});
