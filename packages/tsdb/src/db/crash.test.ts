import { describe, expect, it } from 'vitest';
import { FaultyFileSystem, type CrashMode } from '../fs/index.js';
import { createRng, type Rng } from '../testing/rng.js';
import { readAll, type Reading } from './testing-model.js';
import { openTsdb, type Tsdb } from './tsdb.js';

/** These run hundreds of stores or crash images: a generous timeout, for a machine that is busy. */
const HEAVY = { timeout: 60_000 };

// Power cuts at many seeded points of a workload (after ALICE, OSDI 2014): at
// each point a crash image is taken from the FaultyFileSystem (the durable
// state plus a random prefix or subset of what was not synced yet), a store
// is recovered from it and checked: recovery never throws; every series it
// knows has the id and name it was created with; what survives of each
// series is a prefix of what was appended, bit for bit (so seqs strictly
// increase and no reading is invented); and everything known durable when
// the image was taken (committed in 'always' mode, or before the last
// checkpoint in 'off' mode) is there.

const T0 = Date.UTC(2030, 0, 1);

interface Appended {
  name: string;
  readings: Reading[];
}

interface Durable {
  series: number;
  lengths: number[];
}

type Fsync = 'always' | 'off';

function options(fs: FaultyFileSystem, fsync: Fsync, clock: { ms: number }, lock = true) {
  return {
    dir: '/data',
    fs,
    fsync,
    lock,
    retentionMs: 0,
    chunkSamples: 16,
    checkpointWalBytes: 2048,
    walSegmentBytes: 4096,
    chunkFileBytes: 4096,
    now: () => clock.ms,
  } as const;
}

/** Recovers a store from `image` and checks it against what was appended and what was durable. */
function checkImage(
  image: FaultyFileSystem,
  appended: readonly Appended[],
  durable: Durable,
  fsync: Fsync,
  label: string,
): void {
  const clock = { ms: T0 };
  let db: Tsdb | undefined;
  try {
    db = openTsdb(options(image, fsync, clock, false));
    const infos = [...db.series()];
    expect(infos.length, `${label}: series`).toBeGreaterThanOrEqual(durable.series);
    expect(infos.length, `${label}: series`).toBeLessThanOrEqual(appended.length);
    for (const info of infos) {
      const a = appended[info.id] as Appended;
      expect(info.name, label).toBe(a.name);
      const got = readAll(db, info.id);
      const want = durable.lengths[info.id] ?? 0;
      expect(got.length, `${label}: readings of ${a.name}`).toBeGreaterThanOrEqual(want);
      expect(got.length, `${label}: readings of ${a.name}`).toBeLessThanOrEqual(a.readings.length);
      for (let i = 0; i < got.length; i++) {
        const g = got[i] as Reading;
        const e = a.readings[i] as Reading;
        if (!Object.is(g.seq, e.seq) || !Object.is(g.ts, e.ts) || !Object.is(g.value, e.value)) {
          expect.fail(`${label}: ${a.name} reading ${i} is ${JSON.stringify(g)}, appended ${JSON.stringify(e)}`);
        }
      }
      expect(info.lastSeq, label).toBe(got.at(-1)?.seq ?? 0);
    }
    // The recovered store works: it takes more readings and keeps them over a clean reopen.
    const first = infos[0];
    if (first !== undefined) {
      const next = first.lastSeq + 1;
      db.append(first.id, next, T0 + 1e9, 1.5);
      db.commit();
      db.close();
      db = openTsdb(options(image, fsync, clock, false));
      expect(db.seriesInfo(first.id)?.lastSeq, label).toBe(next);
    }
  } finally {
    db?.close();
  }
}

/** A workload on one store; `onPoint` is called at every crash point with what is durable then. */
function workload(seed: number, fsync: Fsync, points: number, mode: CrashMode | 'both'): number {
  const rng: Rng = createRng(seed);
  const fs = new FaultyFileSystem();
  const clock = { ms: T0 };
  const db = openTsdb(options(fs, fsync, clock));
  const appended: Appended[] = [];
  const lastTs: number[] = [];
  let durable: Durable = { series: 0, lengths: [] };
  const snapshot = (): Durable => ({ series: appended.length, lengths: appended.map((a) => a.readings.length) });
  let checked = 0;
  try {
    for (let step = 0; checked < points; step++) {
      clock.ms += 250;
      const r = rng(100);
      if (r < 4 || appended.length === 0) {
        const name = `s${appended.length}`;
        expect(db.createSeries(name)).toBe(appended.length);
        appended.push({ name, readings: [] });
        lastTs.push(T0);
      } else if (r < 70) {
        const id = rng(appended.length);
        const a = appended[id] as Appended;
        const n = 1 + rng(30);
        let seq = a.readings.at(-1)?.seq ?? 0;
        for (let i = 0; i < n; i++) {
          seq += rng(20) === 0 ? 3 : 1;
          const back = rng(10) === 0;
          const ts = (lastTs[id] as number) + (back ? -rng(5000) : rng(3) === 0 ? 0.5 : 1000);
          lastTs[id] = ts;
          const value = rng(8) === 0 ? -0 : Math.sin(seq) * 100 + rng(3) / 3;
          db.append(id, seq, ts, value);
          a.readings.push({ seq, ts, value });
        }
      } else if (r < 93) {
        const before = db.stats().checkpoints;
        db.commit();
        if (fsync === 'always' || db.stats().checkpoints > before) durable = snapshot();
      } else if (r < 95) {
        db.checkpoint();
        durable = snapshot();
      } else {
        // A crash point: the store keeps running, the image is recovered elsewhere.
        const modes: CrashMode[] = mode === 'both' ? ['prefix', 'subset'] : [mode];
        for (const m of modes) {
          const image = fs.crash(createRng(seed * 1000 + step), m);
          checkImage(image, appended, durable, fsync, `seed ${seed} step ${step} ${m}`);
        }
        checked++;
      }
    }
    expect(db.durable).toBe(true);
    return db.stats().checkpoints;
  } finally {
    db.close();
  }
}

describe('power loss', () => {
  it("keeps every reading committed in 'always' mode and a prefix of the rest, at 240 crash points", HEAVY, () => {
    let checkpoints = 0;
    for (let seed = 1; seed <= 12; seed++) checkpoints += workload(seed, 'always', 20, 'both');
    expect(checkpoints).toBeGreaterThan(12); // the workloads did cross checkpoints
  });

  it(
    "keeps every reading before the last checkpoint in 'off' mode and a prefix of the rest, at 240 crash points",
    HEAVY,
    () => {
      for (let seed = 101; seed <= 112; seed++) workload(seed, 'off', 20, 'both');
    },
  );

  it('never throws and never invents a reading when the crash lands inside a checkpoint', HEAVY, () => {
    // Crash images taken right after each step of a checkpoint: cut, chunk sync, tmp write, rename, dir sync.
    const fs = new FaultyFileSystem();
    const clock = { ms: T0 };
    const db = openTsdb(options(fs, 'always', clock));
    const id = db.createSeries('a');
    const appended: Appended[] = [{ name: 'a', readings: [] }];
    try {
      for (let round = 0; round < 30; round++) {
        for (let i = 0; i < 40; i++) {
          const seq = round * 40 + i + 1;
          const reading = { seq, ts: T0 + seq * 1000, value: seq / 3 };
          db.append(id, reading.seq, reading.ts, reading.value);
          appended[0]?.readings.push(reading);
        }
        db.commit();
        const durable = { series: 1, lengths: [appended[0]?.readings.length ?? 0] };
        // Fail the checkpoint at a different operation each round, then crash.
        const ops = ['rename', 'syncDir', 'sync', 'write', 'open'] as const;
        fs.failNext(ops[round % ops.length] as (typeof ops)[number], 'EIO');
        db.checkpoint();
        fs.clearFaults();
        for (const m of ['prefix', 'subset'] as const) {
          checkImage(fs.crash(createRng(round), m), appended, durable, 'always', `round ${round} ${m}`);
        }
        clock.ms += 10_000; // past retryMs: the next commit retries
      }
    } finally {
      db.close();
    }
  });
});
