import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaultyFileSystem } from '@opc-lite/tsdb';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RingHistory, type HistoryReader } from './history.js';
import { LossTracker } from './loss.js';
import { OpcServerError, silentLogger, type OpcServerOptions } from './options.js';
import { createOpcServer, type OpcServer } from './server.js';
import type { StorageOptions } from './storage.js';
import { MAX_UNWRITTEN, Storage, STORAGE_DEFAULTS, STORAGE_INTEGER_RULES } from './storage.js';
import { SensorStore, type Sensor } from './store.js';
import { duplexPair } from './testing/duplex-pair.js';
import { LineClient } from './testing/line-client.js';

const DIR = '/data';
const NOW = 1_764_316_800_000;
const servers: OpcServer[] = [];
const tmpDirs: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const dir of tmpDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function server(
  fsys: FaultyFileSystem,
  options: OpcServerOptions = {},
  storage: Omit<StorageOptions, 'dir' | 'fs'> = {},
): OpcServer {
  const s = createOpcServer({
    now: () => NOW,
    closeGraceMs: 0,
    ...options,
    // Most tests look at the disk at turn boundaries: the log is written at the end of every turn here.
    storage: { writeDelayMs: 0, ...storage, dir: DIR, fs: fsys },
  });
  servers.push(s);
  return s;
}

function client(s: OpcServer): LineClient {
  const [serverEnd, clientEnd] = duplexPair();
  s.handle(serverEnd, 'memory');
  return new LineClient(clientEnd);
}

/** Stores a reading as the UDP path does. */
function put(s: OpcServer, name: string, value: number, ts = Number.NaN, senderSeq = -1): void {
  const sensor = s.store.ingest(name, value, ts, senderSeq);
  if (sensor) s.hub.publish(sensor);
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Every file as it is now, all of it kept: what a process crash (not a power cut) leaves on the disk; moved to
 * `to` when given.
 */
function processCrashImage(fsys: FaultyFileSystem, to = DIR): FaultyFileSystem {
  const files: [string, Uint8Array][] = [];
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    dirs.push(to + dir.slice(DIR.length));
    for (const name of fsys.readdir(dir)) {
      const p = `${dir}/${name}`;
      // A copy elsewhere is a dead process's disk: its LOCK would name this live process.
      if (to !== DIR && p === `${DIR}/LOCK`) continue;
      try {
        files.push([to + p.slice(DIR.length), fsys.readFile(p)]);
      } catch (err) {
        if ((err as { code?: string }).code !== 'EISDIR') throw err;
        walk(p);
      }
    }
  };
  walk(DIR);
  return new FaultyFileSystem({ files, dirs });
}

async function ask(c: LineClient, command: string): Promise<string[]> {
  c.send(`${command}\n`);
  return (await c.until('END')).slice(0, -1);
}

describe('storage: restart', () => {
  it('keeps every sensor, its history past the ring, its latest value and its seq across a clean restart', async () => {
    const fsys = new FaultyFileSystem();
    const first = server(fsys, { historyCapacity: 10 });
    for (let i = 1; i <= 50; i++) put(first, 'a', i / 2, NOW - (50 - i) * 1000);
    put(first, 'default', 0.75);
    await first.close();

    const second = server(fsys, { historyCapacity: 10 });
    const a = second.store.get('a')!;
    expect([a.seq, a.lastValue, a.lastTimestampMs, a.size]).toEqual([50, 25, NOW, 10]);
    const c = client(second);
    c.send('n\n');
    expect(await c.next()).toBe('0.75');
    expect(await ask(c, 'HIST a 3')).toEqual([
      'VAL a 24 1764316798000 48',
      'VAL a 24.5 1764316799000 49',
      'VAL a 25 1764316800000 50',
    ]);
    const range = await ask(c, 'RANGE a 0 now');
    expect(range).toHaveLength(50);
    expect(range[0]).toBe('VAL a 0.5 1764316751000 1');
    put(second, 'a', 99);
    expect(second.store.get('a')!.seq).toBe(51);
    expect(await ask(c, 'RANGE a -0s now')).toEqual(['VAL a 25 1764316800000 50', 'VAL a 99 1764316800000 51']);
  });

  it('gives a restored sensor its backlog and its new readings to a subscriber, and resumes AFTER from the store', async () => {
    const fsys = new FaultyFileSystem();
    const first = server(fsys, { historyCapacity: 3 });
    for (let i = 1; i <= 8; i++) put(first, 'a', i, NOW + i);
    await first.close();
    const second = server(fsys, { historyCapacity: 3 });
    const c = client(second);
    c.send('SUB a 2\n');
    expect(await c.take(3)).toEqual(['OK SUB a', 'PUB a 7 1764316800007 7', 'PUB a 8 1764316800008 8']);
    put(second, 'a', 9, NOW + 9);
    expect(await c.next()).toBe('PUB a 9 1764316800009 9');
    // Resumed from below what the ring holds: the store has it all.
    const d = client(second);
    d.send('AFTER a 2\nSUB a\n');
    expect(await d.take(9)).toEqual([
      'OK AFTER a 2',
      'OK SUB a',
      ...[3, 4, 5, 6, 7, 8, 9].map((i) => `PUB a ${i} ${NOW + i} ${i}`),
    ]);
  });

  it('keeps what was committed when the process dies without closing', async () => {
    const fsys = new FaultyFileSystem();
    const first = server(fsys, {}, { writeDelayMs: 0 });
    for (let i = 1; i <= 2000; i++) put(first, `s${i % 7}`, i, NOW + i);
    await turn(); // the turn's commit
    const image = processCrashImage(fsys);
    await first.close(); // writes to the old disk only; it releases the in-process lock a dead process would not hold

    const second = server(image);
    expect(second.store.size).toBe(7);
    let total = 0;
    for (const sensor of second.store) {
      const seen: number[] = [];
      second.store.get(sensor.name)!.forEachRecent(Infinity, (_v, _ts, seq) => seen.push(seq));
      expect(seen).toEqual(Array.from({ length: sensor.seq }, (_, i) => i + 1));
      total += sensor.seq;
    }
    expect(total).toBe(2000);
    expect(second.stats().storage_readings_recovered).toBe(2000);
  });

  it('numbers a sensor that retention emptied above its last seq, and still answers its latest value', async () => {
    let now = NOW;
    const fsys = new FaultyFileSystem();
    const options = { now: () => now, historyCapacity: 5 };
    const first = createOpcServer({
      ...options,
      storage: { dir: DIR, fs: fsys, retentionMs: 60_000, chunkSamples: 4 },
    });
    servers.push(first);
    for (let i = 1; i <= 12; i++) put(first, 'old', i, NOW + i);
    await first.close();
    now = NOW + 10 * 60_000;
    const second = createOpcServer({
      ...options,
      storage: { dir: DIR, fs: fsys, retentionMs: 60_000, chunkSamples: 4 },
    });
    servers.push(second);
    put(second, 'other', 1); // a commit runs retention
    await turn();
    const old = second.store.get('old')!;
    expect([old.seq, old.lastValue]).toEqual([12, 12]);
    put(second, 'old', 13);
    expect(old.seq).toBe(13);
  });
});

describe('storage: loss counters', () => {
  // Sender-seqs with gaps, duplicates, late ones, restarts and readings without one.
  const senderSeqs = fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constant('next' as const) },
      { weight: 1, arbitrary: fc.integer({ min: 2, max: 1500 }).map((jump) => ({ jump })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((back) => ({ back })) },
      { weight: 1, arbitrary: fc.constant(-1) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 20 }) },
    ),
    { maxLength: 300 },
  );

  function seqsOf(steps: ReadonlyArray<'next' | number | { jump: number } | { back: number }>): number[] {
    let last = 0;
    return steps.map((step) => {
      if (step === 'next') return (last += 1);
      if (typeof step === 'number') return step < 0 ? -1 : (last = step);
      if ('jump' in step) return (last += step.jump);
      return Math.max(0, last - step.back);
    });
  }

  it('are back exactly after a restart, clean or crashed, and go on counting as if there had been none', async () => {
    await fc.assert(
      // Checkpoints (past 1 KiB of log, at turn ends every `every` readings) drop the log's sender-seqs.
      fc.asyncProperty(
        senderSeqs,
        senderSeqs,
        fc.boolean(),
        fc.constantFrom(undefined, 1024),
        fc.integer({ min: 1, max: 40 }),
        async (before, after, crash, checkpointWalBytes, every) => {
          const plain = new LossTracker({ lost: 0, duplicate: 0, late: 0, restarts: 0 });
          const fsys = new FaultyFileSystem();
          const first = server(fsys, {}, checkpointWalBytes === undefined ? {} : { checkpointWalBytes });
          const seqs = seqsOf([...before, ...after]);
          const cut = before.length;
          let n = 0;
          for (const s of seqs.slice(0, cut)) {
            plain.observe(s);
            put(first, 'x', 1, Number.NaN, s);
            if (++n % every === 0) await turn();
          }
          let image = fsys;
          if (crash) {
            await turn();
            image = processCrashImage(fsys);
          }
          await first.close();
          const second = server(image);
          for (const s of seqs.slice(cut)) {
            plain.observe(s);
            put(second, 'x', 1, Number.NaN, s);
          }
          const counts = (l: { lost: number; duplicate: number; late: number; restarts: number }): number[] => [
            l.lost,
            l.duplicate,
            l.late,
            l.restarts,
          ];
          const x = second.store.get('x');
          expect(counts(x?.loss ?? plain)).toEqual(counts(plain));
          expect(counts(second.store.loss)).toEqual(counts(plain));
          await Promise.all(servers.splice(0).map((s) => s.close()));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('storage: ordering against the log', () => {
  it('has a reading in the log before any client is shown it', async () => {
    const fsys = new FaultyFileSystem();
    const s = server(fsys);
    const [serverEnd, clientEnd] = duplexPair();
    // What the disk holds at each moment the server hands output to the client's stream.
    const imagesAtWrite: FaultyFileSystem[] = [];
    const write = serverEnd.write.bind(serverEnd) as (chunk: unknown) => boolean;
    serverEnd.write = ((chunk: unknown) => {
      imagesAtWrite.push(processCrashImage(fsys));
      return write(chunk);
    }) as typeof serverEnd.write;
    s.handle(serverEnd, 'memory');
    const c = new LineClient(clientEnd);
    c.send('SUB *\n');
    expect(await c.next()).toBe('OK SUB *');
    // The reading arrives in the turn that answers a command, after the reply was queued: one write carries both.
    serverEnd.once('data', () => put(s, 'a', 42, NOW));
    c.send('PING\n');
    expect(await c.take(2)).toEqual(['PONG', 'PUB a 42 1764316800000 1']);
    expect(imagesAtWrite).toHaveLength(2);
    await s.close();
    const reopened = server(imagesAtWrite[1]!);
    expect(reopened.store.get('a')?.latest()).toEqual({ name: 'a', value: 42, timestampMs: NOW, seq: 1 });
  });
});

describe('storage: write delay', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  let probes = 0;

  /** The latest value of `name` that a server started on what the disk holds now (a copy of it) would have. */
  async function keptNow(fsys: FaultyFileSystem, name: string): Promise<number | undefined> {
    const dir = `/probe${++probes}`;
    const probe = createOpcServer({ storage: { dir, fs: processCrashImage(fsys, dir) } });
    const value = probe.store.get(name)?.latest()?.value;
    await probe.close();
    return value;
  }

  it('writes readings no client was shown writeDelayMs after the first of them, not at the end of the turn', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fsys = new FaultyFileSystem();
    expect(STORAGE_DEFAULTS.writeDelayMs).toBe(5);
    const s = createOpcServer({ now: () => NOW, storage: { dir: DIR, fs: fsys } }); // the default delay
    servers.push(s);
    put(s, 'a', 1, NOW);
    await turn();
    vi.advanceTimersByTime(2);
    put(s, 'a', 2, NOW + 1); // waits with the first, not 5 ms of its own
    await turn();
    expect(await keptNow(fsys, 'a')).toBeUndefined();
    vi.advanceTimersByTime(2);
    expect(await keptNow(fsys, 'a')).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(await keptNow(fsys, 'a')).toBe(2);
    // The next reading starts a new wait.
    put(s, 'a', 3, NOW + 2);
    vi.advanceTimersByTime(4);
    expect(await keptNow(fsys, 'a')).toBe(2);
    vi.advanceTimersByTime(1);
    expect(await keptNow(fsys, 'a')).toBe(3);
  });

  it('writes at the end of every turn with writeDelayMs 0', async () => {
    const fsys = new FaultyFileSystem();
    const s = server(fsys, {}, { writeDelayMs: 0 });
    put(s, 'a', 1, NOW);
    expect(await keptNow(fsys, 'a')).toBeUndefined();
    await turn();
    expect(await keptNow(fsys, 'a')).toBe(1);
  });

  it('writes at the end of the turn once MAX_UNWRITTEN readings wait, however long the delay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fsys = new FaultyFileSystem();
    const s = server(fsys, {}, { writeDelayMs: 1000 });
    for (let i = 1; i < MAX_UNWRITTEN; i++) put(s, 'a', i, NOW + i);
    await turn();
    expect(await keptNow(fsys, 'a')).toBeUndefined();
    put(s, 'a', MAX_UNWRITTEN, NOW + MAX_UNWRITTEN);
    await turn();
    expect(await keptNow(fsys, 'a')).toBe(MAX_UNWRITTEN);
  });

  it('does not delay output: a reply is written after the log, whatever the delay', async () => {
    const fsys = new FaultyFileSystem();
    const s = server(fsys, {}, { writeDelayMs: 1000 });
    const c = client(s);
    put(s, 'a', 9, NOW);
    c.send('GET a\n');
    expect(await c.next()).toBe('VAL a 9 1764316800000 1');
    expect(await keptNow(fsys, 'a')).toBe(9);
  });

  it('rejects a delay that is not a whole number of ms from 0 to 1000', () => {
    const open = (writeDelayMs: number) => () =>
      createOpcServer({ storage: { dir: DIR, fs: new FaultyFileSystem(), writeDelayMs } });
    expect(open(2.5)).toThrow(/storage.writeDelayMs must be an integer from 0 to 1000 \(got 2.5\)/);
    expect(open(Number.NaN)).toThrow(RangeError);
  });
});

describe('storage: commit for other transports', () => {
  it('puts what is stored in the log at once when asked, before the turn ends', () => {
    const fsys = new FaultyFileSystem();
    const s = server(fsys);
    put(s, 'a', 7, NOW);
    const before = processCrashImage(fsys);
    s.commit();
    const after = processCrashImage(fsys);
    return (async () => {
      await s.close();
      expect(server(before).store.get('a')).toBeUndefined();
      await Promise.all(servers.splice(0).map((x) => x.close()));
      expect(server(after).store.get('a')?.latest()).toEqual({ name: 'a', value: 7, timestampMs: NOW, seq: 1 });
    })();
  });
});

describe('storage: reads agree with the rings', () => {
  const readings = fc.array(
    fc.record({
      dt: fc.integer({ min: -3, max: 50 }),
      // 0 and -0 often, at equal timestamps too: both histories must keep the same one as min and max.
      value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0)),
    }),
    { minLength: 1, maxLength: 200 },
  );
  type Visit = (h: HistoryReader, sensor: Sensor, out: unknown[]) => unknown;

  it('answers RANGE, buckets and AFTER as the in-memory history does while the ring holds everything', () => {
    fc.assert(
      fc.property(
        readings,
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 60 }),
        (rs, a, b, points, limit) => {
          const storage = Storage.open({ dir: DIR, fs: new FaultyFileSystem() }, silentLogger, () => NOW);
          const store = new SensorStore({
            historyCapacity: 1000,
            onSensor: (s) => storage.onSensor(s),
            onReading: (s, senderSeq) => storage.onReading(s, senderSeq),
          });
          let ts = 1000;
          for (const r of rs) store.ingest('x', r.value, (ts += r.dt), -1);
          const sensor = store.get('x')!;
          const [from, to] = [1000 + Math.min(a, b), 1000 + Math.max(a, b)];
          const visits: Visit[] = [
            (h, x, out) => h.range(x, from, to, limit, (...r) => out.push(r)),
            (h, x, out) => h.buckets(x, from, to, points, (...r) => out.push(r)),
            (h, x, out) => h.after(x, Math.floor(a / 2), limit, (...r) => out.push(r)),
            // Below the ring's oldest: the store answers, not the ring.
            (h, x, out) => h.after(x, 0, limit, (...r) => out.push(r)),
          ];
          const ring = new RingHistory();
          for (const visit of visits) {
            const fromStore: unknown[] = [];
            const fromRing: unknown[] = [];
            expect([visit(storage, sensor, fromStore), fromStore]).toEqual([visit(ring, sensor, fromRing), fromRing]);
          }
          storage.close();
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('storage: figures and faults', () => {
  it('reports the store in STATS, and zeros without one', async () => {
    const fsys = new FaultyFileSystem();
    const s = server(fsys);
    for (let i = 0; i < 100; i++) put(s, 'a', i);
    await turn();
    const stats = s.stats();
    expect(stats.storage_durable).toBe(1);
    expect(stats.storage_degraded).toBe(0);
    expect(stats.storage_readings).toBe(100);
    expect(stats.storage_disk_bytes).toBeGreaterThan(0);
    expect(stats.storage_wal_segments).toBeGreaterThan(0);
    const memory = createOpcServer();
    expect(memory.stats().storage_durable).toBe(0);
    expect(memory.stats().storage_disk_bytes).toBe(0);
  });

  it('keeps serving from memory when the disk is full, says so in STATS, and writes again when there is room', async () => {
    const fsys = new FaultyFileSystem();
    // A clock that moves: the store retries by it.
    const s = createOpcServer({ storage: { dir: DIR, fs: fsys, retryMs: 1, writeDelayMs: 0 } });
    servers.push(s);
    put(s, 'a', 1);
    await turn();
    fsys.setFull(0);
    put(s, 'a', 2);
    await turn();
    expect(s.stats().storage_degraded).toBe(1);
    const c = client(s);
    expect((await ask(c, 'HIST a')).map((line) => line.split(' ')[2])).toEqual(['1', '2']);
    fsys.setFull(undefined);
    for (let i = 0; i < 20 && s.stats().storage_degraded === 1; i++) {
      put(s, 'a', 3 + i);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(s.stats().storage_degraded).toBe(0);
    const seq = s.store.get('a')!.seq;
    await s.close();
    const reopened = server(fsys);
    expect(reopened.store.get('a')!.seq).toBe(seq);
    const seqs: number[] = [];
    reopened.store.get('a')!.forEachRecent(Infinity, (_v, _t, q) => seqs.push(q));
    expect(seqs).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
  });

  it('refuses a second server on the same data directory, naming the process that holds it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opc-storage-'));
    tmpDirs.push(dir);
    servers.push(createOpcServer({ storage: { dir } }));
    let error: unknown;
    try {
      createOpcServer({ storage: { dir } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OpcServerError);
    expect(error).toMatchObject({ code: 'ERR_LOCKED' });
    expect((error as Error).message).toContain(`process ${process.pid}`);
  });

  it('refuses a data directory it cannot create', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opc-storage-'));
    tmpDirs.push(dir);
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(() => createOpcServer({ storage: { dir: path.join(dir, 'file', 'data') } })).toThrow(
      expect.objectContaining({ code: 'ERR_DATA_DIR' }),
    );
  });

  it('rejects a storage option without a directory', () => {
    expect(() => createOpcServer({ storage: {} as never })).toThrow(/storage.dir must be a non-empty string/);
    expect(() => createOpcServer({ storage: 'opc-data' as never })).toThrow(TypeError);
  });
});

describe('storage: option ranges', () => {
  it('has the ranges the store itself enforces', () => {
    for (const [key, { min, max }] of Object.entries(STORAGE_INTEGER_RULES)) {
      const open = (value: number): OpcServer => {
        const s = createOpcServer({ storage: { dir: DIR, fs: new FaultyFileSystem(), [key]: value } });
        servers.push(s);
        return s;
      };
      expect(() => open(min), `${key} = ${min}`).not.toThrow();
      expect(() => open(min - 1), `${key} = ${min - 1}`).toThrow(RangeError);
      if (max < Number.MAX_SAFE_INTEGER) expect(() => open(max + 1), `${key} = ${max + 1}`).toThrow(RangeError);
    }
  });
});

describe('storage: lazy rings', () => {
  it("restores latest values at once and reads a sensor's ring from the store only when it is first used", () => {
    const fsys = new FaultyFileSystem();
    const open = (): { storage: Storage; store: SensorStore } => {
      const storage = Storage.open({ dir: DIR, fs: fsys }, silentLogger, () => NOW);
      const store = new SensorStore({
        historyCapacity: 4,
        onSensor: (s) => storage.onSensor(s),
        onReading: (s, senderSeq) => storage.onReading(s, senderSeq),
      });
      storage.restore(store);
      return { storage, store };
    };
    const first = open();
    for (let i = 1; i <= 6; i++) {
      first.store.ingest('a', i, NOW + i, -1);
      first.store.ingest('b', -i, NOW + i, -1);
    }
    first.storage.close();

    const { storage, store } = open();
    const last = vi.spyOn(storage.db, 'last');
    const [a, b] = [store.get('a')!, store.get('b')!];
    expect([a.seq, a.lastValue, a.lastTimestampMs, b.summary()]).toEqual([
      6,
      6,
      NOW + 6,
      { name: 'b', count: 6, lastTimestampMs: NOW + 6, lastValue: -6 },
    ]);
    expect(last).not.toHaveBeenCalled();
    expect(a.history().map((r) => r.seq)).toEqual([3, 4, 5, 6]);
    expect(last).toHaveBeenCalledTimes(1);
    a.history();
    expect(last).toHaveBeenCalledTimes(1);
    // A new reading first puts the ring back, then follows it.
    store.ingest('b', -7, NOW + 7, -1);
    expect(b.history().map((r) => [r.seq, r.value])).toEqual([
      [4, -4],
      [5, -5],
      [6, -6],
      [7, -7],
    ]);
    storage.close();
  });
});
