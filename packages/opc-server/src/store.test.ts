import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { SensorStore, type Sensor } from './store.js';

const NOW = 1_764_316_800_000;

function store(options: { historyCapacity?: number; maxSensors?: number } = {}): SensorStore {
  return new SensorStore({ historyCapacity: 4, now: () => NOW, ...options });
}

describe('SensorStore', () => {
  it('creates a sensor on its first reading and keeps the latest value', () => {
    const s = store();
    expect(s.get('ramp')).toBeUndefined();
    s.ingest('ramp', 0.25, Number.NaN, -1);
    s.ingest('ramp', 0.5, Number.NaN, -1);
    const ramp = s.get('ramp')!;
    expect(ramp.lastValue).toBe(0.5);
    expect(ramp.count).toBe(2);
    expect(ramp.latest()).toEqual({ name: 'ramp', value: 0.5, timestampMs: NOW, seq: 2 });
    expect(s.size).toBe(1);
  });

  it('answers the legacy poll with the latest value, encoding it once per reading', () => {
    const s = store();
    s.ingest('default', 0.35, Number.NaN, -1);
    const sensor = s.get('default')!;
    const first = sensor.pollReply();
    expect(first).toBe('0.35\n');
    expect(sensor.pollReply()).toBe(first);
    s.ingest('default', 0.35, Number.NaN, -1); // the same value again: still the same reply
    expect(sensor.pollReply()).toBe('0.35\n');
    s.ingest('default', -1e-7, Number.NaN, -1);
    expect(sensor.pollReply()).toBe('-1e-7\n');
    s.ingest('default', Number.NaN, Number.NaN, -1);
    expect(sensor.pollReply()).toBe('nan\n');
  });

  it('uses the sender timestamp when given and the clock when it is NaN', () => {
    const s = store();
    s.ingest('a', 1, 1234.5, -1);
    expect(s.get('a')!.lastTimestampMs).toBe(1234.5);
    s.ingest('a', 2, Number.NaN, -1);
    expect(s.get('a')!.lastTimestampMs).toBe(NOW);
  });

  it('numbers readings per sensor from 1 without gaps', () => {
    const s = store();
    for (let i = 0; i < 3; i++) s.ingest('a', i, Number.NaN, -1);
    s.ingest('b', 9, Number.NaN, -1);
    expect(s.get('a')!.seq).toBe(3);
    expect(s.get('b')!.seq).toBe(1);
  });

  it('overwrites the oldest reading when the history is full', () => {
    const s = store({ historyCapacity: 3 });
    for (let i = 1; i <= 5; i++) s.ingest('a', i * 10, i, -1);
    const a = s.get('a')!;
    expect(a.size).toBe(3);
    expect(a.count).toBe(5);
    expect(a.history().map((r) => [r.value, r.timestampMs, r.seq])).toEqual([
      [30, 3, 3],
      [40, 4, 4],
      [50, 5, 5],
    ]);
    expect(a.history(2).map((r) => r.seq)).toEqual([4, 5]);
    expect([a.seqAt(0), a.seqAt(2), a.seqAt(-1), a.seqAt(-3), a.seqAt(3), a.seqAt(-4)]).toEqual([
      3,
      5,
      5,
      3,
      undefined,
      undefined,
    ]);
    expect(a.history(99)).toHaveLength(3);
    expect(a.history(0)).toEqual([]);
  });

  it('keeps server seqs contiguous in the history while duplicates are dropped', () => {
    const s = store({ historyCapacity: 4 });
    for (const senderSeq of [1, 2, 2, 3, 5, 5, 6]) s.ingest('a', senderSeq, senderSeq, senderSeq);
    const a = s.get('a')!;
    // 2 and 5 came twice: the repeats are not stored, so server seqs stay 1, 2, 3... with no hole.
    expect(a.history().map((r) => [r.value, r.seq])).toEqual([
      [2, 2],
      [3, 3],
      [5, 4],
      [6, 5],
    ]);
  });

  it('walks recent readings oldest first without building objects', () => {
    const s = store();
    for (let i = 1; i <= 3; i++) s.ingest('a', i, i * 100, -1);
    const seen: number[][] = [];
    s.get('a')!.forEachRecent(2, (value, ts, seq) => seen.push([value, ts, seq]));
    expect(seen).toEqual([
      [2, 200, 2],
      [3, 300, 3],
    ]);
  });

  it('treats __proto__ and constructor as ordinary sensor names', () => {
    const s = store();
    s.ingest('__proto__', 1, Number.NaN, -1);
    s.ingest('constructor', 2, Number.NaN, -1);
    expect(s.get('__proto__')!.lastValue).toBe(1);
    expect(s.get('constructor')!.lastValue).toBe(2);
    expect(s.get('toString')).toBeUndefined();
    expect(s.list().map((x) => x.name)).toEqual(['__proto__', 'constructor']);
  });

  it('refuses a new sensor past maxSensors but keeps storing known ones', () => {
    const s = store({ maxSensors: 2 });
    expect(s.ingest('a', 1, Number.NaN, -1)).toBeDefined();
    expect(s.ingest('b', 1, Number.NaN, -1)).toBeDefined();
    expect(s.ingest('c', 1, Number.NaN, -1)).toBeUndefined();
    expect(s.lastDropReason).toBe('too-many-sensors');
    expect(s.has('c')).toBe(false);
    expect(s.ingest('a', 2, Number.NaN, -1)?.lastValue).toBe(2);
    expect(s.size).toBe(2);
  });

  it('reports each new sensor once, in creation order, with dense ids', () => {
    const onSensor = vi.fn<(sensor: Sensor) => void>();
    const s = new SensorStore({ onSensor });
    s.ingest('x', 1, Number.NaN, -1);
    s.ingest('y', 1, Number.NaN, -1);
    s.ingest('x', 2, Number.NaN, -1);
    expect(onSensor.mock.calls.map(([sensor]) => [sensor.name, sensor.id])).toEqual([
      ['x', 0],
      ['y', 1],
    ]);
    expect(s.byId(1)?.name).toBe('y');
    expect([...s].map((x) => x.name)).toEqual(['x', 'y']);
  });

  it('lists sensors matching a filter', () => {
    const s = store();
    for (const name of ['ramp1', 'ramp2', 'temp']) s.ingest(name, 1, Number.NaN, -1);
    expect(s.list((n) => n.startsWith('ramp')).map((x) => x.name)).toEqual(['ramp1', 'ramp2']);
  });

  it('summarises a sensor as LIST prints it', () => {
    const s = store();
    s.ingest('a', 0.5, 42, -1);
    s.ingest('a', 0.75, 43, -1);
    expect(s.get('a')!.summary()).toEqual({ name: 'a', count: 2, lastTimestampMs: 43, lastValue: 0.75 });
  });

  it('does not store a duplicate sender-seq and counts it', () => {
    const s = store();
    s.ingest('a', 1, Number.NaN, 7);
    expect(s.ingest('a', 1, Number.NaN, 7)).toBeUndefined();
    expect(s.lastDropReason).toBe('duplicate');
    expect(s.get('a')!.count).toBe(1);
    expect(s.get('a')!.loss.duplicate).toBe(1);
    expect(s.loss.duplicate).toBe(1);
  });

  it('sums loss counters over sensors', () => {
    const s = store();
    s.ingest('a', 1, Number.NaN, 1);
    s.ingest('a', 1, Number.NaN, 4); // lost 2
    s.ingest('b', 1, Number.NaN, 10);
    s.ingest('b', 1, Number.NaN, 12); // lost 1
    expect(s.get('a')!.loss.lost).toBe(2);
    expect(s.get('b')!.loss.lost).toBe(1);
    expect(s.loss).toEqual({ lost: 3, duplicate: 0, late: 0, restarts: 0 });
  });

  it('validates its options', () => {
    expect(() => new SensorStore({ historyCapacity: 0 })).toThrow(RangeError);
    expect(() => new SensorStore({ maxSensors: -1 })).toThrow(RangeError);
  });
});

describe('Sensor.timeOrdered', () => {
  it('tells whether the timestamps held never go back, as the ring turns over', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 20 }),
        (stamps, capacity) => {
          const store = new SensorStore({ historyCapacity: capacity });
          for (const ts of stamps) {
            const sensor = store.ingest('s', 1, ts, -1)!;
            const held = sensor.history().map((r) => r.timestampMs);
            expect(sensor.timeOrdered).toBe(held.every((t, i) => i === 0 || held[i - 1]! <= t));
          }
        },
      ),
    );
  });
});
