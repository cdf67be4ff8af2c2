import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingHistory } from './history.js';
import { SensorStore, type Sensor } from './store.js';

interface Row {
  ts: number;
  value: number;
  seq: number;
}

const history = new RingHistory();

/** A sensor holding `readings` (value, ts) in arrival order, in a ring of `capacity`. */
function sensorWith(readings: readonly (readonly [number, number])[], capacity: number): Sensor {
  const store = new SensorStore({ historyCapacity: capacity, now: () => 0 });
  for (const [value, ts] of readings) store.ingest('s', value, ts, -1);
  const sensor = store.get('s');
  if (sensor === undefined) throw new Error('sensorWith needs at least one reading');
  return sensor;
}

/** The plain model: what the ring holds, as rows. */
function held(sensor: Sensor): Row[] {
  return sensor.history().map((r) => ({ ts: r.timestampMs, value: r.value, seq: r.seq }));
}

function inTimeOrder(rows: readonly Row[], from: number, to: number): Row[] {
  return rows.filter((r) => r.ts >= from && r.ts <= to).sort((a, b) => a.ts - b.ts || a.seq - b.seq);
}

function rangeRows(sensor: Sensor, from: number, to: number, limit: number): { rows: Row[]; more: number | undefined } {
  const rows: Row[] = [];
  const { more } = history.range(sensor, from, to, limit, (ts, value, seq) => rows.push({ ts, value, seq }));
  return { rows, more };
}

// Timestamps from a small set, so that ties and disorder are common.
const tsArb = fc.integer({ min: 0, max: 40 }).map((t) => t * 2.5);
const readingsArb = fc.array(fc.tuple(fc.integer({ min: -50, max: 50 }), tsArb), { minLength: 1, maxLength: 60 });
const orderedReadingsArb = readingsArb.map((rs) => {
  const stamps = rs.map(([, ts]) => ts).sort((a, b) => a - b);
  return rs.map(([v], i) => [v, stamps[i]!] as const);
});
const anyReadingsArb = fc.oneof(readingsArb, orderedReadingsArb);
const capacityArb = fc.integer({ min: 1, max: 80 });
const spanArb = fc.tuple(fc.integer({ min: -5, max: 105 }), fc.integer({ min: -5, max: 105 })).map(([a, b]) => {
  const [from, to] = a <= b ? [a, b] : [b, a];
  return { from, to };
});

describe('RingHistory.range', () => {
  it('gives the readings within [from, to] in (timestamp, seq) order when they fit the limit', () => {
    fc.assert(
      fc.property(anyReadingsArb, capacityArb, spanArb, (readings, capacity, { from, to }) => {
        const sensor = sensorWith(readings, capacity);
        const expected = inTimeOrder(held(sensor), from, to);
        expect(rangeRows(sensor, from, to, Math.max(1, expected.length))).toEqual({ rows: expected, more: undefined });
      }),
      { numRuns: 1000 },
    );
  });

  it('cuts at the limit only between two timestamps, and says where to continue', () => {
    fc.assert(
      fc.property(
        anyReadingsArb,
        capacityArb,
        spanArb,
        fc.integer({ min: 1, max: 20 }),
        (readings, capacity, { from, to }, limit) => {
          const sensor = sensorWith(readings, capacity);
          const all = inTimeOrder(held(sensor), from, to);
          const { rows, more } = rangeRows(sensor, from, to, limit);
          if (all.length <= limit) {
            expect({ rows, more }).toEqual({ rows: all, more: undefined });
            return;
          }
          // The model: the longest prefix within the limit that ends between two timestamps,
          // or, when there is none, every reading at the first timestamp.
          let end = limit;
          while (end > 0 && all[end - 1]!.ts === all[limit]!.ts) end--;
          if (end === 0) end = all.filter((r) => r.ts === all[0]!.ts).length;
          expect(rows).toEqual(all.slice(0, end));
          expect(more).toBe(all[end]?.ts);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('gives every reading exactly once when continued from more until there is none', () => {
    fc.assert(
      fc.property(
        anyReadingsArb,
        capacityArb,
        spanArb,
        fc.integer({ min: 1, max: 10 }),
        (readings, capacity, { from, to }, limit) => {
          const sensor = sensorWith(readings, capacity);
          const got: Row[] = [];
          let next: number | undefined = from;
          for (let pages = 0; next !== undefined; pages++) {
            expect(pages).toBeLessThan(100);
            const page = rangeRows(sensor, next, to, limit);
            got.push(...page.rows);
            expect(page.more === undefined || page.more > next).toBe(true);
            next = page.more;
          }
          expect(got).toEqual(inTimeOrder(held(sensor), from, to));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('reads a time-ordered ring by binary search and a disordered one by sorting, alike', () => {
    const ordered = sensorWith(
      [
        [1, 10],
        [2, 20],
        [3, 20],
        [4, 30],
      ],
      10,
    );
    expect(ordered.timeOrdered).toBe(true);
    expect(rangeRows(ordered, 20, 30, 10).rows.map((r) => r.seq)).toEqual([2, 3, 4]);
    const disordered = sensorWith(
      [
        [1, 30],
        [2, 20],
        [3, 10],
        [4, 20],
      ],
      10,
    );
    expect(disordered.timeOrdered).toBe(false);
    expect(rangeRows(disordered, 20, 30, 10).rows.map((r) => r.seq)).toEqual([2, 4, 1]);
    expect(rangeRows(disordered, 20, 30, 1)).toEqual({
      rows: [
        { ts: 20, value: 2, seq: 2 },
        { ts: 20, value: 4, seq: 4 },
      ],
      more: 30,
    });
  });

  it('gives nothing for an empty span or one after from > to', () => {
    const sensor = sensorWith([[1, 10]], 5);
    expect(rangeRows(sensor, 11, 20, 5)).toEqual({ rows: [], more: undefined });
    expect(rangeRows(sensor, 20, 0, 5)).toEqual({ rows: [], more: undefined });
  });
});

describe('RingHistory.buckets', () => {
  interface BucketRow {
    start: number;
    count: number;
    min: number;
    max: number;
    mean: number;
    first: number;
    last: number;
  }

  function model(rows: readonly Row[], from: number, to: number, points: number): BucketRow[] {
    const groups = new Map<number, Row[]>();
    for (const r of inTimeOrder(rows, from, to)) {
      const b = to === from ? 0 : Math.min(points - 1, Math.floor(((r.ts - from) * points) / (to - from)));
      groups.set(b, [...(groups.get(b) ?? []), r]);
    }
    return [...groups.entries()]
      .sort(([a], [b]) => a - b)
      .map(([b, group]) => {
        const values = group.map((r) => r.value);
        return {
          start: from + (b * (to - from)) / points,
          count: group.length,
          min: Math.min(...values),
          max: Math.max(...values),
          mean: values.reduce((s, v) => s + v, 0) / values.length,
          first: values[0]!,
          last: values.at(-1)!,
        };
      });
  }

  it('summarises each non-empty bucket of equal width as the model does', () => {
    fc.assert(
      fc.property(
        anyReadingsArb,
        capacityArb,
        spanArb,
        fc.integer({ min: 1, max: 30 }),
        (readings, capacity, { from, to }, points) => {
          const sensor = sensorWith(readings, capacity);
          const got: BucketRow[] = [];
          const given = history.buckets(sensor, from, to, points, (start, count, min, max, mean, first, last) =>
            got.push({ start, count, min, max, mean, first, last }),
          );
          const expected = model(held(sensor), from, to, points);
          expect(got).toEqual(expected);
          expect(given).toBe(expected.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('puts a reading at to in the last bucket, and every reading in one bucket when from equals to', () => {
    const sensor = sensorWith(
      [
        [1, 0],
        [2, 5],
        [3, 10],
        [4, 10],
      ],
      10,
    );
    const starts: [number, number][] = [];
    history.buckets(sensor, 0, 10, 2, (start, count) => starts.push([start, count]));
    expect(starts).toEqual([
      [0, 1],
      [5, 3],
    ]);
    const one: [number, number, number, number][] = [];
    history.buckets(sensor, 10, 10, 7, (start, count, _min, _max, _mean, first, last) =>
      one.push([start, count, first, last]),
    );
    expect(one).toEqual([[10, 2, 3, 4]]);
  });
});

describe('RingHistory.after', () => {
  it('gives the readings held with a seq above the given one, ascending, at most limit', () => {
    fc.assert(
      fc.property(
        readingsArb,
        capacityArb,
        fc.integer({ min: 0, max: 70 }),
        fc.integer({ min: 0, max: 70 }),
        (readings, capacity, seq, limit) => {
          const sensor = sensorWith(readings, capacity);
          const got: Row[] = [];
          const count = history.after(sensor, seq, limit, (ts, value, s) => got.push({ ts, value, seq: s }));
          const expected = held(sensor)
            .filter((r) => r.seq > seq)
            .slice(0, limit);
          expect(got).toEqual(expected);
          expect(count).toBe(expected.length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
