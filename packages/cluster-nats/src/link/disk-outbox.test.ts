import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { FaultyFileSystem, createRng } from '@opc-lite/tsdb';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBatch, toReadings, type Reading } from '../codec/batch.js';
import { DiskOutbox, type DiskOutboxOptions } from './disk-outbox.js';

const DIR = '/data/cluster-outbox';
const opened: DiskOutbox[] = [];

afterEach(() => {
  for (const outbox of opened.splice(0)) outbox.close();
});

function open(fs: FaultyFileSystem, options: Partial<DiskOutboxOptions> = {}): ReturnType<typeof DiskOutbox.open> {
  const result = DiskOutbox.open({ dir: DIR, fs, maxBytes: 1 << 20, maxChunkReadings: 50, fsync: 'off', ...options });
  opened.push(result.outbox);
  return result;
}

/** A fresh file system holding only what `fs` holds now (what a process crash leaves: every write, synced or not). */
function copyOf(fs: FaultyFileSystem, cut?: { path: string; length: number }): FaultyFileSystem {
  const files = fs.readdir(DIR).map((name): [string, Uint8Array] => {
    const path = join(DIR, name);
    const bytes = fs.readFile(path);
    return [path, cut?.path === path ? bytes.subarray(0, cut.length) : bytes];
  });
  return new FaultyFileSystem({ files, dirs: [DIR] });
}

const reading = (i: number): Reading => ({
  name: `plant/s${i % 5}`,
  value: i / 4,
  timestampMs: 1_764_316_800_000 + i * 10,
  senderSeq: i % 3 === 0 ? -1 : i,
});

function add(outbox: DiskOutbox, from: number, to: number): Reading[] {
  const added: Reading[] = [];
  for (let i = from; i < to; i++) {
    const r = reading(i);
    if (outbox.add(r.name, r.value, r.timestampMs, r.senderSeq)) added.push(r);
  }
  return added;
}

/** Takes and acknowledges everything, first batch seq `seq`; the batches given. */
function drain(
  outbox: DiskOutbox,
  seq = 1,
  maxReadings = 1_000_000,
): Array<{ batchSeq: number; origin: string; readings: Reading[] }> {
  const out = [];
  for (;;) {
    const batch = outbox.take('node-a', seq++, maxReadings, 64 << 20);
    if (batch === undefined) return out;
    const decoded = decodeBatch(batch.bytes);
    expect(decoded.length).toBe(batch.count);
    out.push({ batchSeq: batch.batchSeq, origin: decoded.origin, readings: toReadings(decoded) });
    outbox.ack();
  }
}

describe('DiskOutbox', () => {
  it('gives back after a restart every reading it held, in order, as batches of the node that takes them', () => {
    const fs = new FaultyFileSystem();
    const { outbox, recovery: first } = open(fs);
    expect(first).toMatchObject({ readings: 0, batchSeq: undefined, tornTail: false });
    const added = add(outbox, 0, 120);
    outbox.flush();
    expect(outbox.pending).toBe(120);
    expect(outbox.bytes).toBeGreaterThan(0);

    const { outbox: again, recovery } = open(copyOf(fs));
    expect(recovery).toMatchObject({ readings: 120, batchSeq: undefined, bytesDropped: 0, corruptRecords: 0 });
    expect(again.bytes).toBe(outbox.bytes);
    const batches = drain(again, 1, 50);
    expect(batches.every((b) => b.origin === 'node-a')).toBe(true);
    expect(batches.flatMap((b) => b.readings)).toEqual(added);
    expect(batches.map((b) => b.readings.length)).toEqual([50, 50, 20]);
  });

  it('writes the readings of a turn at its end, without being asked', async () => {
    const fs = new FaultyFileSystem();
    const { outbox } = open(fs);
    const added = add(outbox, 0, 3);
    expect(open(copyOf(fs)).recovery.readings).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(drain(open(copyOf(fs)).outbox).flatMap((b) => b.readings)).toEqual(added);
  });

  it('gives a batch taken and not acknowledged before a restart again, with its batch seq and readings', () => {
    const fs = new FaultyFileSystem();
    const { outbox } = open(fs);
    const added = add(outbox, 0, 140);
    const taken = outbox.take('node-a', 41, 60, 64 << 20);
    expect(taken?.batchSeq).toBe(41);
    const readings = toReadings(decodeBatch(taken!.bytes));

    const { outbox: again, recovery } = open(copyOf(fs));
    expect(recovery).toMatchObject({ readings: 140, batchSeq: 41 });
    expect(again.recoveredBatchSeq).toBe(41);
    // Whatever seq is asked for, the recovered batch comes first with its own, and the same readings.
    const retaken = again.take('node-a', 7, 1000, 64 << 20);
    expect(retaken?.batchSeq).toBe(41);
    expect(again.recoveredBatchSeq).toBeUndefined();
    expect(toReadings(decodeBatch(retaken!.bytes))).toEqual(readings);
    again.ack();
    expect(drain(again, 42).flatMap((b) => b.readings)).toEqual(added.slice(readings.length));
  });

  it('gives a recovered batch without the readings added after the restart, even when it held every reading', () => {
    const fs = new FaultyFileSystem();
    const { outbox } = open(fs);
    const added = add(outbox, 0, 30);
    outbox.take('node-a', 5, 1000, 64 << 20);
    const { outbox: again } = open(copyOf(fs));
    const later = add(again, 30, 35);
    const retaken = again.take('node-a', 9, 1000, 64 << 20);
    expect(retaken?.batchSeq).toBe(5);
    // The stream may hold batch 5 already: acknowledging it must not take the later readings with it.
    expect(toReadings(decodeBatch(retaken!.bytes))).toEqual(added);
    again.ack();
    expect(drain(again, 6).flatMap((b) => b.readings)).toEqual(later);
  });

  it('forgets acknowledged batches across a restart', () => {
    const fs = new FaultyFileSystem();
    const { outbox } = open(fs);
    const added = add(outbox, 0, 90);
    const taken = outbox.take('node-a', 1, 40, 64 << 20)!;
    outbox.ack();
    const { recovery, outbox: again } = open(copyOf(fs));
    expect(recovery).toMatchObject({ batchSeq: undefined, readings: 90 - taken.count });
    expect(drain(again).flatMap((b) => b.readings)).toEqual(added.slice(taken.count));
  });

  it('after a cut at any byte of its last write, holds the state of the last whole write, and goes on', () => {
    const fs = new FaultyFileSystem();
    const { outbox } = open(fs, { maxChunkReadings: 4 });
    const path = join(DIR, '00000001');
    // After each write: the file's length, the readings waiting and the batch seq in flight.
    const states: Array<{ length: number; waiting: Reading[]; batchSeq: number | undefined }> = [];
    let waiting: Reading[] = [];
    let inFlight: { batchSeq: number; count: number } | undefined;
    const record = (): void => {
      states.push({ length: fs.size(path), waiting: [...waiting], batchSeq: inFlight?.batchSeq });
    };
    let next = 0;
    let seq = 1;
    for (const step of ['add', 'add', 'take', 'add', 'ack', 'add', 'take', 'ack', 'add', 'take', 'add'] as const) {
      if (step === 'add') {
        waiting.push(...add(outbox, next, next + 3));
        next += 3;
        outbox.flush();
      } else if (step === 'take') {
        const batch = outbox.take('node-a', seq++, 6, 64 << 20)!;
        inFlight = { batchSeq: batch.batchSeq, count: batch.count };
      } else {
        outbox.ack();
        waiting = waiting.slice(inFlight!.count);
        inFlight = undefined;
      }
      record();
    }
    const full = fs.size(path);
    expect(states.at(-1)?.length).toBe(full);
    for (let length = 0; length <= full; length++) {
      // Before the first write, the file is its 16-byte header.
      const state = states.findLast((s) => s.length <= length) ?? { length: 16, waiting: [], batchSeq: undefined };
      const cutFs = copyOf(fs, { path, length });
      const { outbox: again, recovery } = open(cutFs, { maxChunkReadings: 4 });
      expect(recovery.readings, `cut at ${length}`).toBe(state.waiting.length);
      expect(recovery.batchSeq, `cut at ${length}`).toBe(state.batchSeq);
      expect(recovery.tornTail, `cut at ${length}`).toBe(length > state.length || (length > 0 && length < 16));
      // It goes on after the cut: a reading added now comes after the recovered ones, across one more restart.
      const late = add(again, 1000, 1001);
      again.close();
      const batches = drain(open(copyOf(cutFs), { maxChunkReadings: 4 }).outbox, 100);
      if (state.batchSeq !== undefined) expect(batches[0]?.batchSeq, `cut at ${length}`).toBe(state.batchSeq);
      expect(
        batches.flatMap((b) => b.readings),
        `cut at ${length}`,
      ).toEqual([...state.waiting, ...late]);
    }
  });

  it('matches a model of its queue across restarts at any point', () => {
    type Op = { kind: 'add'; count: number } | { kind: 'take'; max: number } | { kind: 'ack' } | { kind: 'restart' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), count: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ kind: fc.constant('take' as const), max: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('ack' as const) }),
      fc.record({ kind: fc.constant('restart' as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 60 }), (chunk, ops) => {
        let fs = new FaultyFileSystem();
        const options = { maxChunkReadings: chunk, segmentBytes: 512 };
        let outbox = open(fs, options).outbox;
        let model: Reading[] = [];
        let inFlight: { batchSeq: number; count: number } | undefined;
        // The batch in flight at the last restart, given again by the next take.
        let recovered: number | undefined;
        let next = 0;
        let seq = 1;
        for (const o of ops) {
          if (o.kind === 'add') {
            model.push(...add(outbox, next, next + o.count));
            next += o.count;
          } else if (o.kind === 'take') {
            if (inFlight !== undefined) continue;
            const batch = outbox.take('node-a', seq, o.max, 64 << 20);
            if (batch === undefined) {
              expect(model).toHaveLength(0);
              continue;
            }
            expect(batch.batchSeq).toBe(recovered ?? seq);
            // A recovered batch is given whole, as it was taken before the restart.
            if (recovered === undefined) expect(batch.count).toBeLessThanOrEqual(Math.max(o.max, chunk));
            recovered = undefined;
            seq = batch.batchSeq + 1;
            expect(toReadings(decodeBatch(batch.bytes))).toEqual(model.slice(0, batch.count));
            inFlight = { batchSeq: batch.batchSeq, count: batch.count };
          } else if (o.kind === 'ack') {
            if (inFlight === undefined) continue;
            outbox.ack();
            model = model.slice(inFlight.count);
            inFlight = undefined;
          } else {
            outbox.flush();
            fs = copyOf(fs);
            const reopened = open(fs, options);
            outbox = reopened.outbox;
            expect(reopened.recovery.readings).toBe(model.length);
            recovered = inFlight?.batchSeq ?? recovered;
            expect(reopened.recovery.batchSeq).toBe(recovered);
            expect(outbox.recoveredBatchSeq).toBe(recovered);
            // The batch in flight is given again by the next take: it is waiting again, as in the model.
            inFlight = undefined;
          }
          expect(outbox.pending).toBe(model.length);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('deletes the segments whose readings were all acknowledged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opc-outbox-'));
    try {
      const real = (): ReturnType<typeof DiskOutbox.open> => {
        const result = DiskOutbox.open({ dir, maxBytes: 1 << 20, maxChunkReadings: 20, segmentBytes: 1024 });
        opened.push(result.outbox);
        return result;
      };
      const { outbox } = real();
      for (let turn = 0; turn < 30; turn++) {
        add(outbox, turn * 20, turn * 20 + 20);
        outbox.flush();
      }
      const segments = readdirSync(dir).length;
      expect(segments).toBeGreaterThan(5);
      // Half acknowledged: the segments before the oldest waiting reading go, the others stay.
      for (let k = 0; k < 15; k++) {
        outbox.take('node-a', k + 1, 20, 64 << 20);
        outbox.ack();
      }
      const half = readdirSync(dir).length;
      expect(half).toBeLessThan(segments);
      expect(half).toBeGreaterThan(1);
      expect(outbox.diskBytes).toBeLessThan(1024 * half + 1);
      drain(outbox, 16);
      expect(readdirSync(dir)).toHaveLength(1);
      outbox.close();
      expect(real().recovery.readings).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses and counts readings past its byte bound, held across a restart, and takes them again once freed', () => {
    const fs = new FaultyFileSystem();
    const { outbox } = open(fs, { maxBytes: 2000 });
    const accepted = add(outbox, 0, 500).length;
    expect(accepted).toBeGreaterThan(50);
    expect(accepted).toBeLessThan(500);
    expect(outbox.dropped).toBe(500 - accepted);
    expect(outbox.bytes).toBeLessThan(2000 + 200);
    outbox.flush();

    const { outbox: again } = open(copyOf(fs), { maxBytes: 2000 });
    expect(again.add('x', 1, 1, -1)).toBe(false);
    expect(again.dropped).toBe(1);
    again.take('node-a', 1, 1_000_000, 64 << 20);
    expect(again.add('x', 1, 1, -1)).toBe(false); // the batch in flight still counts
    again.ack();
    expect(again.bytes).toBe(0);
    expect(again.add('x', 1, 1, -1)).toBe(true);
  });

  it('keeps readings in memory when a write fails, and says so', () => {
    const fs = new FaultyFileSystem();
    const errors: string[] = [];
    const { outbox } = open(fs, { onError: (err, operation) => errors.push(`${operation} ${String(err)}`) });
    fs.failNext('write', 'ENOSPC');
    const added = add(outbox, 0, 10);
    outbox.flush();
    expect(errors).toEqual([expect.stringMatching(/^write .*ENOSPC/)]);
    expect(outbox.writeFailures).toBe(1);
    const later = add(outbox, 10, 20);
    outbox.flush();
    expect(drain(outbox).flatMap((b) => b.readings)).toEqual([...added, ...later]);
  });

  it("with fsync 'always', has its readings and the batch it takes on the disk before it returns", () => {
    const fs = new FaultyFileSystem();
    const { outbox } = open(fs, { fsync: 'always' });
    add(outbox, 0, 30);
    outbox.flush();
    const afterFlush = new FaultyFileSystem({ files: fs.snapshotDurable(), dirs: [DIR] });
    expect(open(afterFlush).recovery.readings).toBe(30);
    outbox.take('node-a', 9, 10, 64 << 20);
    const afterTake = new FaultyFileSystem({ files: fs.snapshotDurable(), dirs: [DIR] });
    expect(open(afterTake).recovery.batchSeq).toBe(9);
  });

  it("with fsync 'always', keeps through any power cut what it wrote, and a batch it acknowledged only as that batch", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = createRng(seed);
      const fs = new FaultyFileSystem();
      const options = { fsync: 'always' as const, maxChunkReadings: 4, segmentBytes: 300 };
      const { outbox } = open(fs, options);
      const all: Reading[] = [];
      /** After each acknowledged batch: how many readings were acknowledged then, and the batch's seq. */
      const acks: Array<{ acked: number; batchSeq: number }> = [];
      let inFlight: { batchSeq: number; count: number } | undefined;
      let seq = 1;
      for (let step = 5 + rng(40); step > 0; step--) {
        const op = rng(3);
        if (op === 0) {
          all.push(...add(outbox, all.length, all.length + 1 + rng(6)));
          outbox.flush();
        } else if (op === 1 && inFlight === undefined) {
          const batch = outbox.take('node-a', seq++, 1 + rng(10), 64 << 20);
          if (batch !== undefined) inFlight = { batchSeq: batch.batchSeq, count: batch.count };
        } else if (op === 2 && inFlight !== undefined) {
          outbox.ack();
          acks.push({ acked: (acks.at(-1)?.acked ?? 0) + inFlight.count, batchSeq: inFlight.batchSeq });
          inFlight = undefined;
        }
      }
      const image = fs.crash(rng, rng(2) === 0 ? 'prefix' : 'subset');
      const { outbox: again, recovery } = open(image, options);
      const got = drain(again, 1000).flatMap((b) => b.readings);
      const acked = acks.at(-1)?.acked ?? 0;
      if (got.length === all.length - acked) {
        expect(got, `seed ${seed}`).toEqual(all.slice(acked));
      } else {
        // The last acknowledged record lost with the power: that whole batch is back, as the batch it was, so that
        // the stream is asked for it before it is sent again.
        expect(got, `seed ${seed}`).toEqual(all.slice(acks.at(-2)?.acked ?? 0));
        expect(recovery.batchSeq, `seed ${seed}`).toBe(acks.at(-1)?.batchSeq);
      }
    }
  });

  it("with fsync 'off', gives back after any power cut readings it took, in their order, none altered or made up", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = createRng(seed);
      const fs = new FaultyFileSystem();
      const options = { fsync: 'off' as const, maxChunkReadings: 4, segmentBytes: 300 };
      const { outbox } = open(fs, options);
      const all: Reading[] = [];
      let inFlight = false;
      for (let step = 5 + rng(40); step > 0; step--) {
        const op = rng(3);
        if (op === 0) {
          all.push(...add(outbox, all.length, all.length + 1 + rng(6)));
          outbox.flush();
        } else if (op === 1 && !inFlight) {
          inFlight = outbox.take('node-a', step, 1 + rng(10), 64 << 20) !== undefined;
        } else if (op === 2 && inFlight) {
          outbox.ack();
          inFlight = false;
        }
      }
      const image = fs.crash(rng, rng(2) === 0 ? 'prefix' : 'subset');
      const got = drain(open(image, options).outbox, 1000).flatMap((b) => b.readings);
      // A subsequence of what was taken in: the readings carry their index as their value.
      let at = 0;
      for (const r of got) {
        const i = all.findIndex((a, k) => k >= at && a.value === r.value);
        expect(i, `seed ${seed}`).toBeGreaterThanOrEqual(0);
        expect(r, `seed ${seed}`).toEqual(all[i]);
        at = i + 1;
      }
    }
  });

  it("with fsync 'off', leaves the syncing to the operating system", () => {
    const fs = new FaultyFileSystem();
    const { outbox } = open(fs, { fsync: 'off' });
    add(outbox, 0, 30);
    outbox.flush();
    const durable = new FaultyFileSystem({ files: fs.snapshotDurable(), dirs: [DIR] });
    expect(open(durable).recovery.readings).toBe(0);
  });

  it('refuses to open a directory with records it does not know', () => {
    const fs = new FaultyFileSystem();
    const { outbox } = open(fs);
    add(outbox, 0, 3);
    outbox.close();
    const bytes = fs.readFile(join(DIR, '00000001'));
    // The first record made a type 9, with a checksum as a writer of that type would compute it.
    expect(bytes[16 + 1]).toBe(1);
    const forged = new FaultyFileSystem({ files: [[join(DIR, '00000001'), retype(bytes, 16, 9)]], dirs: [DIR] });
    expect(() => open(forged)).toThrow(/record of type 9: written by a newer version/);
  });
});

/** The frame at `at` with its type changed and its CRC made right again (docs/STORAGE.md, "Write-ahead log"). */
function retype(bytes: Uint8Array, at: number, type: number): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const length = view.getUint32(at + 2, true);
  out[at + 1] = type;
  const covered = new Uint8Array(5 + length);
  covered.set(out.subarray(at + 1, at + 6), 0);
  covered.set(out.subarray(at + 10, at + 10 + length), 5);
  view.setUint32(at + 6, crc32(covered), true);
  return out;
}
