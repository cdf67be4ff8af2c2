import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FaultyFileSystem } from '../fs/index.js';
import { createRng, type Rng } from '../testing/rng.js';
import {
  ModelSeries,
  diffBuckets,
  diffReadings,
  readAfter,
  readAll,
  readBuckets,
  readLast,
  readRange,
  type Reading,
} from './testing-model.js';
import { openTsdb, type Tsdb } from './tsdb.js';

/** These run hundreds of stores or crash images: a generous timeout, for a machine that is busy. */
const HEAVY = { timeout: 60_000 };

// The engine against a plain model under random operations: appends with
// seq gaps, timestamps that repeat, go backwards, carry fractions or jump by
// hours, awkward float64 values, commits, metadata, checkpoints, clean
// reopens and power cuts (with fsync 'always', so every committed reading
// must survive a cut and nothing else may appear).

const T0 = Date.UTC(2030, 0, 1);
const VALUES = [0, -0, 1, -1, 0.1, 5e-324, -1e-310, 2 ** 53, 1e15 + 0.5, -123456.789, 21.5, 21.25];

type Op =
  | { kind: 'create'; name: number }
  | { kind: 'append'; series: number; n: number; tsMode: number; seed: number }
  | { kind: 'commit' }
  | { kind: 'meta'; series: number; byte: number }
  | { kind: 'checkpoint' }
  | { kind: 'reopen' }
  | { kind: 'crash'; seed: number; subset: boolean }
  | { kind: 'query'; series: number; q: number; a: number; b: number; c: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('create' as const), name: fc.integer({ min: 0, max: 5 }) }) },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      series: fc.nat(),
      n: fc.integer({ min: 1, max: 60 }),
      tsMode: fc.integer({ min: 0, max: 5 }),
      seed: fc.nat(),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('commit' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('meta' as const),
      series: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('checkpoint' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), seed: fc.nat(), subset: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('query' as const),
      series: fc.nat(),
      q: fc.integer({ min: 0, max: 3 }),
      a: fc.nat({ max: 1_000_000 }),
      b: fc.nat({ max: 1_000_000 }),
      c: fc.integer({ min: 1, max: 40 }),
    }),
  },
);

/** The next timestamp after `prev` in one of the awkward patterns. */
function nextTs(prev: number, mode: number, rng: Rng): number {
  switch (mode) {
    case 0:
      return prev + 1000; // regular
    case 1:
      return prev + rng(2001) - 1000; // jitter, backwards half the time
    case 2:
      return rng(4) === 0 ? prev + 1 : prev; // repeats
    case 3:
      return prev + rng(1000) / 7; // fractions
    case 4:
      return prev + (rng(3) + 1) * 3_600_000; // hour jumps (chunks cut at 2 h)
    default:
      return T0 + rng(1_000_000); // anywhere in the window
  }
}

function nextValue(prev: number, rng: Rng): number {
  if (rng(3) === 0) return VALUES[rng(VALUES.length)] as number;
  return prev + (rng(200) - 100) / 8;
}

interface World {
  fs: FaultyFileSystem;
  db: Tsdb;
  chunkSamples: number;
  clock: { ms: number };
}

function open(world: Pick<World, 'fs' | 'chunkSamples' | 'clock'>): Tsdb {
  return openTsdb({
    dir: '/data',
    fs: world.fs,
    fsync: 'always',
    retentionMs: 0,
    chunkSamples: world.chunkSamples,
    checkpointWalBytes: 1024,
    walSegmentBytes: 4096,
    chunkFileBytes: 4096,
    now: () => world.clock.ms,
  });
}

/** Committed state of the model: how far each series' readings, the series list and the metadata were committed. */
interface Committed {
  series: number;
  lengths: number[];
  meta: Array<number | undefined>;
}

function check(db: Tsdb, model: ModelSeries[], meta: Array<number | undefined>): void {
  const infos = [...db.series()];
  expect(infos.map((s) => s.name)).toEqual(model.map((m) => m.name));
  model.forEach((m, id) => {
    const info = infos[id];
    expect(info?.id).toBe(id);
    expect(info?.lastSeq).toBe(m.lastSeq);
    expect(info?.count).toBe(m.readings.length);
    expect(info?.meta === undefined ? undefined : info.meta[0]).toBe(meta[id]);
    const diff = diffReadings(readAll(db, id), m.readings);
    expect(diff, `series ${id}`).toBeUndefined();
  });
}

function runQuery(db: Tsdb, m: ModelSeries, id: number, op: Extract<Op, { kind: 'query' }>): void {
  const { q, c } = op;
  const readings = m.readings;
  const lo = Math.min(...readings.map((r) => r.ts), T0);
  const hi = Math.max(...readings.map((r) => r.ts), T0);
  const span = hi - lo + 1;
  const from = lo - 10 + (op.a / 1_000_000) * span;
  const to = from + (op.b / 1_000_000) * span;
  if (q === 0) {
    expect(diffReadings(readLast(db, id, c * 3), m.last(c * 3))).toBeUndefined();
  } else if (q === 1) {
    const seq = Math.floor((op.a / 1_000_000) * (m.lastSeq + 2));
    expect(diffReadings(readAfter(db, id, seq, c), m.after(seq, c))).toBeUndefined();
  } else if (q === 2) {
    const page = readRange(db, id, from, to, c);
    const want = m.range(from, to, c);
    expect(diffReadings(page.rows, want.rows)).toBeUndefined();
    expect(page.more).toBe(want.more);
    // Paging with `more` walks the whole window once, in (ts, seq) order.
    const all: Reading[] = [];
    let start = from;
    for (let guard = 0; guard < 10_000; guard++) {
      const p = readRange(db, id, start, to, c);
      all.push(...p.rows);
      if (p.more === undefined) break;
      expect(p.more).toBeGreaterThan(start);
      start = p.more;
    }
    expect(diffReadings(all, m.range(from, to, Number.MAX_SAFE_INTEGER).rows)).toBeUndefined();
  } else {
    expect(diffBuckets(readBuckets(db, id, from, to, c), m.buckets(from, to, c))).toBeUndefined();
  }
}

function run(ops: readonly Op[], chunkSamples: number): void {
  const world: World = {
    fs: new FaultyFileSystem(),
    chunkSamples,
    clock: { ms: T0 },
    db: undefined as unknown as Tsdb,
  };
  world.db = open(world);
  const model: ModelSeries[] = [];
  const lastTs: number[] = [];
  const lastValue: number[] = [];
  const meta: Array<number | undefined> = [];
  let committed: Committed = { series: 0, lengths: [], meta: [] };
  const commit = (): void => {
    committed = { series: model.length, lengths: model.map((m) => m.readings.length), meta: [...meta] };
  };
  try {
    for (const op of ops) {
      const db = world.db;
      world.clock.ms += 1000;
      switch (op.kind) {
        case 'create': {
          const name = `sensor.${op.name}`;
          const existing = model.findIndex((m) => m.name === name);
          const id = db.createSeries(name);
          if (existing >= 0) {
            expect(id).toBe(existing);
          } else {
            expect(id).toBe(model.length);
            model.push(new ModelSeries(name));
            lastTs.push(T0);
            lastValue.push(20);
            meta.push(undefined);
          }
          break;
        }
        case 'append': {
          if (model.length === 0) break;
          const id = op.series % model.length;
          const m = model[id] as ModelSeries;
          const rng = createRng(op.seed);
          let seq = m.lastSeq;
          for (let i = 0; i < op.n; i++) {
            seq += rng(10) === 0 ? 2 + rng(5) : 1; // gaps now and then
            const ts = nextTs(lastTs[id] as number, op.tsMode, rng);
            const value = nextValue(lastValue[id] as number, rng);
            lastTs[id] = ts;
            lastValue[id] = Number.isFinite(value) ? value : 0;
            db.append(id, seq, ts, value);
            m.readings.push({ seq, ts, value });
          }
          break;
        }
        case 'commit':
          db.commit();
          commit();
          break;
        case 'meta': {
          if (model.length === 0) break;
          const id = op.series % model.length;
          db.setMeta(id, new Uint8Array([op.byte, 1, 2]));
          meta[id] = op.byte;
          break;
        }
        case 'checkpoint':
          db.checkpoint();
          commit();
          break;
        case 'reopen':
          db.close();
          commit();
          world.db = open(world);
          check(world.db, model, meta);
          break;
        case 'crash': {
          // Power cut: only what was committed (and so synced) must come back.
          const crashed = world.fs.crash(createRng(op.seed), op.subset ? 'subset' : 'prefix');
          db.close();
          world.fs = crashed;
          model.length = committed.series;
          lastTs.length = lastValue.length = meta.length = committed.series;
          model.forEach((m, i) => (m.readings.length = committed.lengths[i] ?? 0));
          committed.meta.forEach((v, i) => (meta[i] = v));
          world.db = open(world);
          expect(world.db.recovery.corruptRecords).toBe(0);
          check(world.db, model, meta);
          for (const [i, m] of model.entries()) {
            lastTs[i] = m.readings.at(-1)?.ts ?? T0;
            lastValue[i] = m.readings.at(-1)?.value ?? 20;
          }
          break;
        }
        case 'query': {
          if (model.length === 0) break;
          const id = op.series % model.length;
          runQuery(db, model[id] as ModelSeries, id, op);
          break;
        }
      }
    }
    world.db.commit();
    check(world.db, model, meta);
    world.db.close();
    world.db = open(world);
    check(world.db, model, meta);
  } finally {
    world.db.close();
  }
}

// Write failures at random points: a write, sync or file creation of the
// chunk files or the log fails (once or a few times), or the disk fills up,
// between appends, commits, checkpoints and retries. Reads from memory must
// always match the model; once the faults are gone and a retry has made the
// store durable again, a clean close and reopen must bring back every
// reading appended, with no damage reported.

type FaultOpKind =
  | { kind: 'create'; name: number }
  | { kind: 'append'; series: number; n: number; tsMode: number; seed: number }
  | { kind: 'meta'; series: number; byte: number }
  | { kind: 'commit' }
  | { kind: 'checkpoint' }
  | { kind: 'wait' }
  | { kind: 'fail'; op: 'write' | 'sync' | 'open'; where: 'chunks' | 'wal' | 'any'; count: number }
  | { kind: 'full'; spare: number }
  | { kind: 'heal' }
  | { kind: 'reopen' };

const faultOpArb: fc.Arbitrary<FaultOpKind> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('create' as const), name: fc.integer({ min: 0, max: 3 }) }) },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      series: fc.nat(),
      n: fc.integer({ min: 1, max: 40 }),
      tsMode: fc.integer({ min: 0, max: 5 }),
      seed: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('meta' as const),
      series: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('commit' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('checkpoint' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('fail' as const),
      op: fc.constantFrom('write' as const, 'sync' as const, 'open' as const),
      where: fc.constantFrom('chunks' as const, 'wal' as const, 'any' as const),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('full' as const), spare: fc.nat({ max: 600 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('heal' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

function runFaults(ops: readonly FaultOpKind[], chunkSamples: number): void {
  let fs = new FaultyFileSystem();
  const clock = { ms: T0 };
  const openStore = (): Tsdb =>
    openTsdb({
      dir: '/data',
      fs,
      fsync: 'always',
      retentionMs: 0,
      chunkSamples,
      checkpointWalBytes: 1024,
      walSegmentBytes: 4096,
      chunkFileBytes: 4096,
      retryMs: 3000,
      now: () => clock.ms,
    });
  let db = openStore();
  const model: ModelSeries[] = [];
  const lastTs: number[] = [];
  const lastValue: number[] = [];
  const meta: Array<number | undefined> = [];
  const heal = (): void => {
    fs.clearFaults();
    fs.setFull(undefined);
  };
  /** Heals the disk, closes (the close retries if degraded) and reopens: everything appended must be back. */
  const reopen = (): void => {
    heal();
    db.close();
    expect(db.durable, 'durable after the close retried').toBe(true);
    // A copy of what is on disk, so the next store starts from the files alone.
    fs = fs.crash(createRng(1), 'prefix');
    db = openStore();
    expect(db.recovery).toMatchObject({ corruptRecords: 0, bytesDropped: 0 });
    check(db, model, meta);
  };
  try {
    for (const op of ops) {
      clock.ms += 1000;
      switch (op.kind) {
        case 'create': {
          const name = `sensor.${op.name}`;
          const existing = model.findIndex((m) => m.name === name);
          const id = db.createSeries(name);
          if (existing >= 0) {
            expect(id).toBe(existing);
          } else {
            expect(id).toBe(model.length);
            model.push(new ModelSeries(name));
            lastTs.push(T0);
            lastValue.push(20);
            meta.push(undefined);
          }
          break;
        }
        case 'append': {
          if (model.length === 0) break;
          const id = op.series % model.length;
          const m = model[id] as ModelSeries;
          const rng = createRng(op.seed);
          let seq = m.lastSeq;
          for (let i = 0; i < op.n; i++) {
            seq += rng(10) === 0 ? 2 + rng(5) : 1;
            const ts = nextTs(lastTs[id] as number, op.tsMode, rng);
            const value = nextValue(lastValue[id] as number, rng);
            lastTs[id] = ts;
            lastValue[id] = Number.isFinite(value) ? value : 0;
            db.append(id, seq, ts, value);
            m.readings.push({ seq, ts, value });
          }
          break;
        }
        case 'meta': {
          if (model.length === 0) break;
          const id = op.series % model.length;
          db.setMeta(id, new Uint8Array([op.byte, 1, 2]));
          meta[id] = op.byte;
          break;
        }
        case 'commit':
          db.commit();
          break;
        case 'checkpoint':
          db.checkpoint();
          break;
        case 'wait':
          // Past retryMs: a commit while degraded retries.
          clock.ms += 3000;
          db.commit();
          break;
        case 'fail': {
          const match = op.where === 'any' ? undefined : (p: string): boolean => p.includes(`/${op.where}/`);
          fs.failNext(op.op, op.op === 'sync' ? 'EIO' : 'ENOSPC', op.count, match);
          break;
        }
        case 'full':
          fs.setFull(db.stats().diskBytes + op.spare);
          break;
        case 'heal':
          heal();
          break;
        case 'reopen':
          reopen();
          break;
      }
      check(db, model, meta);
    }
    reopen();
  } finally {
    db.close();
  }
}

describe('the store against a model under write failures', () => {
  it(
    'keeps every reading appended through failed writes, syncs and a full disk once a retry succeeds and it reopens',
    HEAVY,
    () => {
      fc.assert(
        fc.property(
          fc.array(faultOpArb, { minLength: 10, maxLength: 120, size: 'max' }),
          fc.integer({ min: 1, max: 8 }),
          (ops, chunkSamples) => runFaults(ops, chunkSamples),
        ),
        { numRuns: 80 },
      );
    },
  );
});

describe('the store against a model', () => {
  it(
    'answers every read like the model under random appends, commits, checkpoints, reopens and power cuts',
    HEAVY,
    () => {
      fc.assert(
        fc.property(
          fc.array(opArb, { minLength: 10, maxLength: 150, size: 'max' }),
          fc.integer({ min: 1, max: 16 }),
          (ops, chunkSamples) => run(ops, chunkSamples),
        ),
        { numRuns: 80 },
      );
    },
  );

  it('answers like the model on a long run with many chunks and files', HEAVY, () => {
    const rng = createRng(7);
    const ops: Op[] = [
      { kind: 'create', name: 0 },
      { kind: 'create', name: 1 },
      { kind: 'create', name: 2 },
    ];
    for (let i = 0; i < 400; i++) {
      const r = rng(20);
      if (r < 12) ops.push({ kind: 'append', series: rng(3), n: 1 + rng(100), tsMode: rng(6), seed: rng(1e9) });
      else if (r < 16) ops.push({ kind: 'commit' });
      else if (r === 16) ops.push({ kind: 'crash', seed: rng(1e9), subset: rng(2) === 0 });
      else ops.push({ kind: 'query', series: rng(3), q: rng(4), a: rng(1e6), b: rng(1e6), c: 1 + rng(40) });
    }
    run(ops, 64);
  });
});
