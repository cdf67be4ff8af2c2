// How it works: the readings waiting to be published are kept in a
// directory, as the records of a write-ahead log (`@opc-lite/tsdb`'s `Wal`:
// segment files of CRC-checked frames, a torn tail truncated at open), and in
// memory, as the same bytes. Three record types (docs/CLUSTER.md, "The disk
// outbox"):
//
// - READINGS (1): a part, the readings of one event-loop turn (at most
//   `maxChunkReadings`), encoded as a batch whose origin is `outbox` and
//   whose batch seq is the part's id (1, 2, 3, ... in the order written);
// - TAKEN (2): part ids `first..last` form the batch `batchSeq` about to be
//   published (written, and with fsync `always` synced, before the publish);
// - ACKED (3): every part up to id `last` is stored in the stream.
//
// `add()` puts a reading in the turn's part; at the end of the turn (or when
// the part is full, or at `take()`) the part is appended and the log written
// with one write. In memory, parts are packed into groups of at most
// `maxChunkReadings` readings; `take()` hands out whole groups, re-encoded as
// one batch of the publishing node, so a batch is never a part's prefix and
// the records name it by part ids alone. `ack()` drops the batch's groups and
// deletes the segments that hold nothing still waiting.
//
// At open, the log is read back: parts up to the last ACKED are gone; if the
// last TAKEN covers parts not acked, that batch is given again, with the same
// batch seq, by the first `take()` (`recoveredBatchSeq`), so that the link can
// ask the stream whether it was stored before sending it again.

import { BatchEncoder, MAX_READING_BYTES, checkReading, decodeBatch } from '../codec/batch.js';
import { NodeFileSystem, Wal, type FileSystem, type FsyncMode, type ReplayReport } from '@opc-lite/tsdb';
import type { OutboxBatch, ReadingQueue } from './outbox.js';

/** Record types of the outbox log. */
export const OUTBOX_RECORDS = Object.freeze({ readings: 1, taken: 2, acked: 3 } as const);

/** The origin written in a part's batch header (the publishing node's own name goes in the batches it takes). */
const PART_ORIGIN = 'outbox';
/** Bytes of the length in front of each part in a group's buffer. */
const LENGTH_BYTES = 4;

/** Options of {@link DiskOutbox.open}. */
export interface DiskOutboxOptions {
  /** The outbox's directory (created if missing); it holds nothing but the outbox's segments. */
  dir: string;
  /** Past this many bytes held (the parts' encoded readings), `add()` refuses. */
  maxBytes: number;
  /** The most readings in one part and in one group, so in one batch taken (at least 1). */
  maxChunkReadings: number;
  /** `'always'`: fdatasync after each write; `'interval'`: every `fsyncIntervalMs`; `'off'`: never (default `'interval'`). */
  fsync?: FsyncMode;
  /** With `fsync: 'interval'`, how often (default 1000). */
  fsyncIntervalMs?: number;
  /** A segment is closed and a new one started past this many bytes (default 4 MiB). */
  segmentBytes?: number;
  /** The most bytes of one part or one group (default 64 KiB). */
  maxChunkBytes?: number;
  /** The file system (default: real files). */
  fs?: FileSystem;
  /** Told of a write or sync that failed: the readings stay in memory, not on disk. */
  onError?: (error: unknown, operation: 'write' | 'sync' | 'remove') => void;
}

/** What {@link DiskOutbox.open} found in the directory. */
export interface DiskOutboxRecovery {
  /** Readings found waiting (not acknowledged). */
  readings: number;
  /** Of them, the batch taken before the restart: its batch seq, else undefined. */
  batchSeq: number | undefined;
  /** Bytes cut away or skipped as damaged (a torn tail included). */
  bytesDropped: number;
  /** Damaged records skipped that were not the torn tail, and records that did not decode. */
  corruptRecords: number;
  /** Whether the last segment ended in a torn write (truncated away). */
  tornTail: boolean;
}

interface Group {
  firstId: number;
  lastId: number;
  count: number;
  buf: Uint8Array;
  used: number;
  /** The segment of its first part on disk; Infinity while none is. */
  segment: number;
}

interface Part {
  id: number;
  bytes: Uint8Array;
  count: number;
  segment: number;
}

function outboxError(message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? {} : { cause }), { code: 'ERR_OUTBOX_FORMAT' });
}

function encodeNumbers(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat64(i * 8, v, true));
  return out;
}

function decodeNumbers(payload: Uint8Array, count: number): number[] | undefined {
  if (payload.length !== count * 8) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = view.getFloat64(i * 8, true);
    if (!Number.isSafeInteger(v) || v < 0) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * A bounded queue of readings waiting to be published that survives a crash: what it took in and has not seen
 * acknowledged is in its directory at the end of the event-loop turn it arrived in, and is there again after a
 * restart. Open one directory from one process at a time.
 *
 * @example
 * ```ts
 * const { outbox, recovery } = DiskOutbox.open({ dir: './opc-data/cluster-outbox', maxBytes: 64 << 20, maxChunkReadings: 4096 });
 * // recovery.readings were waiting before the restart
 * outbox.add('ramp', 0.35, Date.now(), -1); // false (and counted) when maxBytes are held
 * const batch = outbox.take('node-a', 7, 4096, 512 * 1024);
 * // ... publish batch.bytes; once acknowledged:
 * outbox.ack();
 * outbox.close();
 * ```
 */
export class DiskOutbox implements ReadingQueue {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxChunkReadings: number;
  readonly #maxChunkBytes: number;
  readonly #wal: Wal;
  readonly #fsync: FsyncMode;
  readonly #onError: NonNullable<DiskOutboxOptions['onError']>;
  #groups: Group[] = [];
  #head = 0;
  /** The last group, while parts may still join it. */
  #open: Group | undefined;
  /** Groups that got their first part in the write being prepared: their segment is set once it is written. */
  #unplaced: Group[] = [];
  readonly #turn = new BatchEncoder();
  readonly #take = new BatchEncoder();
  #nextId = 1;
  #pending = 0;
  #heldBytes = 0;
  #dropped = 0;
  #inFlight: OutboxBatch | undefined;
  #inFlightGroups = 0;
  #inFlightLastId = 0;
  #recovered: { lastId: number; batchSeq: number } | undefined;
  #writeScheduled = false;
  #dirty = false;
  #syncing = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #writeFailures = 0;

  private constructor(wal: Wal, options: DiskOutboxOptions) {
    this.#wal = wal;
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.maxChunkReadings = options.maxChunkReadings;
    this.#maxChunkBytes = options.maxChunkBytes ?? 64 * 1024;
    this.#fsync = options.fsync ?? 'interval';
    this.#onError = options.onError ?? (() => {});
    if (this.#fsync === 'interval') {
      this.#timer = setInterval(() => this.#syncInBackground(), options.fsyncIntervalMs ?? 1000);
      this.#timer.unref();
    }
  }

  /**
   * Opens (or creates) the outbox in `options.dir` and reads back what it holds. Throws the file system's errors,
   * a `RangeError` for a bad option, and an `ERR_OUTBOX_FORMAT` error for a directory written by a newer format.
   */
  static open(options: DiskOutboxOptions): { outbox: DiskOutbox; recovery: DiskOutboxRecovery } {
    for (const [name, value, min] of [
      ['maxBytes', options.maxBytes, 1],
      ['maxChunkReadings', options.maxChunkReadings, 1],
      ['maxChunkBytes', options.maxChunkBytes ?? 64 * 1024, 1024],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < min) {
        throw Object.assign(new RangeError(`${name} must be an integer of at least ${min}, got ${String(value)}`), {
          code: 'ERR_OUT_OF_RANGE',
        });
      }
    }
    const fs = options.fs ?? new NodeFileSystem();
    const wal = Wal.open({ fs, dir: options.dir, segmentBytes: options.segmentBytes ?? 4 * 1024 * 1024 });
    let parts: Part[] = [];
    let first = 0;
    let ackedThrough = 0;
    let maxId = 0;
    let taken: { first: number; last: number; batchSeq: number } | undefined;
    let undecodable = 0;
    let report: ReplayReport;
    try {
      report = wal.replay(1, (type, payload, segment) => {
        if (type === OUTBOX_RECORDS.readings) {
          let batch;
          try {
            batch = decodeBatch(payload);
          } catch {
            undecodable++;
            return;
          }
          maxId = Math.max(maxId, batch.batchSeq);
          if (batch.batchSeq <= ackedThrough || batch.length === 0) return;
          parts.push({ id: batch.batchSeq, bytes: payload.slice(), count: batch.length, segment });
        } else if (type === OUTBOX_RECORDS.taken) {
          const n = decodeNumbers(payload, 3);
          if (n === undefined) undecodable++;
          else taken = { first: n[0]!, last: n[1]!, batchSeq: n[2]! };
        } else if (type === OUTBOX_RECORDS.acked) {
          const n = decodeNumbers(payload, 2);
          if (n === undefined) return void undecodable++;
          ackedThrough = Math.max(ackedThrough, n[0]!);
          while (first < parts.length && parts[first]!.id <= ackedThrough) first++;
          if (first > 1024 && first * 2 > parts.length) {
            parts = parts.slice(first);
            first = 0;
          }
        } else {
          throw outboxError(`${options.dir} holds a record of type ${type}: written by a newer version`);
        }
      });
    } catch (error) {
      wal.close();
      throw error;
    }
    const outbox = new DiskOutbox(wal, options);
    outbox.#nextId = Math.max(maxId, ackedThrough) + 1;
    const waiting = parts.slice(first);
    const head = waiting[0];
    let batchSeq: number | undefined;
    if (taken !== undefined && head !== undefined && taken.last >= head.id && taken.first <= head.id) {
      batchSeq = taken.batchSeq;
      outbox.#recovered = { lastId: taken.last, batchSeq };
    }
    for (const part of waiting) {
      // A group never spans the end of the recovered batch: the first take() gives exactly its parts.
      if (
        outbox.#recovered !== undefined &&
        outbox.#open !== undefined &&
        outbox.#open.lastId <= taken!.last &&
        part.id > taken!.last
      ) {
        outbox.#open = undefined;
      }
      outbox.#place(part.id, part.bytes, part.count, part.segment);
      outbox.#pending += part.count;
    }
    outbox.#unplaced = [];
    // New parts start a group of their own: none joins the recovered batch's.
    outbox.#open = undefined;
    return {
      outbox,
      recovery: {
        readings: outbox.#pending,
        batchSeq,
        bytesDropped: report.bytesDropped,
        corruptRecords: report.corruptRecords + undecodable,
        tornTail: report.tornTail,
      },
    };
  }

  /** Readings held: waiting, plus the batch in flight. */
  get pending(): number {
    return this.#pending;
  }

  /** Readings refused because `maxBytes` were held. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Bytes held: the waiting readings as encoded in their parts, the batch in flight included. */
  get bytes(): number {
    return this.#heldBytes + this.#turn.byteLength;
  }

  /** Bytes of the outbox's segment files (acknowledged records not yet deleted included). */
  get diskBytes(): number {
    return this.#wal.bytes();
  }

  /** Writes and syncs that failed (each told to `onError`). */
  get writeFailures(): number {
    return this.#writeFailures;
  }

  /** The batch taken and not yet acknowledged. */
  get inFlight(): OutboxBatch | undefined {
    return this.#inFlight;
  }

  /** Readings not yet in a batch. */
  get waiting(): number {
    return this.#pending - (this.#inFlight?.count ?? 0);
  }

  /** See `ReadingQueue.recoveredBatchSeq`. */
  get recoveredBatchSeq(): number | undefined {
    return this.#recovered?.batchSeq;
  }

  /**
   * Queues a reading; false (and counted in `dropped`) when `maxBytes` are held or after `close()`. Written at the
   * end of the turn. Throws a `TypeError`/`RangeError` for a reading that cannot be encoded.
   */
  add(name: string, value: number, timestampMs: number, senderSeq: number): boolean {
    checkReading(name, value, timestampMs, senderSeq);
    if (this.#closed || this.#heldBytes + this.#turn.byteLength >= this.maxBytes) {
      this.#dropped++;
      return false;
    }
    this.#turn.addChecked(name, value, timestampMs, senderSeq);
    this.#pending++;
    if (
      this.#turn.count >= this.maxChunkReadings ||
      this.#turn.byteLength + MAX_READING_BYTES + 84 > this.#maxChunkBytes
    ) {
      this.#endPart();
    }
    if (!this.#writeScheduled) {
      this.#writeScheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /**
   * Takes the oldest waiting groups, at most `maxReadings` readings and about `maxBytes` (at least one group), as
   * batch `batchSeq` of `origin`, writes that it did, and holds them in flight. A batch recovered at open comes
   * first, with its own batch seq. Undefined when nothing waits; throws when a batch is already in flight.
   */
  take(origin: string, batchSeq: number, maxReadings: number, maxBytes: number): OutboxBatch | undefined {
    if (this.#inFlight !== undefined) throw new Error('a batch is already in flight');
    this.#endPart();
    const groups = this.#groups;
    if (this.#head >= groups.length) {
      this.flush();
      return undefined;
    }
    const recovered = this.#recovered;
    this.#recovered = undefined;
    const seq = recovered?.batchSeq ?? batchSeq;
    const budget = maxBytes - MAX_READING_BYTES - 84;
    let n = 0;
    let count = 0;
    let bytes = 0;
    for (let i = this.#head; i < groups.length; i++) {
      const g = groups[i]!;
      if (recovered !== undefined) {
        if (g.firstId > recovered.lastId) break;
      } else if (n > 0 && (count + g.count > maxReadings || bytes + g.used > budget)) {
        break;
      }
      n++;
      count += g.count;
      bytes += g.used;
    }
    const encoder = this.#take;
    for (let i = this.#head; i < this.#head + n; i++) {
      const g = groups[i]!;
      const view = new DataView(g.buf.buffer, g.buf.byteOffset, g.used);
      for (let at = 0; at < g.used;) {
        const length = view.getUint32(at, true);
        const part = decodeBatch(g.buf.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + length));
        for (let k = 0; k < part.length; k++) {
          encoder.addChecked(part.names[k]!, part.values[k]!, part.timestampsMs[k]!, part.senderSeqs[k]!);
        }
        at += LENGTH_BYTES + length;
      }
    }
    const last = groups[this.#head + n - 1]!;
    if (this.#open === last) this.#open = undefined;
    this.#inFlight = { bytes: encoder.finish(origin, seq), batchSeq: seq, count };
    this.#inFlightGroups = n;
    this.#inFlightLastId = last.lastId;
    if (recovered === undefined) {
      this.#wal.append(OUTBOX_RECORDS.taken, encodeNumbers(groups[this.#head]!.firstId, last.lastId, seq));
    }
    // Before the publish: a batch published before a crash is known by its seq at the next start.
    this.flush();
    return this.#inFlight;
  }

  /** Releases the batch in flight (it was stored), writes that it was, and deletes segments nothing waits in. */
  ack(): void {
    const batch = this.#inFlight;
    if (batch === undefined) return;
    for (let i = 0; i < this.#inFlightGroups; i++) this.#heldBytes -= this.#groups[this.#head + i]!.used;
    this.#head += this.#inFlightGroups;
    this.#pending -= batch.count;
    this.#inFlight = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#groups.length) {
      this.#groups = this.#groups.slice(this.#head);
      this.#head = 0;
    }
    if (this.#closed) return;
    this.#wal.append(OUTBOX_RECORDS.acked, encodeNumbers(this.#inFlightLastId, batch.batchSeq));
    this.#write(false);
    const needed = this.#groups[this.#head]?.segment ?? this.#wal.currentSegment;
    const oldest = this.#wal.segments[0];
    if (needed !== undefined && Number.isFinite(needed) && oldest !== undefined && oldest < needed) {
      // The acked record durable before the segments go: else a power cut could leave the parts of that batch that
      // are in the kept segments without the record that says they are stored, and they would be sent again.
      if (this.#fsync !== 'off' && !this.#write(true)) return;
      try {
        this.#wal.removeBelow(needed);
      } catch (error) {
        this.#writeFailures++;
        this.#onError(error, 'remove');
      }
    }
  }

  /** Writes what this turn added (one write; an fdatasync too with fsync `'always'`). Cheap when nothing was. */
  flush(): void {
    this.#writeScheduled = false;
    if (this.#closed) return;
    this.#endPart();
    this.#write(this.#fsync === 'always');
  }

  /** Writes what is held, syncs it (unless fsync is `'off'`) and closes the files. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#fsync !== 'off' && this.#dirty) {
      try {
        this.#wal.sync();
      } catch (error) {
        this.#writeFailures++;
        this.#onError(error, 'sync');
      }
    }
    this.#wal.close();
  }

  #endPart(): void {
    const turn = this.#turn;
    if (turn.count === 0) return;
    const count = turn.count;
    const id = this.#nextId++;
    const bytes = turn.finish(PART_ORIGIN, id);
    this.#wal.append(OUTBOX_RECORDS.readings, bytes);
    this.#place(id, bytes, count, Infinity);
  }

  /** Puts a part in the open group, or in a new one. */
  #place(id: number, bytes: Uint8Array, count: number, segment: number): void {
    const size = LENGTH_BYTES + bytes.length;
    let g = this.#open;
    if (g === undefined || g.count + count > this.maxChunkReadings || g.used + size > this.#maxChunkBytes) {
      if (g !== undefined && g.used < g.buf.length) g.buf = g.buf.slice(0, g.used);
      g = { firstId: id, lastId: id, count: 0, buf: new Uint8Array(Math.max(size, 256)), used: 0, segment };
      this.#groups.push(g);
      this.#open = g;
      if (!Number.isFinite(segment)) this.#unplaced.push(g);
    }
    if (g.used + size > g.buf.length) {
      const next = new Uint8Array(Math.min(this.#maxChunkBytes, Math.max(g.used + size, g.buf.length * 2)));
      next.set(g.buf.subarray(0, g.used));
      g.buf = next;
    }
    new DataView(g.buf.buffer, g.buf.byteOffset, g.buf.byteLength).setUint32(g.used, bytes.length, true);
    g.buf.set(bytes, g.used + LENGTH_BYTES);
    g.used += size;
    g.count += count;
    g.lastId = id;
    this.#heldBytes += size;
  }

  /** Commits what is appended (and syncs it); false when that failed. */
  #write(sync: boolean): boolean {
    const wal = this.#wal;
    if (wal.pendingRecords === 0 && !(sync && this.#dirty)) return true;
    try {
      if (wal.commit() > 0) {
        this.#dirty = true;
        const segment = wal.currentSegment ?? Infinity;
        for (const g of this.#unplaced) if (!Number.isFinite(g.segment)) g.segment = segment;
      }
      this.#unplaced = [];
      if (sync) {
        wal.sync();
        this.#dirty = false;
      }
      return true;
    } catch (error) {
      // The readings stay in memory and are published as usual; only a crash would lose them now.
      this.#unplaced = [];
      this.#writeFailures++;
      this.#onError(error, 'write');
      return false;
    }
  }

  #syncInBackground(): void {
    if (!this.#dirty || this.#syncing || this.#closed) return;
    this.#syncing = true;
    this.#dirty = false;
    this.#wal.syncAsync().then(
      () => (this.#syncing = false),
      (error: unknown) => {
        this.#syncing = false;
        this.#dirty = true;
        this.#writeFailures++;
        this.#onError(error, 'sync');
      },
    );
  }
}
