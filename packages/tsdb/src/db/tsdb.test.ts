import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FaultyFileSystem, type NodeFileSystem } from '../fs/index.js';
import { createRng } from '../testing/rng.js';
import { TsdbError } from './errors.js';
import { ByteWriter } from './bytes.js';
import {
  CHUNK_FILE_HEADER_BYTES,
  CHUNK_HEADER_BYTES,
  decodeCheckpoint,
  encodeCheckpoint,
  readChunkRecord,
  type ChunkSummary,
} from './format.js';
import { DEFAULTS, type Logger, type TsdbOptions } from './options.js';
import {
  ModelSeries,
  diffBuckets,
  diffReadings,
  readAll,
  readBuckets,
  readLast,
  readRange,
  type Reading,
} from './testing-model.js';
import { openTsdb, type Tsdb } from './tsdb.js';

const T0 = Date.UTC(2030, 0, 1);
const open: Tsdb[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const db of open.splice(0)) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  vi.useRealTimers();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsdb-test-'));
  dirs.push(dir);
  return dir;
}

/** Opens a store on `fs` (a fresh in-memory one by default) and closes it after the test. */
function openOn(fs: FaultyFileSystem | NodeFileSystem, options: Partial<TsdbOptions> = {}): Tsdb {
  const db = openTsdb({ dir: '/data', fs, retentionMs: 0, ...options });
  open.push(db);
  return db;
}

function closeAndForget(db: Tsdb): void {
  db.close();
  open.splice(open.indexOf(db), 1);
}

/** A logger that records what it is given. */
function recordingLogger(): Logger & { lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push({ level, msg: typeof obj === 'string' ? obj : (msg ?? '') });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Appends `n` regular readings to `id` after its last, committing at the end. */
function fill(db: Tsdb, id: number, n: number, stepMs = 1000, start = T0): Reading[] {
  const out: Reading[] = [];
  let seq = db.seriesInfo(id)?.lastSeq ?? 0;
  const last = db.seriesInfo(id)?.lastTs;
  let ts = last === undefined ? start : last + stepMs;
  for (let i = 0; i < n; i++) {
    seq++;
    const value = Math.round(Math.sin(seq / 10) * 1000) / 10;
    db.append(id, seq, ts, value);
    out.push({ seq, ts, value });
    ts += stepMs;
  }
  db.commit();
  return out;
}

/** The chunk records in every chunk file of an in-memory store. */
function chunkRecords(fs: FaultyFileSystem): ChunkSummary[] {
  const out: ChunkSummary[] = [];
  for (const name of fs.readdir('/data/chunks')) {
    const bytes = fs.readFile(`/data/chunks/${name}`);
    for (let offset = CHUNK_FILE_HEADER_BYTES; offset < bytes.length;) {
      const { summary, dataLength } = readChunkRecord(bytes, offset, bytes.length);
      out.push(summary);
      offset += CHUNK_HEADER_BYTES + dataLength;
    }
  }
  return out;
}

describe('openTsdb', () => {
  it('lays out LOCK, wal/, chunks/ and a first checkpoint in a new directory', () => {
    const fs = new FaultyFileSystem();
    openOn(fs);
    expect(fs.readdir('/data')).toEqual(['LOCK', 'checkpoint.00000001', 'chunks', 'wal']);
    expect(new TextDecoder().decode(fs.readFile('/data/LOCK'))).toMatch(
      new RegExp(`^opc-lite-tsdb-lock 1\npid=${process.pid}\nhostname=.+\ntoken=[0-9a-f]+\n$`),
    );
  });

  it('refuses a second open of the same directory with ERR_LOCKED, naming the pid', () => {
    const fs = new FaultyFileSystem();
    openOn(fs);
    expect(() => openOn(fs)).toThrow(expect.objectContaining({ name: 'TsdbError', code: 'ERR_LOCKED' }));
    expect(() => openOn(fs)).toThrow(
      new RegExp(`held by process ${process.pid} on .* \\(another store in this process\\)`),
    );
  });

  it('refuses a directory held by another live process, naming its pid', () => {
    const fs = new FaultyFileSystem({
      files: [
        [
          '/data/LOCK',
          new TextEncoder().encode(`opc-lite-tsdb-lock 1\npid=${process.ppid}\nhostname=${hostname()}\ntoken=ab\n`),
        ],
      ],
    });
    expect(() => openOn(fs)).toThrow(`/data/LOCK is held by process ${process.ppid} on ${hostname()}`);
  });

  it('refuses a LOCK from another host whose process cannot be checked', () => {
    const fs = new FaultyFileSystem({
      files: [['/data/LOCK', new TextEncoder().encode('opc-lite-tsdb-lock 1\npid=1\nhostname=elsewhere\ntoken=ab\n')]],
    });
    expect(() => openOn(fs)).toThrow(/held by process 1 on elsewhere \(another host: remove the LOCK file/);
  });

  it('takes over a LOCK left by a process that is gone, and one this process left unreleased', () => {
    let dead = 4_000_000;
    for (; dead < 4_100_000; dead++) {
      try {
        process.kill(dead, 0);
      } catch {
        break;
      }
    }
    for (const pid of [dead, process.pid]) {
      const fs = new FaultyFileSystem({
        files: [
          [
            '/data/LOCK',
            new TextEncoder().encode(`opc-lite-tsdb-lock 1\npid=${pid}\nhostname=${hostname()}\ntoken=ab\n`),
          ],
        ],
      });
      const db = openOn(fs);
      expect(new TextDecoder().decode(fs.readFile('/data/LOCK'))).toContain(`pid=${process.pid}\n`);
      closeAndForget(db);
      expect(fs.exists('/data/LOCK')).toBe(false);
    }
  });

  it('releases the lock at close, so the directory opens again', () => {
    const fs = new FaultyFileSystem();
    closeAndForget(openOn(fs));
    expect(fs.exists('/data/LOCK')).toBe(false);
    openOn(fs);
  });

  it('opens a locked directory when lock is false, and leaves the LOCK alone', () => {
    const fs = new FaultyFileSystem();
    openOn(fs);
    const second = openOn(fs, { lock: false });
    closeAndForget(second);
    expect(fs.exists('/data/LOCK')).toBe(true);
  });

  it('throws ERR_DATA_DIR with one line when the directory cannot be created', () => {
    const parent = tempDir();
    writeFileSync(join(parent, 'file'), 'x');
    const dir = join(parent, 'file', 'data');
    let error: unknown;
    try {
      openTsdb({ dir });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TsdbError);
    expect(error).toMatchObject({ code: 'ERR_DATA_DIR' });
    expect((error as Error).message).toMatch(new RegExp(`^cannot create data directory ${dir}: E[A-Z]+: `));
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).cause).toBeDefined();
  });

  it('throws ERR_DATA_DIR when the directory cannot be written, and leaves no LOCK behind', () => {
    const fs = new FaultyFileSystem();
    fs.failNext('open', 'EACCES', 1, (p) => p.endsWith('.tmp'));
    expect(() => openOn(fs)).toThrow(expect.objectContaining({ code: 'ERR_DATA_DIR' }));
    fs.failNext('open', 'EACCES', 1, (p) => p.endsWith('.tmp'));
    expect(() => openOn(fs)).toThrow(/^cannot write to data directory \/data: EACCES/);
    expect(fs.exists('/data/LOCK')).toBe(false);
  });

  it('rejects unknown and out-of-range options by name', () => {
    const fs = new FaultyFileSystem();
    expect(() => openTsdb({ dir: '/d', fs, fsync: 'sometimes' as 'off' })).toThrow(
      new RangeError("fsync must be one of 'always', 'interval', 'off' (got 'sometimes')"),
    );
    expect(() => openTsdb({ dir: '/d', fs, chunkSamples: 0 })).toThrow(
      new RangeError('chunkSamples must be an integer from 1 to 65536 (got 0)'),
    );
    expect(() => openTsdb({ dir: '/d', fs, retentionMs: -1 })).toThrow(RangeError);
    expect(() => openTsdb({ dir: '/d', fs, fsyncIntervalMs: '5' as unknown as number })).toThrow(
      new TypeError('fsyncIntervalMs must be a number (got string)'),
    );
    expect(() => openTsdb({ dir: '/d', fs, colour: 1 } as unknown as TsdbOptions)).toThrow(/^unknown option 'colour'/);
    expect(() => openTsdb({ dir: '', fs })).toThrow(new RangeError('dir must not be empty'));
    expect(() => openTsdb({ dir: '/d', fs, lock: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => openTsdb({ dir: '/d', fs, logger: {} as Logger })).toThrow(TypeError);
  });

  it('has frozen defaults', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(DEFAULTS).toEqual({
      fsync: 'interval',
      fsyncIntervalMs: 1000,
      retentionMs: 30 * 86_400_000,
      maxDiskBytes: 0,
      recovery: 'repair',
      chunkSamples: 1024,
      lock: true,
      checkpointWalBytes: 128 * 1024 * 1024,
      walSegmentBytes: 64 * 1024 * 1024,
      chunkFileBytes: 64 * 1024 * 1024,
      retryMs: 5000,
    });
  });
});

describe('writing and reading', () => {
  it('gives dense ids from 0 and the existing id for a known name', () => {
    const db = openOn(new FaultyFileSystem());
    expect(db.createSeries('a')).toBe(0);
    expect(db.createSeries('b')).toBe(1);
    expect(db.createSeries('a')).toBe(0);
    expect(db.seriesId('b')).toBe(1);
    expect(db.seriesId('c')).toBeUndefined();
    expect(() => db.createSeries('')).toThrow(new RangeError('series name must not be empty'));
  });

  it('refuses a series name holding a lone surrogate, which would come back under another name', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs, { lock: false });
    for (const name of ['a\ud800', '\udc00b', 'x\udc00\ud800y']) {
      expect(() => db.createSeries(name)).toThrow(
        new RangeError('series name must be well-formed UTF-16 (it holds a lone surrogate, which UTF-8 cannot store)'),
      );
    }
    expect(db.createSeries('temp \u{1f321}')).toBe(0); // a surrogate pair is fine
    closeAndForget(db);
    expect([...openOn(fs).series()].map((s) => s.name)).toEqual(['temp \u{1f321}']);
  });

  it('rejects a seq not above the last, a non-finite ts or value, and an unknown id', () => {
    const db = openOn(new FaultyFileSystem());
    const id = db.createSeries('a');
    db.append(id, 5, T0, 1);
    expect(() => db.append(id, 5, T0, 1)).toThrow(
      new RangeError("seq must be an integer above the series' last seq 5 (got 5) for series 0"),
    );
    expect(() => db.append(id, 6.5, T0, 1)).toThrow(RangeError);
    expect(() => db.append(id, 6, Number.NaN, 1)).toThrow(
      new RangeError('ts must be a finite number (got NaN) for series 0'),
    );
    expect(() => db.append(id, 6, T0, Infinity)).toThrow(
      new RangeError('value must be a finite number (got Infinity) for series 0'),
    );
    expect(() => db.append(7, 1, T0, 1)).toThrow(new RangeError('unknown series id 7'));
    db.commit();
    expect(readAll(db, id)).toEqual([{ seq: 5, ts: T0, value: 1 }]);
  });

  it('keeps -0, subnormals, extremes and fractional timestamps bit for bit across a reopen', () => {
    const fs = new FaultyFileSystem();
    let db = openOn(fs, { chunkSamples: 3 });
    const id = db.createSeries('odd');
    const readings: Reading[] = [-0, 5e-324, -Number.MAX_VALUE, Number.MIN_VALUE, 0.1 + 0.2, 2 ** 53, -1e-310].map(
      (value, i) => ({
        seq: i + 1,
        ts: T0 + i * 0.001 - (i % 2) * 7.25,
        value,
      }),
    );
    for (const r of readings) db.append(id, r.seq, r.ts, r.value);
    db.commit();
    expect(diffReadings(readAll(db, id), readings)).toBeUndefined();
    closeAndForget(db);
    db = openOn(fs, { chunkSamples: 3 });
    expect(diffReadings(readAll(db, id), readings)).toBeUndefined();
    expect(db.recovery.readings).toBe(readings.length);
  });

  it('closes a chunk when it is full, at a seq gap and when it would span more than 2 hours', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs, { chunkSamples: 4 });
    const id = db.createSeries('a');
    const add = (seq: number, ts: number): void => db.append(id, seq, ts, seq);
    for (let seq = 1; seq <= 6; seq++) add(seq, T0 + seq); // 4 + 2
    add(9, T0 + 9); // gap: closes 5..6
    add(10, T0 + 2 * 3_600_000 + 10); // spans > 2 h from 9: closes 9
    add(11, T0 + 2 * 3_600_000 + 11);
    db.checkpoint();
    expect(chunkRecords(fs).map((c) => [c.firstSeq, c.count])).toEqual([
      [1, 4],
      [5, 2],
      [9, 1],
    ]);
    expect(readAll(db, id).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 9, 10, 11]);
  });

  it('reads last and after by seq across closed chunks and the open one', () => {
    const db = openOn(new FaultyFileSystem(), { chunkSamples: 10 });
    const id = db.createSeries('a');
    const all = fill(db, id, 95);
    expect(readLast(db, id, 12)).toEqual(all.slice(-12));
    expect(readLast(db, id, 500)).toEqual(all);
    expect(readLast(db, id, 0)).toEqual([]);
    const got: Reading[] = [];
    expect(db.after(id, 37, 20, (ts, value, seq) => got.push({ seq, ts, value }))).toBe(20);
    expect(got).toEqual(all.slice(37, 57));
    expect(db.after(id, 95, 10, () => {})).toBe(0);
    expect(db.after(99, 0, 10, () => {})).toBe(0);
  });

  it('orders range by (ts, seq) when timestamps go backwards and repeat', () => {
    const db = openOn(new FaultyFileSystem(), { chunkSamples: 3 });
    const id = db.createSeries('a');
    const tss = [50, 10, 30, 10, 70, 30, 20, 60, 10];
    tss.forEach((ts, i) => db.append(id, i + 1, T0 + ts, i));
    db.commit();
    const { rows, more } = readRange(db, id, T0 + 10, T0 + 60, 100);
    expect(rows.map((r) => [r.ts - T0, r.seq])).toEqual([
      [10, 2],
      [10, 4],
      [10, 9],
      [20, 7],
      [30, 3],
      [30, 6],
      [50, 1],
      [60, 8],
    ]);
    expect(more).toBeUndefined();
  });

  it('cuts range only between different timestamps, and paging from `more` repeats nothing', () => {
    const db = openOn(new FaultyFileSystem(), { chunkSamples: 4 });
    const id = db.createSeries('a');
    const tss = [1, 2, 2, 2, 3, 4, 4, 5];
    tss.forEach((ts, i) => db.append(id, i + 1, T0 + ts, i));
    db.commit();
    const page1 = readRange(db, id, T0, T0 + 10, 3); // would cut inside the run of 2
    expect(page1.rows.map((r) => r.ts - T0)).toEqual([1]);
    expect(page1.more).toBe(T0 + 2);
    const page2 = readRange(db, id, T0 + 2, T0 + 10, 3);
    expect(page2.rows.map((r) => r.ts - T0)).toEqual([2, 2, 2]);
    expect(page2.more).toBe(T0 + 3);
    const page3 = readRange(db, id, T0 + 3, T0 + 10, 3);
    expect(page3.rows.map((r) => r.ts - T0)).toEqual([3, 4, 4]);
    expect(page3.more).toBe(T0 + 5);
    // A first timestamp with more readings than the limit comes whole, so paging advances.
    const whole = readRange(db, id, T0 + 2, T0 + 10, 2);
    expect(whole.rows.map((r) => r.ts - T0)).toEqual([2, 2, 2]);
    expect(whole.more).toBe(T0 + 3);
    expect(() => db.range(id, T0, T0 + 1, 0, () => {})).toThrow(RangeError);
  });

  it('answers buckets like the model, from summaries where a chunk sits inside one bucket', () => {
    const db = openOn(new FaultyFileSystem(), { chunkSamples: 16 });
    const id = db.createSeries('a');
    const model = new ModelSeries('a');
    model.readings.push(...fill(db, id, 5000, 1000));
    // Out of order at the end: these chunks lose the sorted flag.
    const rng = createRng(3);
    let seq = 5000;
    for (let i = 0; i < 300; i++) {
      seq++;
      const r = { seq, ts: T0 + rng(5_000_000), value: rng(1000) - 500 };
      db.append(id, r.seq, r.ts, r.value);
      model.readings.push(r);
    }
    db.commit();
    for (const [from, to, points] of [
      [T0, T0 + 5_000_000, 100],
      [T0, T0 + 5_000_000, 7],
      [T0 + 123_456, T0 + 987_654, 13],
      [T0 + 1000, T0 + 1000, 5],
      [T0 - 10, T0 + 10_000_000, 1],
    ] as const) {
      expect(diffBuckets(readBuckets(db, id, from, to, points), model.buckets(from, to, points))).toBeUndefined();
    }
    expect(() => db.buckets(id, T0, T0 + 1, 0, () => {})).toThrow(RangeError);
  });

  it('never keeps metadata without the readings appended before it, wherever the log write is cut', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs);
    const a = db.createSeries('a');
    // Readings, then metadata about them, in one commit each.
    for (let seq = 1; seq <= 3; seq++) db.append(a, seq, T0 + seq * 1000, seq);
    db.setMeta(a, new Uint8Array([1]));
    db.commit();
    for (let seq = 4; seq <= 8; seq++) db.append(a, seq, T0 + seq * 1000, seq);
    db.setMeta(a, new Uint8Array([2]));
    db.commit();
    const files = new Map<string, Uint8Array>();
    const walk = (dir: string): void => {
      for (const name of fs.readdir(dir)) {
        const p = `${dir}/${name}`;
        if (p === '/data/LOCK') continue; // a dead process's disk
        if (isDir(p)) walk(p);
        else files.set(p, fs.readFile(p));
      }
    };
    const isDir = (p: string): boolean => {
      try {
        fs.readdir(p);
        return true;
      } catch {
        return false;
      }
    };
    walk('/data');
    const segments = [...files.keys()].filter((p) => p.startsWith('/data/wal/'));
    expect(segments).toHaveLength(1);
    const segment = segments[0]!;
    const log = files.get(segment)!;
    const seen = new Set<string>();
    for (let cut = 0; cut <= log.length; cut++) {
      const image = new FaultyFileSystem({
        files: [...files].map(
          ([p, bytes]) => [p, p === segment ? log.subarray(0, cut) : bytes] as [string, Uint8Array],
        ),
        dirs: ['/data', '/data/wal', '/data/chunks'],
      });
      const reopened = openOn(image);
      const info = reopened.seriesInfo(0);
      const state = `${info?.lastSeq ?? 0}:${info?.meta?.[0] ?? '-'}`;
      seen.add(state);
      // Metadata 1 was set after seq 3, metadata 2 after seq 8: either comes only with the readings before it.
      if (info?.meta?.[0] === 1) expect(info.lastSeq, `cut at ${cut}`).toBeGreaterThanOrEqual(3);
      if (info?.meta?.[0] === 2) expect(info.lastSeq, `cut at ${cut}`).toBe(8);
      closeAndForget(reopened);
    }
    // The cuts went through every state the two writes pass through.
    expect(seen).toEqual(new Set(['0:-', '3:-', '3:1', '8:1', '8:2']));
  });

  it('lists series with their last reading, retained range and metadata, across a reopen', () => {
    const fs = new FaultyFileSystem();
    let db = openOn(fs, { chunkSamples: 8 });
    const a = db.createSeries('a');
    db.createSeries('empty');
    fill(db, a, 20);
    db.setMeta(a, new Uint8Array([1, 2, 3]));
    db.commit();
    const expected = [
      {
        id: 0,
        name: 'a',
        lastSeq: 20,
        lastTs: T0 + 19_000,
        lastValue: 90.9,
        firstSeq: 1,
        count: 20,
        meta: new Uint8Array([1, 2, 3]),
      },
      {
        id: 1,
        name: 'empty',
        lastSeq: 0,
        lastTs: undefined,
        lastValue: undefined,
        firstSeq: 0,
        count: 0,
        meta: undefined,
      },
    ];
    expect([...db.series()]).toEqual(expected);
    closeAndForget(db);
    db = openOn(fs, { chunkSamples: 8 });
    expect([...db.series()]).toEqual(expected);
    expect(db.seriesInfo(5)).toBeUndefined();
  });

  it('lets a callback read the store again', () => {
    const db = openOn(new FaultyFileSystem(), { chunkSamples: 4 });
    const id = db.createSeries('a');
    const all = fill(db, id, 30);
    const inner: number[] = [];
    const outer: number[] = [];
    db.last(id, 10, (_ts, _v, seq) => {
      outer.push(seq);
      db.last(id, 1, (_t, _w, s) => inner.push(s));
    });
    expect(outer).toEqual(all.slice(-10).map((r) => r.seq));
    expect(inner).toEqual(Array(10).fill(30));
  });

  it('throws ERR_CLOSED after close; close is idempotent and commit after it does nothing', () => {
    const db = openOn(new FaultyFileSystem());
    const id = db.createSeries('a');
    closeAndForget(db);
    db.close();
    db.commit();
    db.checkpoint();
    expect(() => db.append(id, 1, T0, 1)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    expect(() => db.createSeries('b')).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    expect(() => db.last(id, 1, () => {})).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });
});

describe('checkpoints and recovery', () => {
  it('checkpoints past checkpointWalBytes and deletes the log segments and checkpoints below', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs, { checkpointWalBytes: 4096, walSegmentBytes: 4096, chunkSamples: 32 });
    const id = db.createSeries('a');
    for (let i = 0; i < 50; i++) fill(db, id, 20);
    const stats = db.stats();
    expect(stats.checkpoints).toBeGreaterThan(3);
    expect(stats.walBytes).toBeLessThan(4096 + 1024);
    const checkpoints = fs.readdir('/data').filter((n) => n.startsWith('checkpoint.'));
    expect(checkpoints).toHaveLength(1);
    const segment = Number(checkpoints[0]?.slice('checkpoint.'.length));
    expect(fs.readdir('/data/wal').every((n) => Number(n) >= segment)).toBe(true);
    expect(stats.diskBytes).toBe(stats.walBytes + stats.chunkBytes + stats.checkpointBytes);
  });

  it('replays nothing after a clean close', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs, { chunkSamples: 16 });
    fill(db, db.createSeries('a'), 100);
    closeAndForget(db);
    const again = openOn(fs, { chunkSamples: 16 });
    expect(again.recovery).toMatchObject({
      readings: 100,
      series: 1,
      walRecords: 0,
      walReadings: 0,
      bytesDropped: 0,
      tornTail: false,
    });
  });

  it('recovers everything committed after an unclean stop on a real directory', () => {
    const dir = tempDir();
    const first = openTsdb({ dir, fsync: 'always', retentionMs: 0, chunkSamples: 64 });
    open.push(first);
    const id = first.createSeries('line1.temp');
    const readings = fill(first, id, 1000);
    // The process "dies": nothing is closed; its LOCK is removed by hand.
    rmSync(join(dir, 'LOCK'));
    const second = openTsdb({ dir, retentionMs: 0, chunkSamples: 64 });
    open.push(second);
    expect(second.recovery).toMatchObject({ readings: 1000, walReadings: 1000, series: 1 });
    expect(diffReadings(readAll(second, id), readings)).toBeUndefined();
  });

  it('ignores a checkpoint .tmp and falls back to an older checkpoint when the newest is corrupt', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs, { chunkSamples: 8, lock: false });
    const id = db.createSeries('a');
    const readings = fill(db, id, 40);
    db.checkpoint();
    const files = new Map(fs.snapshotDurable());
    const newest = Math.max(
      ...[...files.keys()].filter((p) => /checkpoint\.\d+$/.test(p)).map((p) => Number(p.split('.')[1])),
    );
    files.set('/data/checkpoint.99999998.tmp', new Uint8Array([1, 2, 3]));
    files.set('/data/checkpoint.99999999', new Uint8Array(64));
    const image = new FaultyFileSystem({ files });
    const repaired = openOn(image, { chunkSamples: 8 });
    expect(diffReadings(readAll(repaired, id), readings)).toBeUndefined();
    expect(repaired.recovery).toMatchObject({ corruptRecords: 1, bytesDropped: 64, checkpoint: newest });
    expect(image.exists('/data/checkpoint.99999998.tmp')).toBe(false);
    expect(() => openOn(new FaultyFileSystem({ files }), { recovery: 'strict' })).toThrow(
      expect.objectContaining({ code: 'ERR_CORRUPT' }),
    );
    expect(() => openOn(new FaultyFileSystem({ files }), { recovery: 'strict' })).toThrow(
      'checkpoint.99999999 is not valid',
    );
  });

  it('repairs a torn log tail and reports it, where strict mode refuses with ERR_CORRUPT', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs, { fsync: 'always', lock: false });
    const id = db.createSeries('a');
    const readings = fill(db, id, 10);
    fill(db, id, 10);
    const files = new Map(fs.snapshotDurable());
    const segment = [...files.keys()]
      .filter((p) => p.startsWith('/data/wal/'))
      .sort()
      .at(-1) as string;
    const bytes = files.get(segment) as Uint8Array;
    files.set(segment, bytes.subarray(0, bytes.length - 7)); // the last commit torn
    expect(() => openOn(new FaultyFileSystem({ files }), { recovery: 'strict' })).toThrow(
      expect.objectContaining({ code: 'ERR_CORRUPT' }),
    );
    const repaired = openOn(new FaultyFileSystem({ files }));
    expect(repaired.recovery).toMatchObject({ tornTail: true, readings: 10, corruptRecords: 0 });
    expect(repaired.recovery.bytesDropped).toBeGreaterThan(0);
    expect(diffReadings(readAll(repaired, id), readings)).toBeUndefined();
  });

  it('cuts a corrupt chunk and what follows it away in repair mode, where strict mode refuses', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs, { chunkSamples: 10, lock: false });
    const a = db.createSeries('a');
    const readings = fill(db, a, 35);
    db.checkpoint();
    const files = new Map(fs.snapshotDurable());
    const chunkFile = [...files.keys()].find((p) => p.startsWith('/data/chunks/')) as string;
    const bytes = (files.get(chunkFile) as Uint8Array).slice();
    const second = CHUNK_FILE_HEADER_BYTES + (bytes.length - CHUNK_FILE_HEADER_BYTES) / 3; // the three chunks are equal in size
    const flip = second + CHUNK_HEADER_BYTES + 2;
    bytes[flip] = (bytes[flip] as number) ^ 0x40;
    files.set(chunkFile, bytes);
    expect(() => openOn(new FaultyFileSystem({ files }), { recovery: 'strict', chunkSamples: 10 })).toThrow(
      expect.objectContaining({ code: 'ERR_CORRUPT' }),
    );
    expect(() => openOn(new FaultyFileSystem({ files }), { recovery: 'strict', chunkSamples: 10 })).toThrow(
      'fails its CRC',
    );
    const repaired = openOn(new FaultyFileSystem({ files }), { chunkSamples: 10 });
    expect(repaired.recovery.corruptRecords).toBe(1);
    // Chunk 1 and the open chunk survive; chunks 2 and 3 are gone.
    expect(readAll(repaired, a).map((r) => r.seq)).toEqual(
      [...readings.slice(0, 10), ...readings.slice(30)].map((r) => r.seq),
    );
    expect(repaired.seriesInfo(a)?.count).toBe(15);
  });
  it('ignores names in chunks/ that are not canonical chunk file names, and reads files numbered past 8 digits', () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs, { chunkSamples: 4, lock: false });
    const id = db.createSeries('a');
    fill(db, id, 6);
    closeAndForget(db);
    // Move the one chunk file to index 123456789, as if the store had written that many.
    const files = new Map(fs.snapshotDurable());
    const [[name, bytes]] = [...files].filter(([p]) => p.startsWith('/data/chunks/')) as [[string, Uint8Array]];
    files.delete(name);
    files.set('/data/chunks/123456789', bytes);
    const checkpoint = [...files.keys()]
      .filter((p) => p.startsWith('/data/checkpoint.'))
      .sort()
      .at(-1) as string;
    const cp = decodeCheckpoint(files.get(checkpoint) as Uint8Array);
    const moved = { ...cp, nextChunkFile: 123456790, chunkFiles: [{ index: 123456789, length: bytes.length }] };
    files.set(checkpoint, encodeCheckpoint(moved, new ByteWriter(1024)).slice());
    const others = ['00000000', '1', '000000001', '0123456789', '99999999999', 'notes.txt'];
    for (const other of others) files.set(`/data/chunks/${other}`, new Uint8Array([1, 2, 3]));
    const moves = new FaultyFileSystem({ files });
    const again = openOn(moves, { chunkSamples: 4, lock: false });
    expect(again.recovery).toMatchObject({ corruptRecords: 0, bytesDropped: 0 });
    expect(readAll(again, id).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    fill(again, id, 4); // chunk 5-8 closes into the next file
    closeAndForget(again);
    expect(moves.readdir('/data/chunks')).toEqual([...others, '123456789', '123456790'].sort());
    expect(readAll(openOn(moves, { chunkSamples: 4 }), id).length).toBe(10);
  });

  it('never reuses a chunk file index the checkpoint covers, even when that file is gone', () => {
    const fs = new FaultyFileSystem();
    const clock = { ms: T0 };
    const options = { chunkSamples: 4, retentionMs: 60_000, lock: false, now: () => clock.ms };
    const first = openOn(fs, options);
    const id = first.createSeries('a');
    fill(first, id, 6, 1000, clock.ms); // chunk 1-4 in chunks/00000001
    first.checkpoint(); // lists chunks/00000001
    clock.ms += 600_000;
    first.commit(); // retention deletes chunks/00000001; the process then stops without a checkpoint
    expect(fs.readdir('/data/chunks')).toEqual([]);
    const second = openOn(fs, options); // retention drops the open chunk 5-6 restored from the checkpoint
    for (let seq = 7; seq <= 12; seq++) second.append(id, seq, clock.ms + seq, seq);
    second.commit(); // chunk 7-10 closed into a new file, written; the process stops again
    expect(fs.readdir('/data/chunks')).toEqual(['00000002']);
    const third = openOn(fs, options);
    expect(third.recovery).toMatchObject({ corruptRecords: 0, bytesDropped: 0 });
    // 5-6 come back with the checkpoint's open chunk: retention's drop was never checkpointed.
    expect(readAll(third, id).map((r) => r.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });
});

describe('retention', () => {
  it('deletes whole chunk files older than retentionMs by the injected clock', () => {
    const fs = new FaultyFileSystem();
    const clock = { ms: T0 };
    const hour = 3_600_000;
    const db = openOn(fs, { retentionMs: hour, chunkSamples: 60, checkpointWalBytes: 1024, now: () => clock.ms });
    const id = db.createSeries('a');
    const all: Reading[] = [];
    for (let minute = 0; minute < 240; minute++) {
      all.push(...fill(db, id, 60, 1000, clock.ms)); // one reading a second, stamped by the clock
      clock.ms += 60_000;
    }
    const got = readAll(db, id);
    const stats = db.stats();
    expect(stats.retentionDeletedFiles).toBeGreaterThan(10);
    expect(stats.retentionDeletedReadings).toBe(all.length - got.length);
    // What is kept is the newest run, and nothing younger than the retention is gone.
    expect(diffReadings(got, all.slice(all.length - got.length))).toBeUndefined();
    expect((got[0] as Reading).ts).toBeLessThanOrEqual(clock.ms - hour);
    expect((got[0] as Reading).ts).toBeGreaterThan(clock.ms - 2 * hour);
    expect(db.seriesInfo(id)).toMatchObject({
      firstSeq: (got[0] as Reading).seq,
      count: got.length,
      lastSeq: all.length,
    });
    // The deletions hold across a reopen.
    closeAndForget(db);
    const again = openOn(fs, { retentionMs: hour, chunkSamples: 60, now: () => clock.ms });
    expect(readAll(again, id).length).toBeLessThanOrEqual(got.length);
  });

  it('drops an open chunk older than retentionMs', () => {
    const clock = { ms: T0 };
    const db = openOn(new FaultyFileSystem(), { retentionMs: 60_000, now: () => clock.ms });
    const id = db.createSeries('quiet');
    fill(db, id, 5, 1000, clock.ms);
    clock.ms += 120_000;
    db.commit();
    expect(db.seriesInfo(id)).toMatchObject({ count: 0, firstSeq: 0, lastSeq: 5 });
    db.append(id, 6, clock.ms, 1);
    db.commit();
    expect(readAll(db, id).map((r) => r.seq)).toEqual([6]);
  });

  it('keeps the directory under maxDiskBytes by deleting the oldest chunk files', () => {
    const clock = { ms: T0 };
    const cap = 256 * 1024;
    const db = openOn(new FaultyFileSystem(), {
      maxDiskBytes: cap,
      chunkFileBytes: 16 * 1024,
      chunkSamples: 256,
      now: () => clock.ms,
    });
    const ids = [0, 1, 2, 3].map((i) => db.createSeries(`s${i}`));
    let peak = 0;
    for (let round = 0; round < 300; round++) {
      for (const id of ids) fill(db, id, 200, 1000, T0);
      clock.ms += 1000;
      db.commit();
      peak = Math.max(peak, db.stats().diskBytes);
    }
    const stats = db.stats();
    expect(stats.retentionDeletedFiles).toBeGreaterThan(5);
    expect(stats.diskBytes).toBeLessThanOrEqual(cap);
    expect(peak).toBeLessThan(cap * 2);
    for (const id of ids) {
      const info = db.seriesInfo(id);
      expect(info?.lastSeq).toBe(60_000);
      expect(info?.firstSeq).toBeGreaterThan(1);
      expect(readAll(db, id).map((r) => r.seq)).toEqual(
        Array.from({ length: info?.count ?? 0 }, (_, i) => (info?.firstSeq ?? 0) + i),
      );
    }
  });
});

describe('degraded mode', () => {
  it('keeps readings in memory when a write fails, and a checkpoint after retryMs makes them durable again', () => {
    const fs = new FaultyFileSystem();
    const clock = { ms: T0 };
    const logger = recordingLogger();
    const db = openOn(fs, { fsync: 'always', now: () => clock.ms, logger, lock: false });
    const id = db.createSeries('a');
    const before = fill(db, id, 10);
    fs.failNext('write', 'ENOSPC', 3);
    const during = fill(db, id, 10);
    expect(db.durable).toBe(false);
    expect(db.stats()).toMatchObject({ degraded: true, writeFailures: 1 });
    const during2 = fill(db, id, 10); // nothing is written while degraded: the armed faults wait
    expect(db.stats().writeFailures).toBe(1);
    expect(diffReadings(readAll(db, id), [...before, ...during, ...during2])).toBeUndefined();
    expect(logger.lines.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(logger.lines.find((l) => l.level === 'error')?.msg).toMatch(/^tsdb degraded: a write failed/);
    // A power cut now keeps what was durable before the failure.
    const lost = fs.crash(createRng(1), 'prefix');
    const recovered = openOn(lost);
    expect(diffReadings(readAll(recovered, id), before)).toBeUndefined();
    closeAndForget(recovered);
    // Retries: two fail on the armed faults, the third writes a checkpoint from memory.
    for (let i = 0; i < 3; i++) {
      clock.ms += 5000;
      db.commit();
    }
    expect(db.durable).toBe(true);
    expect(db.stats().writeFailures).toBe(3);
    expect(logger.lines.some((l) => l.level === 'info' && l.msg.startsWith('tsdb durable again'))).toBe(true);
    const after = fill(db, id, 10);
    const image = openOn(fs.crash(createRng(2), 'subset'));
    expect(diffReadings(readAll(image, id), [...before, ...during, ...during2, ...after])).toBeUndefined();
  });

  it('after a failed fsync never writes to that log segment again', () => {
    const fs = new FaultyFileSystem();
    const clock = { ms: T0 };
    const db = openOn(fs, { fsync: 'always', now: () => clock.ms });
    const id = db.createSeries('a');
    fill(db, id, 10);
    const failed = fs.readdir('/data/wal').at(-1) as string;
    fs.failNext('sync', 'EIO', 1, (p) => p.includes('/wal/'));
    fill(db, id, 10);
    expect(db.stats()).toMatchObject({ degraded: true, fsyncFailures: 1 });
    const size = fs.size(`/data/wal/${failed}`);
    fill(db, id, 10); // degraded: kept in memory, nothing written
    expect(fs.size(`/data/wal/${failed}`)).toBe(size);
    clock.ms += 5000;
    fill(db, id, 10); // the retry: a checkpoint into a fresh segment
    expect(db.durable).toBe(true);
    fill(db, id, 10);
    const segments = fs.readdir('/data/wal').map(Number);
    expect(Math.min(...segments)).toBeGreaterThan(Number(failed));
    const checkpoint = fs.readdir('/data').find((n) => n.startsWith('checkpoint.')) as string;
    expect(Number(checkpoint.split('.')[1])).toBeGreaterThan(Number(failed));
    closeAndForget(db);
    expect(readAll(openOn(fs), id).length).toBe(50);
  });

  it('keeps a chunk whose write failed when a later chunk of its series closes before the retry', () => {
    const fs = new FaultyFileSystem();
    const clock = { ms: T0 };
    const db = openOn(fs, { fsync: 'always', now: () => clock.ms, chunkSamples: 4, lock: false });
    const id = db.createSeries('a');
    fill(db, id, 8); // chunk 1-4 closed and written; 5-8 open
    db.checkpoint();
    fs.failNext('write', 'ENOSPC', 1, (p) => p.includes('/chunks/'));
    fill(db, id, 1); // chunk 5-8 closes; its write fails
    expect(db.durable).toBe(false);
    fill(db, id, 4); // chunk 9-12 closes while degraded
    clock.ms += 5000;
    db.commit(); // the retry: a checkpoint from memory
    expect(db.durable).toBe(true);
    closeAndForget(db);
    const again = openOn(fs, { chunkSamples: 4 });
    expect(again.recovery).toMatchObject({ corruptRecords: 0, bytesDropped: 0 });
    expect(readAll(again, id).map((r) => r.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    // Every series' chunks lie in seq order by (file, offset), the order recovery reads them in.
    const seqs = chunkRecords(fs).map((c) => c.firstSeq);
    expect(seqs).toEqual([1, 5, 9]);
  });

  it('stays degraded while the disk is full and recovers when space returns', () => {
    const fs = new FaultyFileSystem();
    const clock = { ms: T0 };
    const db = openOn(fs, { fsync: 'always', now: () => clock.ms, chunkSamples: 16 });
    const id = db.createSeries('a');
    fill(db, id, 100);
    fs.setFull(db.stats().diskBytes + 200);
    for (let i = 0; i < 10; i++) {
      fill(db, id, 100);
      clock.ms += 5000;
    }
    expect(db.durable).toBe(false);
    expect(db.stats().writeFailures).toBeGreaterThan(1);
    fs.setFull(undefined);
    clock.ms += 5000;
    db.commit();
    expect(db.durable).toBe(true);
    closeAndForget(db);
    const again = openOn(fs, { chunkSamples: 16 });
    expect(readAll(again, id).map((r) => r.seq)).toEqual(Array.from({ length: 1100 }, (_, i) => i + 1));
  });
});

describe('durability modes', () => {
  it("'always' fdatasyncs the log before commit returns", () => {
    const fs = new FaultyFileSystem();
    const db = openOn(fs, { fsync: 'always' });
    const id = db.createSeries('a');
    const syncs = fs.count('sync');
    fill(db, id, 3);
    expect(fs.count('sync')).toBe(syncs + 1);
    db.commit(); // nothing new: no sync
    expect(fs.count('sync')).toBe(syncs + 1);
    expect(db.stats().lastFsyncAgeMs).toBe(0);
  });

  it("'off' never fdatasyncs the log outside checkpoints", () => {
    const fs = new FaultyFileSystem();
    const clock = { ms: T0 };
    const db = openOn(fs, { fsync: 'off', now: () => clock.ms });
    const id = db.createSeries('a');
    const syncs = fs.count('sync');
    for (let i = 0; i < 5; i++) fill(db, id, 3);
    clock.ms += 2500;
    expect(fs.count('sync')).toBe(syncs);
    expect(db.stats().lastFsyncAgeMs).toBe(2500);
  });

  it("'interval' fdatasyncs in the background once per interval, one at a time", async () => {
    vi.useFakeTimers();
    const fs = new FaultyFileSystem();
    const clock = { ms: T0 };
    const db = openOn(fs, { fsync: 'interval', fsyncIntervalMs: 100, now: () => clock.ms });
    const id = db.createSeries('a');
    const syncs = fs.count('sync');
    fill(db, id, 3);
    clock.ms += 40;
    expect(fs.count('sync')).toBe(syncs);
    expect(db.stats().lastFsyncAgeMs).toBe(40);
    await vi.advanceTimersByTimeAsync(100);
    expect(fs.count('sync')).toBe(syncs + 1);
    expect(db.stats().lastFsyncAgeMs).toBe(0);
    await vi.advanceTimersByTimeAsync(500); // nothing new committed: no sync
    expect(fs.count('sync')).toBe(syncs + 1);
    fill(db, id, 3);
    await vi.advanceTimersByTimeAsync(100);
    expect(fs.count('sync')).toBe(syncs + 2);
    // A failing background sync degrades the store.
    fs.failNext('sync', 'EIO');
    fill(db, id, 3);
    await vi.advanceTimersByTimeAsync(100);
    expect(db.stats()).toMatchObject({ degraded: true, fsyncFailures: 1 });
  });
});
