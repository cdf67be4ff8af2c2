/**
 * The sensor store: the latest reading and a bounded history per sensor (ARCHITECTURE.md
 * "How a reading flows").
 *
 * How it works: a `Map` from sensor name to a {@link Sensor}. Each sensor
 * keeps two column ring buffers (value, timestamp), each one `Float64Array`
 * allocated when the sensor is created, so storing a reading writes two
 * numbers and allocates nothing. The server seq needs no column: it grows by
 * exactly 1 per stored reading, so the entry `k` places before the newest has
 * seq `seq - k`. A `Map` (not a plain object) makes `__proto__` and
 * `constructor` ordinary sensor names.
 */
import { Float64RingBuffer } from '@opc-lite/ring-buffer';
import { encodePollReply, type Reading, type SensorSummary } from '@opc-lite/protocol';
import { LossTracker, type LossCounts } from './loss.js';

/**
 * One sensor: its latest reading, its history and its loss counters. Read it
 * through {@link SensorStore.get}; only the store writes to it.
 *
 * @example
 * ```ts
 * const ramp = store.get('ramp');
 * if (ramp) console.log(ramp.lastValue, ramp.seq, ramp.history(20));
 * ```
 */
export class Sensor {
  /** The sensor name (PROTOCOL.md "Readings, names and numbers": 1 to 128 bytes of `A-Z a-z 0-9 _ . - /`). */
  readonly name: string;
  /** Index in creation order, from 0 (dense: usable as an array index). */
  readonly id: number;
  /** Server sequence number of the latest reading: per sensor, from 1, +1 per stored reading. 0 before any. */
  seq = 0;
  /** Value of the latest reading, NaN before any. */
  lastValue = Number.NaN;
  /** Timestamp (Unix epoch ms) of the latest reading, NaN before any. */
  lastTimestampMs = Number.NaN;
  /** Loss accounting from the sender's sequence numbers (see `loss.ts`). */
  readonly loss: LossCounts;
  /** @internal */
  readonly tracker: LossTracker;
  readonly #values: Float64RingBuffer;
  readonly #timestamps: Float64RingBuffer;
  #pollReply = '';
  #pollReplySeq = -1;
  /** Seq of the latest reading stored with a timestamp below the one before it (0: none). */
  #disorderSeq = 0;
  /** Fills the history from a durable store on first use (see {@link Sensor.restoreLazily}). */
  #loader: ((sensor: Sensor) => void) | undefined = undefined;

  /** @internal Created by {@link SensorStore}. */
  constructor(name: string, id: number, historyCapacity: number, totals: LossCounts) {
    this.name = name;
    this.id = id;
    this.#values = new Float64RingBuffer(historyCapacity);
    this.#timestamps = new Float64RingBuffer(historyCapacity);
    this.tracker = new LossTracker(totals);
    this.loss = this.tracker;
  }

  /**
   * The legacy `n` poll's reply for the latest reading (PROTOCOL.md "TCP commands and replies"), encoded once
   * per reading however many clients poll it.
   */
  pollReply(): string {
    if (this.#pollReplySeq !== this.seq) {
      this.#pollReply = encodePollReply(this.lastValue);
      this.#pollReplySeq = this.seq;
    }
    return this.#pollReply;
  }

  /** Readings stored since the sensor appeared (equals {@link seq}). */
  get count(): number {
    return this.seq;
  }

  /** Readings currently held in the history (at most the history capacity). */
  get size(): number {
    if (this.#loader !== undefined) this.#load();
    return this.#values.size;
  }

  /**
   * @internal Puts back a reading kept by a durable store, at server seq
   * `seq` (above the sensor's seq). A reading that does not follow the
   * newest one held by exactly one seq starts the history afresh, so the
   * history always holds consecutive seqs.
   */
  restore(value: number, timestampMs: number, seq: number): void {
    if (this.#loader !== undefined) this.#load();
    if (seq !== this.seq + 1) {
      this.#values.clear();
      this.#timestamps.clear();
      this.#disorderSeq = 0;
    }
    this.seq = seq - 1;
    this.append(value, timestampMs);
  }

  /**
   * @internal Sets the latest reading without a history entry: a durable store
   * that kept the sensor's last seq but no longer holds its readings.
   */
  restoreLatest(value: number, timestampMs: number, seq: number): void {
    this.#loader = undefined;
    this.#values.clear();
    this.#timestamps.clear();
    this.#disorderSeq = 0;
    this.seq = seq;
    this.lastValue = value;
    this.lastTimestampMs = timestampMs;
  }

  /**
   * @internal Sets the latest reading now and leaves the history to `load`,
   * called once, the first time anything reads the history or stores a
   * reading: a restart with many sensors answers `n`, `GET` and `LIST` at
   * once without decoding every sensor's history first. `load` puts the
   * readings back with {@link Sensor.restore}, oldest first, the last of them
   * at `seq`.
   */
  restoreLazily(value: number, timestampMs: number, seq: number, load: (sensor: Sensor) => void): void {
    this.restoreLatest(value, timestampMs, seq);
    this.#loader = load;
  }

  #load(): void {
    const load = this.#loader!;
    this.#loader = undefined;
    const [seq, value, timestampMs] = [this.seq, this.lastValue, this.lastTimestampMs];
    load(this);
    // Whatever the store still held, the latest reading stays the one it recorded.
    if (this.seq !== seq) this.restoreLatest(value, timestampMs, seq);
  }

  /** @internal Stores one reading; returns its server seq. Allocation-free. */
  append(value: number, timestampMs: number): number {
    if (this.#loader !== undefined) this.#load();
    if (timestampMs < this.lastTimestampMs) this.#disorderSeq = this.seq + 1;
    const seq = ++this.seq;
    this.lastValue = value;
    this.lastTimestampMs = timestampMs;
    this.#values.push(value);
    this.#timestamps.push(timestampMs);
    return seq;
  }

  /**
   * Whether the history held now is in timestamp order: no reading has a
   * timestamp below the one before it (readings arrive in seq order, and a
   * sender's timestamps may go back). Then seq order is (timestamp, seq)
   * order, and a time can be found by binary search.
   */
  get timeOrdered(): boolean {
    if (this.#loader !== undefined) this.#load();
    // The oldest held reading is at or after the latest one out of order: the pair it broke is gone.
    return this.seq - this.#values.size + 1 >= this.#disorderSeq;
  }

  /** Value of the history entry at `index` (0 = oldest held, -1 = newest), or undefined. */
  valueAt(index: number): number | undefined {
    if (this.#loader !== undefined) this.#load();
    return this.#values.at(index);
  }

  /** Timestamp (ms) of the history entry at `index`, or undefined. */
  timestampAt(index: number): number | undefined {
    if (this.#loader !== undefined) this.#load();
    return this.#timestamps.at(index);
  }

  /** Server seq of the history entry at `index`, or undefined. */
  seqAt(index: number): number | undefined {
    // Indexes as `Array.prototype.at` (and the value and timestamp columns) read them.
    const size = this.size;
    const truncated = Math.trunc(index) || 0;
    const i = truncated < 0 ? truncated + size : truncated;
    if (i < 0 || i >= size) return undefined;
    return this.seq - (size - 1 - i);
  }

  /**
   * Calls `fn` for the newest `n` readings held (fewer if the history is
   * shorter), oldest first, without building objects.
   */
  forEachRecent(n: number, fn: (value: number, timestampMs: number, seq: number) => void): void {
    const size = this.size;
    const count = Math.max(0, Math.min(Math.floor(n), size));
    for (let i = size - count; i < size; i++) {
      fn(this.#values.at(i)!, this.#timestamps.at(i)!, this.seq - (size - 1 - i));
    }
  }

  /** The latest reading as an object, or undefined before the first one. */
  latest(): Reading | undefined {
    if (this.seq === 0) return undefined;
    return { name: this.name, value: this.lastValue, timestampMs: this.lastTimestampMs, seq: this.seq };
  }

  /** The newest `n` readings held (all by default), oldest first. Allocates: for queries, not the hot path. */
  history(n: number = this.size): Reading[] {
    const out: Reading[] = [];
    this.forEachRecent(n, (value, timestampMs, seq) => out.push({ name: this.name, value, timestampMs, seq }));
    return out;
  }

  /** What `LIST` prints for this sensor. */
  summary(): SensorSummary {
    return { name: this.name, count: this.seq, lastTimestampMs: this.lastTimestampMs, lastValue: this.lastValue };
  }
}

/**
 * Options of a {@link SensorStore}.
 *
 * @example
 * ```ts
 * const options: SensorStoreOptions = { historyCapacity: 100, maxSensors: 10 };
 * ```
 */
export interface SensorStoreOptions {
  /** Readings kept per sensor (default 1000). */
  historyCapacity?: number;
  /** Sensors the store accepts; a reading for a new sensor past it is refused (default 10 000). */
  maxSensors?: number;
  /** Clock for readings that carry no timestamp, Unix epoch ms (default `Date.now`). */
  now?: () => number;
  /** Called once when a sensor is created, before its first reading is stored (not for {@link SensorStore.restore}). */
  onSensor?: (sensor: Sensor) => void;
  /** Called after each reading is stored, with its sender-seq (-1 for none): a durable store writes both there. */
  onReading?: (sensor: Sensor, senderSeq: number) => void;
  /**
   * Called when a reading's sender-seq was not the next one after the last
   * (a gap, a duplicate, a late one, a restart, the first one, or none after
   * some): the loss state changed in a way that counting alone cannot
   * replay. `replayable` tells whether the reading was stored (then its
   * sender-seq, kept with it, replays the change) or not (a duplicate: only
   * a saved `sensor.tracker` keeps it).
   */
  onLossState?: (sensor: Sensor, replayable: boolean) => void;
}

/**
 * Why {@link SensorStore.ingest} did not store a reading.
 *
 * @example
 * ```ts
 * if (!store.ingest('a', 1, Number.NaN, 7)) console.log(store.lastDropReason satisfies IngestDropReason);
 * ```
 */
export type IngestDropReason = 'duplicate' | 'too-many-sensors';

/**
 * All sensors of a server.
 *
 * @example
 * ```ts
 * const store = new SensorStore({ historyCapacity: 100 });
 * store.ingest('ramp', 0.5, Number.NaN, -1); // NaN timestamp = now, -1 = no sender-seq
 * store.get('ramp')?.lastValue; // 0.5
 * ```
 */
export class SensorStore {
  /** Readings kept per sensor. */
  readonly historyCapacity: number;
  /** Most sensors the store accepts. */
  readonly maxSensors: number;
  /** Loss counters summed over all sensors. */
  readonly loss: LossCounts = { lost: 0, duplicate: 0, late: 0, restarts: 0 };
  /**
   * Why the last {@link ingest} call returned undefined (meaningful only
   * right after such a call; read it instead of allocating a result object).
   */
  lastDropReason: IngestDropReason | undefined = undefined;
  readonly #sensors = new Map<string, Sensor>();
  readonly #byId: Sensor[] = [];
  readonly #now: () => number;
  readonly #onSensor: ((sensor: Sensor) => void) | undefined;
  readonly #onReading: ((sensor: Sensor, senderSeq: number) => void) | undefined;
  readonly #onLossState: ((sensor: Sensor, replayable: boolean) => void) | undefined;

  constructor(options: SensorStoreOptions = {}) {
    this.historyCapacity = options.historyCapacity ?? 1000;
    this.maxSensors = options.maxSensors ?? 10_000;
    if (!Number.isInteger(this.historyCapacity) || this.historyCapacity < 1 || this.historyCapacity > 2 ** 31 - 1) {
      throw new RangeError(`historyCapacity must be an integer from 1 to 2147483647 (got ${this.historyCapacity})`);
    }
    if (!Number.isInteger(this.maxSensors) || this.maxSensors < 0) {
      throw new RangeError(`maxSensors must be a non-negative integer (got ${this.maxSensors})`);
    }
    this.#now = options.now ?? Date.now;
    this.#onSensor = options.onSensor;
    this.#onReading = options.onReading;
    this.#onLossState = options.onLossState;
  }

  /** Number of sensors. */
  get size(): number {
    return this.#sensors.size;
  }

  /**
   * Stores one reading, creating its sensor on first sight. `timestampMs` NaN
   * means "now" (the store's clock); `senderSeq` -1 means none was sent.
   * Returns the sensor the reading was stored in, or undefined when it was
   * not stored ({@link lastDropReason} says why). The name is not validated
   * here: the parser already did.
   */
  ingest(name: string, value: number, timestampMs: number, senderSeq: number): Sensor | undefined {
    let sensor = this.#sensors.get(name);
    if (sensor === undefined) {
      if (this.#sensors.size >= this.maxSensors) {
        this.lastDropReason = 'too-many-sensors';
        return undefined;
      }
      sensor = new Sensor(name, this.#byId.length, this.historyCapacity, this.loss);
      this.#sensors.set(name, sensor);
      this.#byId.push(sensor);
      this.#onSensor?.(sensor);
    }
    const tracker = sensor.tracker;
    const before = tracker.lastSenderSeq;
    const stored = tracker.observe(senderSeq);
    if (this.#onLossState !== undefined && (senderSeq < 0 ? before >= 0 : before < 0 || senderSeq !== before + 1)) {
      this.#onLossState(sensor, stored);
    }
    if (!stored) {
      this.lastDropReason = 'duplicate';
      return undefined;
    }
    sensor.append(value, timestampMs === timestampMs ? timestampMs : this.#now());
    this.#onReading?.(sensor, senderSeq);
    return sensor;
  }

  /**
   * Creates a sensor with no reading, for a durable store to fill with what it
   * kept (`Sensor.restore`). Not limited by `maxSensors` (they existed before),
   * and no `onSensor` call. Throws if the name exists.
   */
  restore(name: string): Sensor {
    if (this.#sensors.has(name)) throw new RangeError(`sensor ${name} already exists`);
    const sensor = new Sensor(name, this.#byId.length, this.historyCapacity, this.loss);
    this.#sensors.set(name, sensor);
    this.#byId.push(sensor);
    return sensor;
  }

  /** The sensor called `name`, or undefined. */
  get(name: string): Sensor | undefined {
    return this.#sensors.get(name);
  }

  /** Whether a sensor called `name` exists. */
  has(name: string): boolean {
    return this.#sensors.has(name);
  }

  /** The sensor with creation index `id`, or undefined. */
  byId(id: number): Sensor | undefined {
    return this.#byId[id];
  }

  /** Sensors in creation order, optionally filtered by a name predicate (e.g. a compiled pattern). */
  list(filter?: (name: string) => boolean): Sensor[] {
    if (filter === undefined) return this.#byId.slice();
    return this.#byId.filter((s) => filter(s.name));
  }

  /** Sensors in creation order. */
  [Symbol.iterator](): IterableIterator<Sensor> {
    return this.#byId.values();
  }
}
