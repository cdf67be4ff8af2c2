/**
 * The checks of a crash round, as pure functions over what was sent, what
 * the clients were shown and what the restarted server holds, each returning
 * the problems it found as sentences (an empty list when all is well), so a
 * failed round says everything that is wrong at once.
 *
 * The promise checked (docs/DURABILITY.md): after `kill -9`, in every fsync
 * mode, every reading any client was shown is stored with the same value,
 * timestamp and seq; per sensor the seqs are 1, 2, 3, ... with no duplicate
 * and no hole (the log keeps a prefix, docs/STORAGE.md "Durability modes");
 * every stored reading is one a sender sent, in the order it was sent.
 */
import type { Reading, SensorSummary } from '@opc-lite/protocol';
import type { SeenReading } from './observers.js';
import { truthKey, type GroundTruth } from './workload.js';

/** What the restarted server holds: per sensor, `RANGE name 0 now` (every reading, in reply order). */
export type StoredReadings = ReadonlyMap<string, readonly Reading[]>;

/** Everything {@link findProblems} compares. */
export interface CheckInput {
  /** What the senders sent. */
  readonly truth: GroundTruth;
  /** What clients were shown (full readings). */
  readonly seen: readonly SeenReading[];
  /** Answers to the legacy poll `n`: values of sensor `default`. */
  readonly polled: readonly number[];
  /** What the server holds now. */
  readonly stored: StoredReadings;
  /** Its `LIST`. */
  readonly list: readonly SensorSummary[];
}

const show = (r: { value: number; timestampMs: number; seq: number }): string =>
  `value ${r.value} ts ${r.timestampMs} seq ${r.seq}`;

/**
 * Every way the stored readings break the promise.
 *
 * @example
 * ```ts
 * expect(findProblems({ truth, seen, polled, stored, list }), `seed ${seed}`).toEqual([]);
 * ```
 */
export function findProblems(input: CheckInput): string[] {
  const problems: string[] = [];
  const bySeq = new Map<string, Map<number, Reading>>();

  for (const [name, readings] of input.stored) {
    const sent = input.truth.get(name);
    const seqs = new Map<number, Reading>();
    bySeq.set(name, seqs);
    if (sent === undefined) {
      problems.push(`${name}: stored, but no sender sent this sensor`);
      continue;
    }
    let previous: Reading | undefined;
    let previousSenderSeq = 0;
    for (const r of readings) {
      if (seqs.has(r.seq))
        problems.push(`${name}: seq ${r.seq} stored twice (${show(seqs.get(r.seq)!)} and ${show(r)})`);
      seqs.set(r.seq, r);
      if (previous !== undefined && r.seq <= previous.seq) {
        problems.push(
          `${name}: seq ${r.seq} comes after seq ${previous.seq} (seqs must rise with the timestamps sent)`,
        );
      }
      previous = r;
      const senderSeq = sent.get(truthKey(r.timestampMs, r.value));
      if (senderSeq === undefined) {
        problems.push(`${name}: stored ${show(r)}, which no sender sent`);
        continue;
      }
      if (senderSeq <= previousSenderSeq) {
        problems.push(
          `${name}: seq ${r.seq} holds sender-seq ${senderSeq}, not after the ${previousSenderSeq} before it`,
        );
      }
      previousSenderSeq = senderSeq;
    }
    for (let seq = 1; seq <= seqs.size; seq++) {
      if (!seqs.has(seq)) {
        problems.push(`${name}: seq ${seq} is missing from the ${seqs.size} stored (seqs must be 1..n)`);
        break;
      }
    }
  }

  // Every reading shown is there, the same; and no seq was shown as two different readings.
  const shown = new Map<string, SeenReading>();
  for (const r of input.seen) {
    const key = `${r.name}#${r.seq}`;
    const before = shown.get(key);
    if (before !== undefined) {
      if (before.value !== r.value || before.timestampMs !== r.timestampMs) {
        problems.push(
          `${r.name}: seq ${r.seq} was shown as ${show(before)} (${before.via}) and as ${show(r)} (${r.via})`,
        );
      }
      continue;
    }
    shown.set(key, r);
    const stored = bySeq.get(r.name)?.get(r.seq);
    if (stored === undefined) {
      problems.push(`${r.name}: ${show(r)} was shown (${r.via}) and is not stored`);
    } else if (stored.value !== r.value || stored.timestampMs !== r.timestampMs) {
      problems.push(`${r.name}: ${show(r)} was shown (${r.via}), but seq ${r.seq} is stored as ${show(stored)}`);
    }
  }

  const defaults = new Set([...(bySeq.get('default')?.values() ?? [])].map((r) => r.value));
  for (const value of new Set(input.polled)) {
    if (!defaults.has(value)) problems.push(`default: the poll n answered ${value}, which is not stored`);
  }

  // LIST agrees with the readings: count is the latest seq, and the latest reading is the one with it.
  const listed = new Map(input.list.map((s) => [s.name, s]));
  for (const [name, seqs] of bySeq) {
    const summary = listed.get(name);
    if (summary === undefined) {
      if (seqs.size > 0) problems.push(`${name}: ${seqs.size} readings stored, but LIST does not name it`);
      continue;
    }
    const last = seqs.get(summary.count);
    if (summary.count !== seqs.size) {
      problems.push(`${name}: LIST says count ${summary.count}, RANGE holds ${seqs.size} readings`);
    } else if (
      last !== undefined &&
      (last.value !== summary.lastValue || last.timestampMs !== summary.lastTimestampMs)
    ) {
      problems.push(
        `${name}: LIST says the latest is value ${summary.lastValue} ts ${summary.lastTimestampMs}, RANGE ends at ${show(last)}`,
      );
    }
  }
  for (const name of listed.keys()) {
    if (!bySeq.has(name)) problems.push(`${name}: LIST names it, but it was not read back`);
  }
  for (const name of new Set(input.seen.map((r) => r.name))) {
    if (!listed.has(name)) problems.push(`${name}: clients were shown readings of it, but LIST does not name it`);
  }
  return problems;
}

/** Loss counters as `STATS` sums them (docs/PROTOCOL.md, "Loss accounting"). */
export interface LossTotals {
  lost: number;
  duplicate: number;
  late: number;
  restarts: number;
}

/**
 * The loss counters the server should report for what it holds, when no
 * sender restarted, repeated or reordered anything: per sensor, the
 * sender-seqs from the first one stored to the last one stored that are not
 * stored. Readings lost to the crash (received, never written) and datagrams
 * sent while the server was down are exactly such gaps once a later reading
 * is stored.
 *
 * @example
 * ```ts
 * expect(lossOf(stats)).toEqual(expectedLoss(truth, stored));
 * ```
 */
export function expectedLoss(truth: GroundTruth, stored: StoredReadings): LossTotals {
  let lost = 0;
  for (const [name, readings] of stored) {
    const sent = truth.get(name);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const r of readings) {
      const senderSeq = sent?.get(truthKey(r.timestampMs, r.value));
      // A reading no sender sent is a problem findProblems reports; it has no sender-seq to count.
      if (senderSeq === undefined) continue;
      min = Math.min(min, senderSeq);
      max = Math.max(max, senderSeq);
    }
    if (max >= min) lost += max - min + 1 - readings.length;
  }
  return { lost, duplicate: 0, late: 0, restarts: 0 };
}
