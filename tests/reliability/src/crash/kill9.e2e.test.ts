/**
 * Crash rounds against the real `opc-server` CLI on a data directory: under
 * load (UDP senders; subscribers; pollers asking `n`, GET, HIST and RANGE),
 * the server is killed with SIGKILL, restarted on the same directory (and
 * port), and what it holds is compared with what was sent and with what every
 * client was shown; then a few readings more, and the same checks. A round
 * is one to three such crash cycles on the same directory (new sensors may
 * first appear in a later cycle), each cycle killing the server the previous
 * one restarted. The promise (docs/DURABILITY.md): in every fsync mode,
 * every reading a client was shown survives with the same value, timestamp
 * and seq; per sensor the seqs are 1..n with no duplicate; nothing is stored
 * that was not sent; readings after the restart are numbered after the ones
 * before it; a reading sent again after the restart is a duplicate, counted
 * and not stored; the loss counters match the gaps in what is stored.
 *
 * Rounds:
 * - kill -9 at random moments (after a seeded number of readings), one to
 *   three cycles, cycling through the fsync modes;
 * - kill -9 at a named point of the store's file work, by a preload
 *   (./crash-point.mjs, through NODE_OPTIONS=--import) that kills the process
 *   the Nth time the point is reached and leaves a marker: a new log segment
 *   just created, a checkpoint's .tmp written but not renamed, a checkpoint
 *   just renamed, a replaced log segment just deleted, a chunk file about to
 *   be written; then a cycle with a kill at a random moment. Each kill is
 *   proven by the marker and by the files it leaves. The restarts run
 *   without the preload;
 * - kill -9 in the middle of a recovery: after a kill at a checkpoint (so the
 *   restart has log to replay, and writes a checkpoint of its own), the
 *   restart is killed by the preload at a point of that checkpoint before it
 *   listens, and the next restart must recover from that;
 * - kill -9 at a random moment, then a restart with `--recovery strict`, once
 *   per fsync mode: a process crash leaves no damage, so strict starts.
 *   (One narrow exception: Linux stops a write() between two pages when
 *   SIGKILL is pending, so a kill inside a write of more than a page leaves
 *   it cut short, a torn tail strict refuses. The log writes here are a few
 *   hundred bytes, a window of well under a microsecond per write; the
 *   summary printed at the end names every round whose recovery cut bytes
 *   away.)
 *
 * Environment:
 * - OPC_CRASH_ROUNDS: random-moment rounds (default 3, a quick run for CI;
 *   the full suite is OPC_CRASH_ROUNDS=100). Each named point, and each
 *   crash in a recovery, runs ceil(rounds / 10) times.
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
import { Observers, type SeenReading } from './observers.js';
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
  type StoreServerOptions,
} from './server.js';
import { Workload, truthKey } from './workload.js';

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

/** Readings per sensor sent after each restart. */
const AFTER_RESTART = 3;
/** A cycle that waits for a named point sends at most this many readings. */
const POINT_MAX_READINGS = 30_000;
/** The points of the checkpoint a recovery writes (after replaying the log), at which a recovery is killed. */
const RECOVERY_POINTS = ['checkpoint-tmp-written', 'checkpoint-renamed', 'wal-segment-deleted'] as const;
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
  /** One crash per cycle; only the first can use the preload (later cycles kill a server started without it). */
  crashes: Crash[];
  /** Kill the first restart at this point of its recovery's checkpoint. */
  recoveryCrash?: CrashPoint;
}

const describeCrash = (c: Crash): string =>
  c.kind === 'random'
    ? `after ${c.afterReadings} readings`
    : c.kind === 'point'
      ? `at ${c.point} #${c.nth}`
      : `with every log write from #${c.nth} on dropped`;

function plans(): Plan[] {
  const out: Plan[] = [];
  let round = 0;
  const next = (
    fsync: FsyncMode,
    recovery: Plan['recovery'],
    make: (rng: Rng) => Pick<Plan, 'crashes' | 'recoveryCrash'>,
  ): void => {
    const seed = roundSeed(SEED, round++);
    const { crashes, recoveryCrash } = make(new Rng(seed));
    // The recovery crash follows the first kill.
    const inRecovery = recoveryCrash === undefined ? '' : ` and in the recovery at ${recoveryCrash}`;
    const where = crashes.map((c, i) => describeCrash(c) + (i === 0 ? inRecovery : '')).join(', then ');
    const strict = recovery === 'strict' ? ', restarted with --recovery strict' : '';
    const name =
      crashes[0]?.kind === 'lose'
        ? `notices readings shown and then lost, ${where} (round ${round}, fsync ${fsync})`
        : `keeps every reading a client was shown through kill -9 ${where} (round ${round}, fsync ${fsync}${strict})`;
    out.push({ name, seed, fsync, recovery, crashes, ...(recoveryCrash && { recoveryCrash }) });
  };
  const random = (rng: Rng, most = 2000): Crash => ({ kind: 'random', afterReadings: rng.int(100, most) });
  const point = (rng: Rng, p: CrashPoint): Crash => ({ kind: 'point', point: p, nth: rng.int(...NTH[p]) });
  let mode = 0;
  const nextMode = (): FsyncMode => FSYNC_MODES[mode++ % 3]!;
  for (let i = 0; i < ROUNDS; i++) {
    next(nextMode(), 'repair', (rng) => ({ crashes: Array.from({ length: rng.int(1, 3) }, () => random(rng)) }));
  }
  for (let r = 0; r < Math.ceil(ROUNDS / 10); r++) {
    for (const p of CRASH_POINTS) next(nextMode(), 'repair', (rng) => ({ crashes: [point(rng, p), random(rng, 800)] }));
    for (const p of RECOVERY_POINTS) {
      next(nextMode(), 'repair', (rng) => ({
        crashes: [point(rng, 'checkpoint-tmp-written'), random(rng, 800)],
        recoveryCrash: p,
      }));
    }
  }
  for (const fsync of FSYNC_MODES) next(fsync, 'strict', (rng) => ({ crashes: [random(rng)] }));
  next('interval', 'repair', (rng) => ({ crashes: [{ kind: 'lose', nth: rng.int(20, 200) }] }));
  return out;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopAllChildren();
});

/** Replies answered per kind of request, and pushes, over every round (a round that saw none checks nothing). */
const exercised = { n: 0, GET: 0, HIST: 0, RANGE: 0, PUB: 0 };
/** Per crash: readings sent before the kill, shown, recovered, and what the recovery reported (printed at the end). */
const figures: {
  round: string;
  cycle: number;
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

/** Everything a round keeps across its cycles. */
interface Round {
  plan: Plan;
  rng: Rng;
  context: string;
  dataDir: string;
  markerPath: string;
  load: Workload;
  /** What clients of the finished cycles were shown. */
  seen: SeenReading[];
  polled: number[];
  /** Readings sent again after a restart, in all cycles: each one a duplicate for the server. */
  duplicates: number;
}

/** The preload options of a crash, if it needs one. */
function preloadOf(crash: Crash, marker: string): StoreServerOptions['crash'] {
  if (crash.kind === 'point') return { point: crash.point, nth: crash.nth, marker };
  if (crash.kind === 'lose') return { point: 'lose-log-writes', nth: crash.nth, marker };
  return undefined;
}

/** Restarts on the same port when it is still free; `samePort` false when something took it meanwhile. */
async function restart(
  round: Round,
  port: number,
  crash?: StoreServerOptions['crash'],
): Promise<{ server: StoreServer; samePort: boolean }> {
  const options = {
    dataDir: round.dataDir,
    fsync: round.plan.fsync,
    recovery: round.plan.recovery,
    ...(crash && { crash }),
  };
  try {
    return { server: await startStoreServer({ ...options, port }), samePort: true };
  } catch (err) {
    if (!/already in use/.test(String(err))) throw err;
    return { server: await startStoreServer(options), samePort: false };
  }
}

/**
 * Restarts with the preload armed at `point` of the recovery's checkpoint:
 * the process must be killed there, before it listens, with the marker and
 * the files to show it.
 */
async function crashInRecovery(round: Round, port: number, point: CrashPoint): Promise<void> {
  const marker = `${round.markerPath}.recovery`;
  let started: StoreServer | undefined;
  let failure = '';
  try {
    ({ server: started } = await restart(round, port, { point, nth: 1, marker }));
  } catch (err) {
    failure = String(err);
  }
  if (started !== undefined) {
    await started.child.stop();
    expect.fail(`the restart listened without reaching ${point}: its recovery wrote no checkpoint (${round.context})`);
  }
  expect(failure, round.context).toMatch(
    /process exited \({"code":null,"signal":"SIGKILL"}\) before the server start line/,
  );
  const found = readMarker(marker);
  expect(found, `the preload's marker in the recovery (${round.context})`).toMatchObject({ point, n: 1 });
  expectPointOnDisk(point, found!, listDataDir(round.dataDir));
}

/**
 * One crash cycle: observers on `server`, the load until the kill, the
 * restart, the checks, a few readings more and the checks again. Returns the
 * restarted server, or undefined after a `lose` crash (whose only check is
 * that the checks notice).
 */
async function crashCycle(round: Round, cycle: number, server: StoreServer): Promise<StoreServer | undefined> {
  const { plan, load, context } = round;
  const crash = plan.crashes[cycle]!;
  load.cycle = cycle;
  const observers = await Observers.start(server.port, load, round.rng.fork());
  cleanups.push(() => observers.close());

  // --- the load, until the kill (a random one waits until a client was shown something, or it checks nothing) ---
  let killed = false;
  const sent = await load.run(server.port, {
    maxReadings: crash.kind === 'random' ? crash.afterReadings + POINT_MAX_READINGS : POINT_MAX_READINGS,
    stop: () => killed || !server.child.running,
    onReading: (n) => {
      if (crash.kind === 'random' && !killed && n >= crash.afterReadings && observers.seen.length > 0) {
        killed = true;
        server.child.kill('SIGKILL');
      }
    },
  });
  if (crash.kind === 'random' && !killed) {
    await server.child.stop();
    expect.fail(`no client was shown any of ${sent} readings, so no kill (${context})`);
  }
  const preload = preloadOf(crash, round.markerPath);
  if (preload !== undefined && server.child.running && readMarker(preload.marker) === undefined) {
    await server.child.stop();
    expect.fail(
      `${preload.point} was not reached ${preload.nth} times in ${sent} readings: no crash happened (${context})`,
    );
  }
  expect(await server.child.exited, `the kill, cycle ${cycle} (${context})`).toEqual({ code: null, signal: 'SIGKILL' });
  if (crash.kind === 'point') {
    const marker = readMarker(round.markerPath);
    expect(marker, `the preload's marker (${context})`).toMatchObject({ point: crash.point, n: crash.nth });
    expectPointOnDisk(crash.point, marker!, listDataDir(round.dataDir));
  }
  await observers.pollersDone;
  // A random kill waited for a reading to be shown. A kill at a named point may come before any was (a
  // burst's checkpoint in the first turn that had output to write): then this cycle checks the store's
  // consistency, and the round's later cycles the readings shown.
  if (crash.kind !== 'point') {
    expect(observers.seen.length, `readings shown in cycle ${cycle} (${context})`).toBeGreaterThan(0);
  }
  const seenBefore = [...round.seen, ...observers.seen];
  const polledBefore = [...round.polled, ...observers.polled];

  // --- the restart ---
  if (cycle === 0 && plan.recoveryCrash !== undefined) await crashInRecovery(round, server.port, plan.recoveryCrash);
  const { server: next, samePort } = await restart(round, server.port);
  const client = await connect({ port: next.port });
  cleanups.push(() => client.close());
  const recovered = await readBack(client);
  if (crash.kind === 'lose') {
    // The store lost what it was shown: the checks must say so.
    const problems = findProblems({ truth: load.truth, seen: seenBefore, polled: polledBefore, ...recovered });
    expect(readMarker(round.markerPath), context).toMatchObject({ point: 'lose-log-writes' });
    expect(
      problems.filter((p) => / was shown \(.*\) and is not stored$/.test(p)).length,
      `${problems.length} problems found, ${problems.slice(0, 3).join('; ')} (${context})`,
    ).toBeGreaterThan(0);
    await observers.close();
    await client.close();
    await next.child.stop();
    return undefined;
  }
  expect(
    findProblems({ truth: load.truth, seen: seenBefore, polled: polledBefore, ...recovered }),
    `after the restart, cycle ${cycle} (${context})`,
  ).toEqual([]);
  let recoveredTotal = 0;
  for (const readings of recovered.stored.values()) recoveredTotal += readings.length;
  figures.push({
    round: plan.name.replace(/^.*\(round (\d+).*$/, '$1'),
    cycle,
    sent,
    shown: new Set(observers.seen.map((r) => `${r.name}#${r.seq}`)).size,
    recovered: recoveredTotal,
    bytesDropped: next.history.bytesDropped,
    recoveryMs: next.history.recoveryMs,
  });
  expect((await client.stats()).storage_readings_recovered, context).toBe(recoveredTotal);
  expect(next.history.readings, context).toBe(recoveredTotal);
  if (crash.kind === 'point' || plan.recoveryCrash !== undefined) {
    // Killed between two system calls, so no write was cut short: nothing to repair.
    expect(next.history.bytesDropped, context).toBe(0);
    expect(recoveredTotal, context).toBeGreaterThan(0);
  }
  expect(
    [...listDataDir(round.dataDir).keys()].filter((f) => f.endsWith('.tmp')),
    `no checkpoint .tmp left after a recovery (${context})`,
  ).toEqual([]);

  // --- a sender sends again some of the latest readings the server holds: duplicates, stored once ---
  // (Only sender-seqs above 16: a small one already seen reads as a sender that started over,
  // docs/PROTOCOL.md "Loss accounting".)
  const names = load.names;
  // Only once the subscribers are back: a sensor a subscriber has no resume point for gets no backlog.
  if (samePort) await observers.resubscribed();
  for (const name of names) {
    const count = round.rng.int(0, 3);
    const sent = load.truth.get(name)!;
    const again = (count === 0 ? [] : (recovered.stored.get(name) ?? []).slice(-count))
      .map((r) => ({ ...r, senderSeq: sent.get(truthKey(r.timestampMs, r.value))! }))
      .filter((r) => r.senderSeq > 16);
    if (again.length === 0) continue;
    await load.resend(next.port, name, again);
    round.duplicates += again.length;
  }

  // --- readings after the restart are numbered after everything before it ---
  const shownBefore = maxSeqs(seenBefore);
  const added = await load.sendEach(next.port, AFTER_RESTART);
  await expect
    .poll(
      async () => {
        const list = await client.list();
        return names.filter((name) => {
          const last = added.get(name)!.at(-1)!;
          return list.some((s) => s.name === name && s.lastTimestampMs === last.timestampMs);
        });
      },
      { timeout: 10_000, message: `every sensor's readings sent after the restart arrive (${context})` },
    )
    .toEqual(names);
  const final = await readBack(client);
  expect(
    findProblems({
      truth: load.truth,
      seen: [...round.seen, ...observers.seen],
      polled: [...round.polled, ...observers.polled],
      ...final,
    }),
    `after the readings sent after the restart, cycle ${cycle} (${context})`,
  ).toEqual([]);
  for (const name of names) {
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

  // --- loss counters: exactly the gaps in what is stored and the readings sent again; no late, no restart ---
  const stats = await client.stats();
  expect(
    { lost: stats.seq_lost, duplicate: stats.seq_duplicate, late: stats.seq_late, restarts: stats.seq_restarts },
    `STATS loss counters, cycle ${cycle} (${context})`,
  ).toEqual({ ...expectedLoss(load.truth, final.stored), duplicate: round.duplicates });
  expect(stats.sensors, context).toBe(names.length);

  // --- the resumed subscriber (`*`) gets the new readings too ---
  if (samePort) {
    const last = new Map(names.map((name) => [name, final.stored.get(name)!.at(-1)!.seq]));
    await expect
      .poll(
        () =>
          names.filter((name) =>
            observers.seen.some((r) => r.via === 'PUB *' && r.name === name && r.seq === last.get(name)),
          ),
        { timeout: 10_000, message: `the subscription to * resumes after the restart (${context})` },
      )
      .toEqual(names);
  }
  expect(observers.unexpected, context).toEqual([]);

  for (const kind of ['n', 'GET', 'HIST', 'RANGE'] as const) exercised[kind] += observers.answered[kind];
  exercised.PUB += observers.seen.filter((r) => r.via.startsWith('PUB')).length;
  await observers.close();
  await client.close();
  // (A loop, not push(...many): a cycle can show more readings than a call takes arguments.)
  for (const r of observers.seen) round.seen.push(r);
  for (const v of observers.polled) round.polled.push(v);
  return next;
}

async function crashRound(plan: Plan): Promise<void> {
  const rng = new Rng(plan.seed);
  const dir = mkdtempSync(join(tmpdir(), 'opc-crash-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const budget = plan.crashes.reduce(
    (sum, c) => sum + (c.kind === 'random' ? c.afterReadings : POINT_MAX_READINGS) + AFTER_RESTART * 20,
    0,
  );
  const load = await Workload.open(rng.fork(), { maxReadings: budget, cycles: plan.crashes.length });
  cleanups.push(() => load.close());
  const round: Round = {
    plan,
    rng,
    context: `${plan.name}, replay with ${REPLAY}`,
    dataDir: join(dir, 'data'),
    markerPath: join(dir, 'crash-point.json'),
    load,
    seen: [],
    polled: [],
    duplicates: 0,
  };
  const first = preloadOf(plan.crashes[0]!, round.markerPath);
  let server: StoreServer | undefined = await startStoreServer({
    dataDir: round.dataDir,
    fsync: plan.fsync,
    ...(first && { crash: first }),
  });
  for (let cycle = 0; cycle < plan.crashes.length && server !== undefined; cycle++) {
    server = await crashCycle(round, cycle, server);
  }
  if (server !== undefined) {
    server.child.kill('SIGTERM');
    expect(await server.child.exited, `a clean stop after the recoveries (${round.context})`).toEqual({
      code: 0,
      signal: null,
    });
  }
}

describe(`kill -9 under load (${REPLAY}, OPC_CRASH_ROUNDS=${ROUNDS})`, () => {
  for (const plan of plans()) {
    it(plan.name, () => crashRound(plan), 120_000);
  }

  afterAll(() => {
    console.info(`[crash] ${REPLAY} rounds=${ROUNDS} answered=${JSON.stringify(exercised)}`);
    const dropped = figures.filter((f) => f.bytesDropped !== 0).map((f) => `${f.round}.${f.cycle}`);
    console.info(
      `[crash] crashes whose recovery cut bytes away: ${dropped.length === 0 ? 'none' : dropped.join(', ')}`,
    );
    console.info(`[crash] per crash: ${JSON.stringify(figures)}`);
  });

  it('has shown readings through every kind of request and through pushes, over the rounds', () => {
    expect(exercised.n, 'answers to n').toBeGreaterThan(0);
    expect(exercised.GET, 'GET replies').toBeGreaterThan(0);
    expect(exercised.HIST, 'HIST replies').toBeGreaterThan(0);
    expect(exercised.RANGE, 'RANGE replies').toBeGreaterThan(0);
    expect(exercised.PUB, 'pushes').toBeGreaterThan(0);
  });
});
