/**
 * Crash rounds against the real `opc-server` CLI on a data directory: under
 * load (UDP senders; subscribers; pollers asking `n`, GET, HIST and RANGE),
 * the server is killed with SIGKILL, restarted on the same directory (and
 * port), and what it holds is compared with what was sent and with what every
 * client was shown. The promise (docs/DURABILITY.md): in every fsync mode,
 * every reading a client was shown survives with the same value, timestamp
 * and seq; per sensor the seqs are 1..n with no duplicate; nothing is stored
 * that was not sent; readings after the restart are numbered after the ones
 * before it; the loss counters match the gaps in what is stored.
 *
 * Rounds:
 * - kill -9 at a random moment (after a seeded number of readings), cycling
 *   through the fsync modes;
 * - kill -9 at a named point of the store's file work, by a preload
 *   (./crash-point.mjs, through NODE_OPTIONS=--import) that kills the process
 *   the Nth time the point is reached and leaves a marker: a new log segment
 *   just created, a checkpoint's .tmp written but not renamed, a checkpoint
 *   just renamed, a replaced log segment just deleted, a chunk file about to
 *   be written. The restart runs without the preload;
 * - kill -9 at a random moment, then a restart with `--recovery strict`, once
 *   per fsync mode: a process crash leaves no damage, so strict starts.
 *
 * Environment:
 * - OPC_CRASH_ROUNDS: random-moment rounds (default 3, a quick run for CI;
 *   the full suite is OPC_CRASH_ROUNDS=100). Each named point runs
 *   ceil(rounds / 10) times.
 * - OPC_CRASH_SEED: the base seed (default: drawn at random). It is in the
 *   suite's name; set it to replay a failed run, and add `-t '<round name>'`
 *   to replay one round.
 *
 * Needs the CLI built: `pnpm turbo run build --filter opc-server` (turbo
 * builds it before this project's tests), then
 * `pnpm vitest run --project reliability crash`.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { connect, type OpcClient } from '@opc-lite/reader-client';
import type { Reading, SensorSummary } from '@opc-lite/protocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stopAllChildren } from '../testing/processes.js';
import { expectedLoss, findProblems, type StoredReadings } from './check.js';
import { Observers } from './observers.js';
import { Rng, roundSeed } from './rng.js';
import {
  CRASH_POINTS,
  FSYNC_MODES,
  listDataDir,
  readMarker,
  startStoreServer,
  type CrashMarker,
  type CrashPoint,
  type FsyncMode,
  type StoreServer,
} from './server.js';
import { Workload } from './workload.js';

function intEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number (got '${text}')`);
  return value;
}

const ROUNDS = intEnv('OPC_CRASH_ROUNDS', 3);
const SEED = intEnv('OPC_CRASH_SEED', randomInt(2 ** 31));
const REPLAY = `OPC_CRASH_SEED=${SEED}`;

/** Readings per sensor sent after the restart. */
const AFTER_RESTART = 3;
/** A round that waits for a named point sends at most this many readings. */
const POINT_MAX_READINGS = 30_000;
/** The Nth time a point is reached kills, N drawn from this range (the first checkpoint and segment come with the start). */
const NTH: Record<CrashPoint, [number, number]> = {
  'wal-segment-created': [2, 8],
  'checkpoint-tmp-written': [2, 8],
  'checkpoint-renamed': [2, 8],
  'wal-segment-deleted': [1, 8],
  'chunk-write': [1, 3],
};

type Crash =
  | { kind: 'random'; afterReadings: number }
  | { kind: 'point'; point: CrashPoint; nth: number }
  | { kind: 'lose'; nth: number };

interface Plan {
  name: string;
  seed: number;
  fsync: FsyncMode;
  recovery: 'repair' | 'strict';
  crash: Crash;
}

function plans(): Plan[] {
  const out: Plan[] = [];
  let round = 0;
  const next = (fsync: FsyncMode, recovery: Plan['recovery'], crash: (rng: Rng) => Crash): void => {
    const seed = roundSeed(SEED, round++);
    const c = crash(new Rng(seed));
    const where =
      c.kind === 'random' ? `after ${c.afterReadings} readings` : c.kind === 'point' ? `at ${c.point} #${c.nth}` : '';
    const restart = recovery === 'strict' ? ', restarted with --recovery strict' : '';
    const name =
      c.kind === 'lose'
        ? `notices readings shown and then lost, every log write from #${c.nth} on dropped (round ${round}, fsync ${fsync})`
        : `keeps every reading a client was shown through kill -9 ${where} (round ${round}, fsync ${fsync}${restart})`;
    out.push({
      name,
      seed,
      fsync,
      recovery,
      crash: c,
    });
  };
  const random = (rng: Rng): Crash => ({ kind: 'random', afterReadings: rng.int(150, 3000) });
  for (let i = 0; i < ROUNDS; i++) next(FSYNC_MODES[i % 3]!, 'repair', random);
  const repeats = Math.ceil(ROUNDS / 10);
  let mode = 0;
  for (let r = 0; r < repeats; r++) {
    for (const point of CRASH_POINTS) {
      const [min, max] = NTH[point];
      next(FSYNC_MODES[mode++ % 3]!, 'repair', (rng) => ({ kind: 'point', point, nth: rng.int(min, max) }));
    }
  }
  for (const fsync of FSYNC_MODES) next(fsync, 'strict', random);
  next('interval', 'repair', (rng) => ({ kind: 'lose', nth: rng.int(20, 200) }));
  return out;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopAllChildren();
});

/** Replies answered per kind of request, and pushes, over every round (a round that saw none checks nothing). */
const exercised = { n: 0, GET: 0, HIST: 0, RANGE: 0, PUB: 0 };
/** Per round: readings sent before the kill, shown, recovered, and what the recovery reported (printed at the end). */
const figures: {
  round: string;
  sent: number;
  shown: number;
  recovered: number;
  bytesDropped: unknown;
  recoveryMs: unknown;
}[] = [];

interface ReadBack {
  list: SensorSummary[];
  stored: StoredReadings;
}

/** LIST, then every reading of every listed sensor (`RANGE name 0 now`, followed through `MORE`). */
async function readBack(client: OpcClient): Promise<ReadBack> {
  const list = await client.list();
  const stored = new Map<string, Reading[]>();
  for (const s of list) {
    const readings: Reading[] = [];
    for await (const r of client.rangeAll(s.name, 0, 'now')) readings.push(r);
    stored.set(s.name, readings);
  }
  return { list, stored };
}

/** The highest seq shown of each sensor. */
function maxSeqs(seen: readonly Reading[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of seen) out.set(r.name, Math.max(out.get(r.name) ?? 0, r.seq));
  return out;
}

/** What the data directory must show right after the kill, for the point to have been where the marker says. */
function expectPointOnDisk(point: CrashPoint, marker: CrashMarker, files: ReadonlyMap<string, number>): void {
  const markerPath = marker.path;
  const all = [...files.keys()].sort();
  const checkpoints = all.filter((f) => /^checkpoint\.\d+$/.test(f));
  const segments = all.filter((f) => /^wal\/\d+$/.test(f));
  const at = `the files after the kill: ${all.join(' ')}`;
  if (point === 'wal-segment-created') {
    // A commit started it (not a checkpoint's cut of the log); it exists and is empty: its header goes out
    // with the batch that needed it.
    expect(
      marker.calls?.some((name) => name.endsWith('.commit')),
      `the stack: ${marker.calls?.join(' < ')}`,
    ).toBe(true);
    expect(segments.at(-1), at).toBe(`wal/${basename(markerPath)}`);
    expect(files.get(`wal/${basename(markerPath)}`), at).toBe(0);
  } else if (point === 'checkpoint-tmp-written') {
    expect(files.get(basename(markerPath)), at).toBeGreaterThan(0);
    expect(checkpoints, at).not.toContain(basename(markerPath).replace(/\.tmp$/, ''));
  } else if (point === 'checkpoint-renamed') {
    // The new checkpoint is in place and the one it replaces is not deleted yet.
    expect(checkpoints, at).toContain(basename(markerPath));
    expect(checkpoints.length, at).toBeGreaterThanOrEqual(2);
  } else if (point === 'wal-segment-deleted') {
    expect(segments, at).not.toContain(`wal/${basename(markerPath)}`);
  } else {
    expect(
      all.some((f) => f.startsWith('chunks/')),
      at,
    ).toBe(true);
  }
}

async function crashRound(plan: Plan): Promise<void> {
  const rng = new Rng(plan.seed);
  const context = `${plan.name}, replay with ${REPLAY}`;
  const dir = mkdtempSync(join(tmpdir(), 'opc-crash-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const markerPath = join(dir, 'crash-point.json');
  const crash = plan.crash;
  const maxReadings = crash.kind === 'random' ? crash.afterReadings : POINT_MAX_READINGS;
  const preload =
    crash.kind === 'point'
      ? { point: crash.point, nth: crash.nth, marker: markerPath }
      : crash.kind === 'lose'
        ? { point: 'lose-log-writes' as const, nth: crash.nth, marker: markerPath }
        : undefined;

  const load = await Workload.open(rng.fork(), { maxReadings: maxReadings + AFTER_RESTART * 20 });
  cleanups.push(() => load.close());
  const first = await startStoreServer({
    dataDir,
    fsync: plan.fsync,
    ...(preload && { crash: preload }),
  });
  const observers = await Observers.start(first.port, load, rng.fork());
  cleanups.push(() => observers.close());

  // --- the load, until the kill ---
  let killed = false;
  const sent = await load.run(first.port, {
    maxReadings,
    stop: () => killed || !first.child.running,
    onReading: (total) => {
      if (crash.kind === 'random' && !killed && total >= crash.afterReadings) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    },
  });
  if (preload !== undefined && first.child.running && readMarker(markerPath) === undefined) {
    await first.child.stop();
    expect.fail(
      `${preload.point} was not reached ${preload.nth} times in ${sent} readings: no crash happened (${context})`,
    );
  }
  const exit = await first.child.exited;
  expect(exit, context).toEqual({ code: null, signal: 'SIGKILL' });
  if (crash.kind === 'point') {
    const marker = readMarker(markerPath);
    expect(marker, `the preload's marker (${context})`).toMatchObject({ point: crash.point, n: crash.nth });
    expectPointOnDisk(crash.point, marker!, listDataDir(dataDir));
  }
  await observers.pollersDone;
  const seenBefore = observers.seen.slice();
  const polledBefore = observers.polled.slice();
  // A round in which no client was shown anything would check nothing.
  expect(seenBefore.length, context).toBeGreaterThan(0);

  // --- the restart, on the same port if it is still free ---
  let second: StoreServer;
  let samePort = true;
  const restart = { dataDir, fsync: plan.fsync, recovery: plan.recovery };
  try {
    second = await startStoreServer({ ...restart, port: first.port });
  } catch (err) {
    if (!/already in use/.test(String(err))) throw err;
    // Something took the port meanwhile; the resumed subscriptions cannot follow, the rest of the round can.
    samePort = false;
    second = await startStoreServer(restart);
  }
  const client = await connect({ port: second.port });
  cleanups.push(() => client.close());
  const recovered = await readBack(client);
  if (crash.kind === 'lose') {
    // The store lost what it was shown: the checks must say so.
    const problems = findProblems({ truth: load.truth, seen: seenBefore, polled: polledBefore, ...recovered });
    expect(readMarker(markerPath), context).toMatchObject({ point: 'lose-log-writes' });
    expect(
      problems.filter((p) => / was shown \(.*\) and is not stored$/.test(p)).length,
      `${problems.length} problems found, ${problems.slice(0, 3).join('; ')} (${context})`,
    ).toBeGreaterThan(0);
    await observers.close();
    await client.close();
    return;
  }
  expect(
    findProblems({ truth: load.truth, seen: seenBefore, polled: polledBefore, ...recovered }),
    `after the restart (${context})`,
  ).toEqual([]);
  let recoveredTotal = 0;
  for (const readings of recovered.stored.values()) recoveredTotal += readings.length;
  figures.push({
    round: plan.name.replace(/^.*\(round (\d+).*$/, '$1'),
    sent,
    shown: new Set(seenBefore.map((r) => `${r.name}#${r.seq}`)).size,
    recovered: recoveredTotal,
    bytesDropped: second.history.bytesDropped,
    recoveryMs: second.history.recoveryMs,
  });
  const statsAtStart = await client.stats();
  expect(statsAtStart.storage_readings_recovered, context).toBe(recoveredTotal);
  expect(second.history.readings, context).toBe(recoveredTotal);
  if (crash.kind === 'point') {
    // Killed between two system calls, so no write was cut short: nothing to repair.
    expect(second.history.bytesDropped, context).toBe(0);
    expect(recoveredTotal, context).toBeGreaterThan(0);
    expect(
      [...listDataDir(dataDir).keys()].filter((f) => f.endsWith('.tmp')),
      context,
    ).toEqual([]);
  }

  // --- readings after the restart are numbered after everything before it ---
  const shownBefore = maxSeqs(seenBefore);
  const added = await load.sendEach(second.port, AFTER_RESTART);
  await expect
    .poll(
      async () => {
        const list = await client.list();
        return load.names.filter((name) => {
          const last = added.get(name)!.at(-1)!;
          return list.some((s) => s.name === name && s.lastTimestampMs === last.timestampMs);
        });
      },
      { timeout: 10_000, message: `every sensor's readings sent after the restart arrive (${context})` },
    )
    .toEqual(load.names);
  const final = await readBack(client);
  expect(
    findProblems({ truth: load.truth, seen: observers.seen, polled: observers.polled, ...final }),
    `after the readings sent after the restart (${context})`,
  ).toEqual([]);
  for (const name of load.names) {
    const before = recovered.stored.get(name) ?? [];
    const after = final.stored.get(name)!;
    expect(after.slice(0, before.length), `${name}: what was recovered stays (${context})`).toEqual(before);
    expect(
      after.slice(before.length).map((r) => ({ value: r.value, timestampMs: r.timestampMs, seq: r.seq })),
      `${name}: the new readings follow the recovered ones (${context})`,
    ).toEqual(
      added.get(name)!.map((r, i) => ({ value: r.value, timestampMs: r.timestampMs, seq: before.length + i + 1 })),
    );
    expect(
      before.length,
      `${name}: numbered after every seq shown before the crash (${context})`,
    ).toBeGreaterThanOrEqual(shownBefore.get(name) ?? 0);
  }

  // --- loss counters: exactly the gaps in what is stored, nothing negative, no restart or duplicate ---
  const stats = await client.stats();
  expect(
    { lost: stats.seq_lost, duplicate: stats.seq_duplicate, late: stats.seq_late, restarts: stats.seq_restarts },
    `STATS loss counters (${context})`,
  ).toEqual(expectedLoss(load.truth, final.stored));
  expect(stats.sensors, context).toBe(load.names.length);

  // --- the resumed subscriber (`*`) gets the new readings too ---
  if (samePort) {
    const last = new Map(load.names.map((name) => [name, final.stored.get(name)!.at(-1)!.seq]));
    await expect
      .poll(
        () =>
          load.names.filter((name) =>
            observers.seen.some((r) => r.via === 'PUB *' && r.name === name && r.seq === last.get(name)),
          ),
        { timeout: 10_000, message: `the subscription to * resumes after the restart (${context})` },
      )
      .toEqual(load.names);
  }
  expect(observers.unexpected, context).toEqual([]);

  for (const kind of ['n', 'GET', 'HIST', 'RANGE'] as const) exercised[kind] += observers.answered[kind];
  exercised.PUB += seenBefore.filter((r) => r.via.startsWith('PUB')).length;

  await observers.close();
  await client.close();
  second.child.kill('SIGTERM');
  expect(await second.child.exited, `a clean stop after the recovery (${context})`).toEqual({ code: 0, signal: null });
}

describe(`kill -9 under load (${REPLAY}, OPC_CRASH_ROUNDS=${ROUNDS})`, () => {
  for (const plan of plans()) {
    it(plan.name, () => crashRound(plan), 60_000);
  }

  afterAll(() => {
    console.info(`[crash] ${REPLAY} rounds=${ROUNDS} answered=${JSON.stringify(exercised)}`);
    const dropped = figures.filter((f) => f.bytesDropped !== 0).map((f) => f.round);
    console.info(`[crash] rounds whose recovery cut bytes away: ${dropped.length === 0 ? 'none' : dropped.join(', ')}`);
    console.info(`[crash] per round: ${JSON.stringify(figures)}`);
  });

  it('has shown readings through every kind of request and through pushes, over the rounds', () => {
    expect(exercised.n, 'answers to n').toBeGreaterThan(0);
    expect(exercised.GET, 'GET replies').toBeGreaterThan(0);
    expect(exercised.HIST, 'HIST replies').toBeGreaterThan(0);
    expect(exercised.RANGE, 'RANGE replies').toBeGreaterThan(0);
    expect(exercised.PUB, 'pushes').toBeGreaterThan(0);
  });
});
