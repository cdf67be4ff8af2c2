/**
 * Durable history: the server's sensors kept in an `@opc-lite/tsdb` store
 * (docs/ARCHITECTURE.md, "Durable history"; the promise it keeps:
 * docs/DURABILITY.md).
 *
 * How it works: the sensor store calls {@link Storage.onReading} after each
 * reading it stores, which appends it to the tsdb (buffered, no I/O). Before
 * any session hands output to its socket, {@link Storage.commit} writes what
 * is buffered to the log with one write, so a reading is in the log (and,
 * with `fsync: 'always'`, on the disk) before any client can be shown it.
 * Readings nobody is shown yet are written `writeDelayMs` after the first of
 * them arrived (or at the end of the turn once `MAX_UNWRITTEN` are waiting):
 * under a flat-out load of one reading per datagram that is one write per
 * few thousand readings instead of one per turn of a few dozen.
 *
 * A sensor's loss state is the series' metadata. Each reading is appended
 * with its sender-seq as the tsdb's aux value, so after a crash recovery
 * replays the loss tracker over the sender-seqs the log holds
 * (`LossReplay`). The state itself is saved only where that cannot work: in
 * the write of a turn that dropped a duplicate (not stored, so not in the
 * log), and before each checkpoint, for every sensor whose state changed
 * other than by in-order sender-seqs since it was last saved (the checkpoint
 * replaces the log records and their sender-seqs).
 *
 * At start, {@link Storage.restore} recreates every sensor from the store:
 * its latest reading and seq (new readings continue above it), its ring
 * history (the newest `historyCapacity` readings) and its loss counters.
 */
import {
  DEFAULTS,
  openTsdb,
  TsdbError,
  type MetaReplay,
  type Tsdb,
  type TsdbOptions,
  type TsdbStats,
} from '@opc-lite/tsdb';
import type { BucketVisitor, HistoryReader, RangeResult, ReadingVisitor } from './history.js';
import { RingHistory } from './history.js';
import { LossTracker, type LossCounts } from './loss.js';
import { OpcServerError, type Logger } from './options.js';
import type { Sensor, SensorStore } from './store.js';

/**
 * The `storage` option of `createOpcServer`: where and how to keep history
 * on disk. Every field but `dir` is optional; see `@opc-lite/tsdb`'s
 * `TsdbOptions` for their defaults (fsync `'interval'` every 1000 ms,
 * retention 30 days, no byte cap, recovery `'repair'`).
 *
 * @example
 * ```ts
 * const server = createOpcServer({ storage: { dir: './opc-data', fsync: 'always' } });
 * ```
 */
export interface StorageOptions extends Omit<TsdbOptions, 'logger' | 'now' | 'replayMeta' | 'beforeCheckpoint'> {
  /**
   * How long readings no client has been shown may wait in memory before they
   * are written to the log, in ms (default 5; 0 = at the end of every turn).
   * Output never waits: the log is written before any reply or push goes out.
   * What a process crash can take of readings never shown, and what a power
   * loss can take on top of `fsync`'s own window.
   */
  writeDelayMs?: number;
}

/**
 * The defaults of the storage options (those of `@opc-lite/tsdb`), frozen.
 *
 * @example
 * ```ts
 * STORAGE_DEFAULTS.fsync; // 'interval'
 * STORAGE_DEFAULTS.retentionMs; // 2592000000 (30 days)
 * ```
 */
export const STORAGE_DEFAULTS = Object.freeze({ ...DEFAULTS, writeDelayMs: 5 });

/** The series that holds the replication mark; its name holds a space, which no sensor name can. */
const REPLICATION_SERIES = 'opc-lite replication';

/** Readings waiting for the log after which they are written at the end of the turn, whatever `writeDelayMs`. */
export const MAX_UNWRITTEN = 50_000;

/**
 * The ranges of the numeric storage options a command line sets.
 *
 * @example
 * ```ts
 * STORAGE_INTEGER_RULES.fsyncIntervalMs; // { min: 1, max: 2147483647 }
 * ```
 */
export const STORAGE_INTEGER_RULES = Object.freeze({
  fsyncIntervalMs: Object.freeze({ min: 1, max: 2 ** 31 - 1 }),
  writeDelayMs: Object.freeze({ min: 0, max: 1000 }),
  retentionMs: Object.freeze({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  maxDiskBytes: Object.freeze({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  walSegmentBytes: Object.freeze({ min: 4096, max: 2 ** 31 - 1 }),
  checkpointWalBytes: Object.freeze({ min: 1024, max: Number.MAX_SAFE_INTEGER }),
});

/** The storage figures of `STATS` (all 0 when the server keeps history in memory only). */
export interface StorageStats {
  /** 1 when history is kept on disk, 0 for memory only. */
  storage_durable: number;
  /** 1 while writes to the disk fail and readings are kept in memory only. */
  storage_degraded: number;
  storage_disk_bytes: number;
  storage_wal_bytes: number;
  storage_wal_segments: number;
  storage_chunk_files: number;
  storage_readings: number;
  storage_last_fsync_age_ms: number;
  storage_fsync_failures: number;
  storage_write_failures: number;
  storage_checkpoints: number;
  storage_readings_recovered: number;
  storage_bytes_dropped_in_recovery: number;
  storage_recovery_ms: number;
  storage_retention_deleted_files: number;
  storage_retention_deleted_readings: number;
}

const MEMORY_STATS: Readonly<StorageStats> = Object.freeze({
  storage_durable: 0,
  storage_degraded: 0,
  storage_disk_bytes: 0,
  storage_wal_bytes: 0,
  storage_wal_segments: 0,
  storage_chunk_files: 0,
  storage_readings: 0,
  storage_last_fsync_age_ms: 0,
  storage_fsync_failures: 0,
  storage_write_failures: 0,
  storage_checkpoints: 0,
  storage_readings_recovered: 0,
  storage_bytes_dropped_in_recovery: 0,
  storage_recovery_ms: 0,
  storage_retention_deleted_files: 0,
  storage_retention_deleted_readings: 0,
});

/** The storage figures of a server without a durable store. */
export function memoryStorageStats(): StorageStats {
  return { ...MEMORY_STATS };
}

/**
 * A server's durable store: opened by the server's constructor, fed by the
 * sensor store's callbacks, committed before output, closed last.
 */
export class Storage implements HistoryReader {
  readonly db: Tsdb;
  readonly #logger: Logger;
  /** tsdb series id by sensor id. */
  readonly #seriesOf: number[] = [];
  /** Sensors that dropped a duplicate this turn (each once): their loss state is saved with the turn's write. */
  readonly #lossDirty: Sensor[] = [];
  readonly #lossMarked = new Set<number>();
  /** Sensors whose loss state the log's sender-seqs replay: saved before the next checkpoint drops those. */
  readonly #replayDirty: Sensor[] = [];
  /** 1 at the id of each sensor in #replayDirty (a flag, not a Set: this runs for nearly every reading at overload). */
  #replayMarked = new Uint8Array(1024);
  readonly #ring = new RingHistory();
  readonly #writeDelayMs: number;
  #dirty = false;
  /** Readings appended since the last commit. */
  #unwritten = 0;
  #timer: NodeJS.Timeout | undefined;
  #turnScheduled = false;
  #closed = false;
  #unstorableLogged = false;

  private constructor(db: Tsdb, logger: Logger, writeDelayMs: number) {
    this.db = db;
    this.#logger = logger;
    this.#writeDelayMs = writeDelayMs;
  }

  /**
   * Opens the store in `options.dir` (taking its LOCK and recovering it).
   * Throws an OpcServerError with the store's code (`ERR_LOCKED`,
   * `ERR_DATA_DIR`, `ERR_CORRUPT`) and a message fit for one log line.
   */
  static open(options: StorageOptions, logger: Logger, now: () => number): Storage {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`storage must be an object (got ${options === null ? 'null' : typeof options})`);
    }
    const { writeDelayMs = STORAGE_DEFAULTS.writeDelayMs, ...tsdbOptions } = options;
    const rule = STORAGE_INTEGER_RULES.writeDelayMs;
    if (!Number.isInteger(writeDelayMs) || writeDelayMs < rule.min || writeDelayMs > rule.max) {
      throw new RangeError(
        `storage.writeDelayMs must be an integer from ${rule.min} to ${rule.max} (got ${String(writeDelayMs)})`,
      );
    }
    let db: Tsdb;
    // Set once the store is open: a checkpoint during the open itself finds none.
    const opened: { storage?: Storage } = {};
    try {
      // The store's own start line is detail for the server's log: the server reports recovery in its words.
      const quiet: Logger = {
        debug: (obj, msg) => logger.debug(obj, msg),
        info: (obj, msg) => logger.debug(obj, msg),
        warn: (obj, msg) => logger.warn(obj, msg),
        error: (obj, msg) => logger.error(obj, msg),
      };
      db = openTsdb({
        ...tsdbOptions,
        logger: quiet,
        now,
        replayMeta: new LossReplay(),
        // The checkpoint written at open needs nothing: recovery's LossReplay has just saved every state.
        beforeCheckpoint: () => opened.storage?.saveLossStates(),
      });
    } catch (err) {
      if (err instanceof TsdbError) throw new OpcServerError(err.code, err.message, { cause: err });
      throw err;
    }
    opened.storage = new Storage(db, logger, writeDelayMs);
    return opened.storage;
  }

  /**
   * Recreates every sensor the store holds, in the store's order (so sensor
   * ids and series ids agree): its latest reading and seq and its loss state
   * now, its ring from the store the first time it is read.
   */
  restore(store: SensorStore): void {
    const capacity = store.historyCapacity;
    for (const info of this.db.series()) {
      if (info.name === REPLICATION_SERIES) continue; // not a sensor: see replicationMark()
      const sensor = store.restore(info.name);
      const id = info.id;
      this.#seriesOf[sensor.id] = id;
      if (info.lastSeq === 0) continue;
      const lastSeq = info.lastSeq;
      sensor.restoreLazily(info.lastValue ?? Number.NaN, info.lastTs ?? Number.NaN, lastSeq, (s) =>
        this.#fillRing(s, id, lastSeq, capacity),
      );
      if (info.meta !== undefined && !sensor.tracker.load(info.meta, lastSeq)) {
        this.#logger.warn({ sensor: info.name }, 'stored loss counters not understood; counting afresh');
      }
    }
  }

  #scratch: { values: Float64Array; stamps: Float64Array; seqs: Float64Array } | undefined;

  /** Puts the newest `capacity` readings of series `id` back into `sensor`'s ring, when they end at `lastSeq`. */
  #fillRing(sensor: Sensor, id: number, lastSeq: number, capacity: number): void {
    if (this.#closed) return;
    let scratch = this.#scratch;
    if (scratch === undefined || scratch.seqs.length < capacity) {
      scratch = {
        values: new Float64Array(capacity),
        stamps: new Float64Array(capacity),
        seqs: new Float64Array(capacity),
      };
      this.#scratch = scratch;
    }
    const { values, stamps, seqs } = scratch;
    let n = 0;
    this.db.last(id, capacity, (ts, value, seq) => {
      stamps[n] = ts;
      values[n] = value;
      seqs[n] = seq;
      n++;
    });
    // Retention may have deleted them all; the series still knows its latest.
    if (n === 0 || seqs[n - 1] !== lastSeq) return;
    for (let i = 0; i < n; i++) sensor.restore(values[i]!, stamps[i]!, seqs[i]!);
  }

  /** A new sensor: its series. */
  onSensor(sensor: Sensor): void {
    if (this.#closed) return;
    this.#seriesOf[sensor.id] = this.db.createSeries(sensor.name);
  }

  /** A reading was stored in `sensor` (its latest), with sender-seq `senderSeq` (-1 for none). */
  onReading(sensor: Sensor, senderSeq: number): void {
    if (this.#closed) return;
    const id = this.#seriesOf[sensor.id];
    if (id === undefined) return;
    const ts = sensor.lastTimestampMs;
    const value = sensor.lastValue;
    if (!Number.isFinite(ts) || !Number.isFinite(value)) {
      // Only an embedder calling the store directly can get here: the parsers accept finite numbers only.
      if (!this.#unstorableLogged) {
        this.#unstorableLogged = true;
        this.#logger.warn({ sensor: sensor.name, value, ts }, 'a reading that is not finite is kept in memory only');
      }
      return;
    }
    this.db.append(id, sensor.seq, ts, value, senderSeq);
    if (++this.#unwritten >= MAX_UNWRITTEN && !this.#turnScheduled) {
      this.#turnScheduled = true;
      setImmediate(this.#onTurn);
    }
    this.#touch();
  }

  /**
   * The sensor's loss state changed other than by an in-order sender-seq: saved before the next checkpoint when the
   * log's sender-seqs replay the change (`replayable`), else with this turn's write.
   */
  onLossState(sensor: Sensor, replayable: boolean): void {
    if (replayable) {
      const id = sensor.id;
      if (id < this.#replayMarked.length && this.#replayMarked[id] === 1) return;
      if (id >= this.#replayMarked.length) {
        const grown = new Uint8Array(Math.max(2 * this.#replayMarked.length, id + 1));
        grown.set(this.#replayMarked);
        this.#replayMarked = grown;
      }
      this.#replayMarked[id] = 1;
      this.#replayDirty.push(sensor);
      return;
    }
    if (this.#closed || this.#lossMarked.has(sensor.id)) return;
    this.#lossMarked.add(sensor.id);
    this.#lossDirty.push(sensor);
    this.#touch();
  }

  #touch(): void {
    this.#dirty = true;
    if (this.#timer !== undefined || this.#turnScheduled) return;
    if (this.#writeDelayMs === 0) {
      this.#turnScheduled = true;
      setImmediate(this.#onTurn);
    } else {
      this.#timer = setTimeout(this.#onTimer, this.#writeDelayMs);
    }
  }

  readonly #onTurn = (): void => {
    this.#turnScheduled = false;
    this.commit();
  };

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.commit();
  };

  /** Writes what this turn added (one write; an fdatasync too with `fsync: 'always'`). Cheap when nothing was. */
  commit(): void {
    if (!this.#dirty || this.#closed) return;
    this.#dirty = false;
    this.#unwritten = 0;
    const dirty = this.#lossDirty;
    for (let i = 0; i < dirty.length; i++) {
      const sensor = dirty[i]!;
      const id = this.#seriesOf[sensor.id];
      if (id !== undefined) this.db.setMeta(id, sensor.tracker.save(sensor.seq));
    }
    dirty.length = 0;
    this.#lossMarked.clear();
    this.db.commit();
  }

  /** Saves the loss state of every sensor the log's sender-seqs would otherwise be needed for (before a checkpoint). */
  saveLossStates(): void {
    for (const sensor of this.#replayDirty) {
      this.#replayMarked[sensor.id] = 0;
      const id = this.#seriesOf[sensor.id];
      if (id !== undefined) this.db.setMeta(id, sensor.tracker.save(sensor.seq));
    }
    this.#replayDirty.length = 0;
  }

  /** Commits, checkpoints and closes the store (releasing its LOCK). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.commit();
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.db.close();
  }

  stats(): StorageStats {
    const s: TsdbStats = this.db.stats();
    const r = this.db.recovery;
    return {
      storage_durable: 1,
      storage_degraded: s.degraded ? 1 : 0,
      storage_disk_bytes: s.diskBytes,
      storage_wal_bytes: s.walBytes,
      storage_wal_segments: s.walSegments,
      storage_chunk_files: s.chunkFiles,
      storage_readings: s.readings,
      storage_last_fsync_age_ms: Math.round(s.lastFsyncAgeMs),
      storage_fsync_failures: s.fsyncFailures,
      storage_write_failures: s.writeFailures,
      storage_checkpoints: s.checkpoints,
      storage_readings_recovered: s.readingsRecovered,
      storage_bytes_dropped_in_recovery: s.bytesDroppedInRecovery,
      storage_recovery_ms: Math.round(r.ms),
      storage_retention_deleted_files: s.retentionDeletedFiles,
      storage_retention_deleted_readings: s.retentionDeletedReadings,
    };
  }

  // ---- Replication (docs/CLUSTER.md, "Restart and catch-up"): the last applied log seq, kept with its readings ----

  /**
   * The log seq of the last replicated batch this store kept (0 for none). Given `logSeq` (above it), first records
   * it: appended as a reading of a series no sensor can be named (it holds a space), after the batch's readings, and
   * committed with them in one log record, so that after any crash the store holds the batch and its seq, or
   * neither. A batch must be at most a few thousand readings to fit one record (`@opc-lite/tsdb` cuts its
   * buffered readings into records of about 1 MiB).
   */
  replicationMark(logSeq?: number): number {
    let id = this.db.seriesId(REPLICATION_SERIES);
    if (logSeq !== undefined && !this.#closed) {
      id ??= this.db.createSeries(REPLICATION_SERIES);
      this.db.append(id, logSeq, Date.now(), logSeq);
      this.#dirty = true;
      this.commit();
    }
    return id === undefined ? 0 : (this.db.seriesInfo(id)?.lastSeq ?? 0);
  }

  // ---- HistoryReader: RANGE and resumed SUBs read the whole retained history ----

  range(sensor: Sensor, fromMs: number, toMs: number, limit: number, fn: ReadingVisitor): RangeResult {
    const id = this.#seriesOf[sensor.id];
    if (id === undefined || this.#closed) return this.#ring.range(sensor, fromMs, toMs, limit, fn);
    return this.db.range(id, fromMs, toMs, limit, fn);
  }

  buckets(sensor: Sensor, fromMs: number, toMs: number, points: number, fn: BucketVisitor): number {
    const id = this.#seriesOf[sensor.id];
    if (id === undefined || this.#closed) return this.#ring.buckets(sensor, fromMs, toMs, points, fn);
    let given = 0;
    this.db.buckets(id, fromMs, toMs, points, (start, count, min, max, mean, first, last) => {
      given++;
      fn(start, count, min, max, mean, first, last);
    });
    return given;
  }

  after(sensor: Sensor, seq: number, limit: number, fn: ReadingVisitor): number {
    const id = this.#seriesOf[sensor.id];
    // Within the ring (the usual resume after a short disconnect): no decoding.
    if (id === undefined || this.#closed || seq >= sensor.seq - sensor.size) {
      return this.#ring.after(sensor, seq, limit, fn);
    }
    return this.db.after(id, seq, limit, fn);
  }
}

/**
 * Recovery's fold of the sender-seqs in the log into each sensor's saved loss
 * state (`@opc-lite/tsdb`'s `replayMeta`; docs/STORAGE.md, "Aux values"): the
 * saved state, caught up over the readings stored in order after it that the
 * log no longer holds (`LossTracker.load`), then each replayed reading's
 * sender-seq observed as it was live. Duplicates are not in the log; a state
 * saved after each turn that dropped one holds them.
 */
export class LossReplay implements MetaReplay {
  /** Per series being folded: the tracker, once its first replayed reading came, else the state it starts from. */
  readonly #folds = new Map<number, LossTracker | { meta: Uint8Array | undefined }>();
  /** The totals every tracker adds to: the server's come from the trackers themselves at restore. */
  readonly #totals: LossCounts = { lost: 0, duplicate: 0, late: 0, restarts: 0 };

  begin(id: number, meta: Uint8Array | undefined): void {
    this.#folds.set(id, { meta });
  }

  reading(id: number, seq: number, senderSeq: number): void {
    let fold = this.#folds.get(id);
    if (fold === undefined) return;
    if (!(fold instanceof LossTracker)) {
      const tracker = new LossTracker(this.#totals);
      // Stored bytes it does not know: counted afresh from here, as a restore does.
      if (fold.meta !== undefined) tracker.load(fold.meta, seq - 1);
      this.#folds.set(id, tracker);
      fold = tracker;
    }
    fold.observe(senderSeq);
  }

  end(id: number, lastSeq: number): Uint8Array | undefined {
    const fold = this.#folds.get(id);
    this.#folds.delete(id);
    // No reading folded, or a sensor that never sent a sender-seq: its metadata stays as it is.
    if (!(fold instanceof LossTracker) || fold.lastSenderSeq < 0) return undefined;
    return fold.save(lastSeq);
  }
}
