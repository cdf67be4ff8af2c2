// How it works: readings wait in four parallel ring columns (names, values,
// timestamps, sender seqs), oldest at `head`. `take()` encodes the oldest
// readings, up to a count and a byte budget, into one batch and marks them in
// flight; they stay in the ring, still counted as pending, until `ack()`
// releases them, so a batch that must be sent again is the same bytes. The
// ring grows by doubling up to `maxPendingReadings`; past that `add()` refuses
// and counts the reading as dropped. At most one batch is in flight.

import { BatchEncoder, MAX_READING_BYTES, checkReading } from '../codec/batch.js';

/** A batch taken from the {@link Outbox}: its bytes, the batch seq written in it, and how many readings it holds. */
export interface OutboxBatch {
  readonly bytes: Uint8Array;
  readonly batchSeq: number;
  readonly count: number;
}

/**
 * What the link needs of the queue of readings waiting to be published: the in-memory {@link Outbox}, or the
 * `DiskOutbox` that also keeps them in a directory.
 */
export interface ReadingQueue {
  /** Readings held: waiting, plus the batch in flight. */
  readonly pending: number;
  /** Readings refused because the queue was full. */
  readonly dropped: number;
  /** The batch taken and not yet acknowledged. */
  readonly inFlight: OutboxBatch | undefined;
  /** Readings not yet in a batch. */
  readonly waiting: number;
  /** Bytes the queue holds on disk (0 for one in memory). */
  readonly bytes: number;
  /** Writes and syncs to disk that failed (0 for one in memory). */
  readonly writeFailures: number;
  /**
   * The batch seq of a batch taken before a restart and not known to be stored: the next `take()` gives that batch
   * again, with this seq, whatever seq it is asked for.
   */
  readonly recoveredBatchSeq: number | undefined;
  add(name: string, value: number, timestampMs: number, senderSeq: number): boolean;
  take(origin: string, batchSeq: number, maxReadings: number, maxBytes: number): OutboxBatch | undefined;
  ack(): void;
  /** Writes what is held and releases the files; nothing for one in memory. */
  close(): void;
}

/**
 * The bounded queue of readings waiting to be published, in memory.
 *
 * @example
 * ```ts
 * const outbox = new Outbox(100_000);
 * outbox.add('ramp', 0.35, Date.now(), -1); // true, or false (and counted) when full
 * const batch = outbox.take('node-a', 1, 1000, 512 * 1024);
 * // ... publish batch.bytes; once acknowledged:
 * outbox.ack();
 * ```
 */
export class Outbox implements ReadingQueue {
  readonly maxPendingReadings: number;
  #names: string[] = [];
  #values = new Float64Array(0);
  #ts = new Float64Array(0);
  #seqs = new Float64Array(0);
  #head = 0;
  #length = 0;
  #inFlight: OutboxBatch | undefined;
  #dropped = 0;
  readonly #encoder = new BatchEncoder();

  constructor(maxPendingReadings: number) {
    this.maxPendingReadings = maxPendingReadings;
    this.#resize(Math.min(1024, maxPendingReadings));
  }

  /** Readings held: waiting, plus the batch in flight. */
  get pending(): number {
    return this.#length;
  }

  /** Readings refused because the outbox was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The batch taken and not yet acknowledged. */
  get inFlight(): OutboxBatch | undefined {
    return this.#inFlight;
  }

  /** Readings not yet in a batch. */
  get waiting(): number {
    return this.#length - (this.#inFlight?.count ?? 0);
  }

  /** Always 0: this queue is in memory. */
  get bytes(): number {
    return 0;
  }

  /** Always 0: this queue is in memory. */
  get writeFailures(): number {
    return 0;
  }

  /** Always undefined: nothing survives a restart. */
  get recoveredBatchSeq(): undefined {
    return undefined;
  }

  /** Nothing to release. */
  close(): void {}

  /**
   * Queues a reading; false (and counted in `dropped`) when `maxPendingReadings` are already held. Throws a
   * `TypeError`/`RangeError` for a reading that cannot be encoded.
   */
  add(name: string, value: number, timestampMs: number, senderSeq: number): boolean {
    checkReading(name, value, timestampMs, senderSeq);
    if (this.#length >= this.maxPendingReadings) {
      this.#dropped++;
      return false;
    }
    if (this.#length === this.#names.length) this.#resize(Math.min(this.#names.length * 2, this.maxPendingReadings));
    const cap = this.#names.length;
    const i = (this.#head + this.#length) % cap;
    this.#names[i] = name;
    this.#values[i] = value;
    this.#ts[i] = timestampMs;
    this.#seqs[i] = senderSeq;
    this.#length++;
    return true;
  }

  /**
   * Encodes the oldest waiting readings, at most `maxReadings` and about `maxBytes`, as batch `batchSeq` of
   * `origin`, and holds them in flight. Undefined when nothing waits; throws when a batch is already in flight.
   */
  take(origin: string, batchSeq: number, maxReadings: number, maxBytes: number): OutboxBatch | undefined {
    if (this.#inFlight !== undefined) throw new Error('a batch is already in flight');
    if (this.#length === 0) return undefined;
    const cap = this.#names.length;
    const encoder = this.#encoder;
    const budget = maxBytes - MAX_READING_BYTES - 84;
    let n = 0;
    while (n < this.#length && n < maxReadings && (n === 0 || encoder.byteLength <= budget)) {
      const i = (this.#head + n) % cap;
      encoder.addChecked(this.#names[i] ?? '', this.#values[i] ?? 0, this.#ts[i] ?? 0, this.#seqs[i] ?? -1);
      n++;
    }
    this.#inFlight = { bytes: encoder.finish(origin, batchSeq), batchSeq, count: n };
    return this.#inFlight;
  }

  /** Releases the batch in flight: it was stored. */
  ack(): void {
    const batch = this.#inFlight;
    if (batch === undefined) return;
    const cap = this.#names.length;
    for (let k = 0; k < batch.count; k++) this.#names[(this.#head + k) % cap] = '';
    this.#head = (this.#head + batch.count) % cap;
    this.#length -= batch.count;
    this.#inFlight = undefined;
  }

  #resize(capacity: number): void {
    const oldCap = this.#names.length;
    const names = new Array<string>(capacity).fill('');
    const values = new Float64Array(capacity);
    const ts = new Float64Array(capacity);
    const seqs = new Float64Array(capacity);
    for (let k = 0; k < this.#length; k++) {
      const i = (this.#head + k) % oldCap;
      names[k] = this.#names[i] ?? '';
      values[k] = this.#values[i] ?? 0;
      ts[k] = this.#ts[i] ?? 0;
      seqs[k] = this.#seqs[i] ?? -1;
    }
    this.#names = names;
    this.#values = values;
    this.#ts = ts;
    this.#seqs = seqs;
    this.#head = 0;
  }
}
