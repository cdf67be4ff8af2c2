import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultyFileSystem } from '../fs/index.js';
import { createRng } from '../testing/rng.js';
import { Wal } from '../wal/index.js';
import { ByteWriter } from './bytes.js';
import { MAX_TS_DELTA, RECORD_SAMPLES, RECORD_SAMPLES2 } from './format.js';
import type { MetaReplay, TsdbOptions } from './options.js';
import { diffReadings, readAll, type Reading } from './testing-model.js';
import { openTsdb, type Tsdb } from './tsdb.js';

const T0 = Date.UTC(2030, 0, 1);
const open: Tsdb[] = [];

afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function openOn(fs: FaultyFileSystem, options: Partial<TsdbOptions> = {}): Tsdb {
  const db = openTsdb({ dir: '/data', fs, retentionMs: 0, fsync: 'always', ...options });
  open.push(db);
  return db;
}

/**
 * The files as a `kill -9` of `db` leaves them: with `fsync: 'always'` every committed log byte is durable. Its
 * LOCK is left out, as the dead process's is taken over (the store stays open here, holding it).
 */
function killed(fs: FaultyFileSystem, db: Tsdb): FaultyFileSystem {
  open.splice(open.indexOf(db), 1);
  const files = fs.crashImage(createRng(1), 'prefix');
  files.delete('/data/LOCK');
  return new FaultyFileSystem({ files, dirs: ['/data', '/data/wal', '/data/chunks'] });
}

/** A replayMeta that records every call, and ends each series with the metadata `end` is given. */
function recorder(end: (id: number, lastSeq: number) => Uint8Array | undefined = () => undefined) {
  const calls: string[] = [];
  const aux = new Map<number, Array<[number, number]>>();
  const replay: MetaReplay = {
    begin(id, meta) {
      calls.push(`begin ${id} ${meta === undefined ? '-' : [...meta].join(',')}`);
      aux.set(id, []);
    },
    reading(id, seq, value) {
      aux.get(id)!.push([seq, value]);
    },
    end(id, lastSeq) {
      calls.push(`end ${id} ${lastSeq}`);
      return end(id, lastSeq);
    },
  };
  return { replay, calls, aux };
}

// Timestamps that take every branch of the SAMPLES2 encoding: small integer steps (the delta tag), the largest
// delta that fits and the first that does not, fractions, -0, subnormals and the extremes (an f64 each).
const timestamp = fc.oneof(
  fc.integer({ min: -5, max: 5 }).map((d) => T0 + d),
  fc.constantFrom(MAX_TS_DELTA, -MAX_TS_DELTA, MAX_TS_DELTA + 1, -MAX_TS_DELTA - 1),
  fc.constantFrom(0, -0, 5e-324, -Number.MAX_VALUE, Number.MAX_VALUE, 0.5, T0 + 0.25),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const auxValue = fc.oneof(fc.constant(-1), fc.constantFrom(0, 127, 128, 2 ** 31, Number.MAX_SAFE_INTEGER), fc.nat());

describe('aux values and compact timestamps in the log (docs/STORAGE.md, "Aux values")', () => {
  it('gives back every timestamp, value and aux value bit for bit after a kill, in append order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            series: fc.nat(2),
            ts: timestamp,
            value: fc.double({ noNaN: true, noDefaultInfinity: true }),
            aux: auxValue,
            commit: fc.boolean(),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        (steps) => {
          const fs = new FaultyFileSystem();
          const db = openOn(fs);
          const ids = ['a', 'b', 'c'].map((name) => db.createSeries(name));
          const want = ids.map((): Reading[] => []);
          const wantAux = ids.map((): Array<[number, number]> => []);
          for (const { series, ts, value, aux, commit } of steps) {
            const seq = want[series]!.length + 1;
            db.append(ids[series]!, seq, ts, value, aux);
            want[series]!.push({ seq, ts, value });
            wantAux[series]!.push([seq, aux]);
            if (commit) db.commit();
          }
          db.commit();
          const { replay, aux } = recorder();
          const again = openOn(killed(fs, db), { replayMeta: replay });
          ids.forEach((id, i) => {
            expect(diffReadings(readAll(again, id), want[i]!)).toBeUndefined();
            expect(aux.get(id) ?? []).toEqual(wantAux[i]);
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('folds only the readings after the last metadata, and keeps what end returns across a clean reopen', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs);
    const a = db.createSeries('a');
    const b = db.createSeries('b');
    for (let seq = 1; seq <= 3; seq++) db.append(a, seq, T0 + seq, seq, 100 + seq);
    db.setMeta(a, new Uint8Array([9]));
    db.append(a, 4, T0 + 4, 4, 104);
    db.append(a, 5, T0 + 5, 5); // no aux value
    db.append(b, 1, T0 + 1, 1, 7);
    db.commit();
    const { replay, calls, aux } = recorder((id, lastSeq) => new Uint8Array([id, lastSeq]));
    const fs2 = killed(fs, db);
    const again = openOn(fs2, { replayMeta: replay });
    // Series a: readings 1 to 3 begin a fold, the metadata starts it over, readings 4 and 5 are folded from it.
    expect(calls).toEqual(['begin 0 -', 'begin 0 9', 'begin 1 -', 'end 0 5', 'end 1 1']);
    expect(aux.get(a)).toEqual([
      [4, 104],
      [5, -1],
    ]);
    expect(aux.get(b)).toEqual([[1, 7]]);
    expect([...again.seriesInfo(a)!.meta!]).toEqual([0, 5]);
    expect([...again.seriesInfo(b)!.meta!]).toEqual([1, 1]);
    // The open's checkpoint holds the folded metadata: a clean reopen replays nothing and keeps it.
    again.close();
    open.splice(open.indexOf(again), 1);
    const second = recorder();
    const third = openOn(fs2, { replayMeta: second.replay });
    expect(second.calls).toEqual([]);
    expect([...third.seriesInfo(a)!.meta!]).toEqual([0, 5]);
  });

  it('starts a series over from metadata set after some of its readings in the same log', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs);
    const a = db.createSeries('a');
    db.append(a, 1, T0, 1, 1);
    db.commit();
    db.setMeta(a, new Uint8Array([1]));
    db.commit();
    db.setMeta(a, new Uint8Array([2]));
    db.commit();
    const { replay, calls, aux } = recorder();
    const again = openOn(killed(fs, db), { replayMeta: replay });
    // The one reading came before both metadata records: nothing to fold, and the last metadata stays.
    expect(calls).toEqual(['begin 0 -']);
    expect(aux.get(a)).toEqual([[1, 1]]);
    expect([...again.seriesInfo(a)!.meta!]).toEqual([2]);
  });

  it('calls beforeCheckpoint before each checkpoint, and metadata it sets is in that checkpoint', () => {
    const fs = new FaultyFileSystem();
    let calls = 0;
    const store: { db?: Tsdb } = {};
    const before = (): void => {
      calls++;
      store.db?.setMeta(0, new Uint8Array([calls]));
    };
    const db = openOn(fs, { beforeCheckpoint: before });
    store.db = db;
    expect(calls).toBe(1); // the checkpoint of a new directory
    const a = db.createSeries('a');
    db.append(a, 1, T0, 1, 5);
    db.checkpoint();
    expect(calls).toBe(2);
    const { replay, calls: replayed } = recorder();
    const again = openOn(killed(fs, db), { replayMeta: replay });
    expect(replayed).toEqual([]); // the checkpoint covers the reading: nothing replayed
    expect([...again.seriesInfo(a)!.meta!]).toEqual([2]);
  });

  it('writes a reading of a steady series in 11 bytes when its timestamps are a millisecond apart', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs);
    const a = db.createSeries('a');
    db.append(a, 1, T0, 0);
    db.commit();
    const before = db.stats().walBytes;
    for (let seq = 2; seq <= 1001; seq++) db.append(a, seq, T0 + seq, seq / 10);
    db.commit();
    // id, seq delta and ts tag a byte each, the value 8; the record's frame and number once.
    const perReading = (db.stats().walBytes - before) / 1000;
    expect(perReading).toBeGreaterThanOrEqual(11);
    expect(perReading).toBeLessThan(11.1);
  });

  it("writes the SAMPLES2 record of docs/STORAGE.md's example as those bytes", () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs);
    const a = db.createSeries('a');
    db.append(a, 1, 1700000001000, 20.1);
    db.append(a, 2, 1700000002000, 20.2, 7);
    db.commit();
    const records: string[] = [];
    const wal = Wal.open({
      fs: new FaultyFileSystem({ files: fs.crashImage(createRng(1), 'prefix') }),
      dir: '/data/wal',
      segmentBytes: 1 << 20,
    });
    wal.replay(1, (type, payload) => {
      if (type === RECORD_SAMPLES2) records.push(Buffer.from(payload).toString('hex'));
    });
    wal.close();
    expect(records).toEqual(['02' + '0001010080be56febc78429a99999999193440' + '0001c23e333333333333344007']);
  });

  it('still reads SAMPLES records of the older layout (an f64 timestamp each, no aux value)', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs);
    const a = db.createSeries('a');
    db.append(a, 1, T0, 1.5);
    db.close();
    open.splice(open.indexOf(db), 1);
    // Record 3 (after SERIES 1 and SAMPLES 2) in the old layout: id 0, seq 2, f64 ts, f64 value; then seq 3.
    const w = new ByteWriter(64);
    w.varint(3);
    for (const [seq, ts, value] of [
      [2, T0 + 1000, 2.5],
      [1, T0 + 2000, 3.5], // a seq delta
    ] as const) {
      w.varint(0);
      w.varint(seq);
      w.f64(ts);
      w.f64(value);
    }
    const segment = fs.readdir('/data/wal').sort().at(-1)!;
    const wal = Wal.open({ fs, dir: '/data/wal', segmentBytes: 1 << 20 });
    wal.append(RECORD_SAMPLES, w.buf.subarray(0, w.pos));
    wal.commit();
    wal.close();
    expect(segment).toBeDefined();
    const { replay, aux } = recorder();
    const again = openOn(fs, { replayMeta: replay });
    expect(readAll(again, a)).toEqual([
      { seq: 1, ts: T0, value: 1.5 },
      { seq: 2, ts: T0 + 1000, value: 2.5 },
      { seq: 3, ts: T0 + 2000, value: 3.5 },
    ]);
    expect(aux.get(a)).toEqual([
      [2, -1],
      [3, -1],
    ]);
  });

  it('refuses an aux value that is not a safe integer >= -1, and adds nothing', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs);
    const a = db.createSeries('a');
    for (const bad of [-2, 0.5, Number.NaN, 2 ** 53]) {
      expect(() => db.append(a, 1, T0, 1, bad)).toThrow(/aux must be a safe integer/);
    }
    expect(db.seriesInfo(a)!.lastSeq).toBe(0);
  });
});
