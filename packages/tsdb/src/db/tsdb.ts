// How it works: the store ties the pieces together (docs/STORAGE.md has the
// whole picture and the byte layouts).
//
// Write path: `append()` checks the reading, puts it into the series' open
// chunk (closing that chunk into the active chunk file first when it is full,
// spans 2 h, or meets a seq gap) and encodes it into the turn's SAMPLES batch,
// all in memory. `commit()` hands the batch to the write-ahead log, which
// writes everything of the turn with one write, writes the chunks closed in
// the turn to their chunk file with one more, and in 'always' mode fdatasyncs
// the log before returning. In 'interval' mode a timer fdatasyncs the log on
// the thread pool, one sync at a time.
//
// Checkpoints: past `checkpointWalBytes` of log (and at close), the log is cut
// to a new segment, the chunk files are synced, and `checkpoint.<segment>`
// (written as .tmp, synced, renamed, directory synced) records every series,
// the length of every chunk file and the open chunks; then the older log
// segments and checkpoints are deleted.
//
// Failures: a write or sync that fails puts the store in degraded mode
// (`durable` false, logged once, counted): readings keep arriving in memory
// and nothing is written, until, every `retryMs`, a checkpoint written from
// memory into a fresh log segment succeeds. A failed fsync is never retried
// on the same segment or file: the pages it failed to write may be gone.

import { join } from 'node:path';
import { ChunkDecodeError } from '../chunk/index.js';
import { errnoCode } from '../fs/errors.js';
import { NodeFileSystem } from '../fs/node.js';
import type { FileSystem } from '../fs/types.js';
import type { Wal } from '../wal/index.js';
import { ByteWriter, FormatError } from './bytes.js';
import { ChunkStore } from './chunk-file.js';
import { TsdbError } from './errors.js';
import {
  MAX_TS_DELTA,
  RECORD_META,
  RECORD_SAMPLES2,
  RECORD_SERIES,
  TAG_AUX,
  TAG_TS_F64,
  encodeCheckpoint,
  encodeMetaRecord,
  encodeSeriesRecord,
  utf8,
  type Checkpoint,
} from './format.js';
import type { ChunkRef, Series } from './head.js';
import { acquireLock, releaseLock, type Lock } from './lock.js';
import { resolveTsdbOptions, type Logger, type ResolvedTsdbOptions, type TsdbOptions } from './options.js';
import {
  Scratch,
  queryAfter,
  queryBuckets,
  queryLast,
  queryRange,
  type BucketFn,
  type ReadingFn,
  type SeriesView,
} from './query.js';
import { checkpointName, listCheckpoints, recover, type RecoverResult, type RecoveryReport } from './recovery.js';
import { applyRetention } from './retention.js';
import { DbState } from './state.js';

/**
 * One series as {@link Tsdb.series} lists it.
 *
 * @example
 * ```ts
 * for (const s of db.series()) console.log(s.name, s.lastSeq, s.count);
 * ```
 */
export interface SeriesInfo {
  readonly id: number;
  readonly name: string;
  /** Seq of the newest reading ever appended (kept when retention deletes it), 0 when none. */
  readonly lastSeq: number;
  /** Timestamp of that reading, `undefined` when none. */
  readonly lastTs: number | undefined;
  /** Value of that reading, `undefined` when none. */
  readonly lastValue: number | undefined;
  /** Seq of the oldest reading retained, 0 when none is. */
  readonly firstSeq: number;
  /** Readings retained. */
  readonly count: number;
  /** The bytes last given to {@link Tsdb.setMeta} (a copy), `undefined` when none. */
  readonly meta: Uint8Array | undefined;
}

/**
 * Counters and sizes, for monitoring.
 *
 * @example
 * ```ts
 * const { degraded, lastFsyncAgeMs, diskBytes } = db.stats();
 * ```
 */
export interface TsdbStats {
  /** Bytes of the log, the chunk files and the checkpoint. */
  diskBytes: number;
  walBytes: number;
  chunkBytes: number;
  checkpointBytes: number;
  walSegments: number;
  chunkFiles: number;
  series: number;
  /** Readings retained in all series. */
  readings: number;
  /** How long the oldest committed write not yet known durable has waited, ms (0 when every commit is durable). */
  lastFsyncAgeMs: number;
  fsyncFailures: number;
  writeFailures: number;
  degraded: boolean;
  readingsRecovered: number;
  bytesDroppedInRecovery: number;
  retentionDeletedFiles: number;
  retentionDeletedReadings: number;
  checkpoints: number;
  appendedReadings: number;
}

/**
 * An open store. Writes are synchronous and buffered for the turn; reads
 * call back once per reading (or bucket) without allocating per reading. A
 * callback must not write to the store.
 *
 * @example
 * ```ts
 * const db = openTsdb({ dir: './data' });
 * const id = db.seriesId('line1.temp') ?? db.createSeries('line1.temp');
 * db.append(id, 1, Date.now(), 21.5);
 * db.commit();
 * db.last(id, 10, (ts, value, seq) => console.log(seq, ts, value));
 * db.close();
 * ```
 */
export interface Tsdb {
  /** What recovery found when the store opened. */
  readonly recovery: RecoveryReport;
  /** False while degraded: writes are failing and readings are kept in memory only. */
  readonly durable: boolean;
  /** The id of a series, `undefined` if there is none by that name. */
  seriesId(name: string): number | undefined;
  /**
   * Creates a series (logged) and returns its id, dense from 0; an existing name returns its id. A name must be
   * 1 to 65 535 bytes of UTF-8 and hold no lone UTF-16 surrogate (RangeError otherwise).
   */
  createSeries(name: string): number;
  /** Every series, by id. */
  series(): IterableIterator<SeriesInfo>;
  /** One series, `undefined` for an unknown id. */
  seriesInfo(id: number): SeriesInfo | undefined;
  /**
   * Adds a reading, buffered until {@link Tsdb.commit}. `seq` must be an
   * integer above the series' `lastSeq`; `ts` and `value` finite numbers;
   * `aux`, when given, a safe integer >= 0 kept with the reading in the log
   * only, for `replayMeta` (docs/STORAGE.md, "Aux values"); -1 means none
   * (RangeError otherwise; TsdbError ERR_CLOSED after close).
   */
  append(id: number, seq: number, ts: number, value: number, aux?: number): void;
  /** Replaces the series' opaque metadata (copied, logged). */
  setMeta(id: number, meta: Uint8Array): void;
  /** Writes the turn's records with one write (and fdatasyncs in 'always' mode). Never throws. */
  commit(): void;
  /** The newest `n` readings by seq, oldest first. */
  last(id: number, n: number, fn: ReadingFn): void;
  /** Readings with seq above `seq`, ascending, at most `limit`; returns how many. */
  after(id: number, seq: number, limit: number, fn: ReadingFn): number;
  /**
   * Readings with `fromMs <= ts <= toMs` in (ts, seq) order, at most `limit`.
   * When cut, `more` is the ts to ask from next: the cut falls between two
   * different timestamps, so `range(id, more, toMs, ...)` repeats nothing.
   * (A first timestamp holding more than `limit` readings comes whole.)
   */
  range(id: number, fromMs: number, toMs: number, limit: number, fn: ReadingFn): { more: number | undefined };
  /**
   * `points` equal-width buckets over [fromMs, toMs]; calls back for the
   * non-empty ones in time order with count, min, max, mean and the first
   * and last value by (ts, seq).
   */
  buckets(id: number, fromMs: number, toMs: number, points: number, fn: BucketFn): void;
  stats(): TsdbStats;
  /** Writes a checkpoint now (also done past `checkpointWalBytes` and by close). Never throws. */
  checkpoint(): void;
  /** Commits, writes a checkpoint, closes the files and releases the lock. Idempotent; never throws. */
  close(): void;
}

/** Bytes kept free at the start of the SAMPLES batch for its record number (a varint of at most 8 bytes). */
const BATCH_HEAD = 8;
/** Past this, the turn's SAMPLES batch goes to the log as a record of its own (bounds one record). */
const BATCH_FLUSH_BYTES = 1 << 20;
/** Retention runs at most this often (by the store's clock). */
const RETENTION_CHECK_MS = 1000;
const MAX_NAME_BYTES = 65_535;
/** A surrogate code unit not part of a pair (with the `u` flag, a pair is one code point and does not match). */
const LONE_SURROGATE = /\p{Surrogate}/u;
const MAX_META_BYTES = 1 << 20;
/** Errors that mean the directory cannot be used at all, rather than a failing disk. */
const DATA_DIR_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOENT', 'EISDIR', 'ELOOP', 'ENAMETOOLONG']);

/**
 * Opens (creating if needed) the store in `options.dir`: takes the LOCK,
 * recovers (docs/STORAGE.md, "Recovery") and returns it ready.
 *
 * @throws {TsdbError} `ERR_LOCKED` when another live process holds the
 *   directory (the message names its pid), `ERR_DATA_DIR` when the directory
 *   cannot be created, read or written, `ERR_CORRUPT` in strict mode on damage and in either mode on a log
 *   segment of an unknown format version.
 * @throws {TypeError | RangeError} On invalid options.
 *
 * @example
 * ```ts
 * import { openTsdb } from '@opc-lite/tsdb';
 *
 * const db = openTsdb({ dir: '/var/lib/opc-lite', fsync: 'interval', retentionMs: 7 * 86_400_000 });
 * console.log(db.recovery); // { readings: 123456, series: 42, bytesDropped: 0, ... }
 * ```
 */
export function openTsdb(options: TsdbOptions): Tsdb {
  return Engine.open(resolveTsdbOptions(options));
}

function dataDirError(dir: string, doing: string, err: unknown): TsdbError {
  const message = err instanceof Error ? err.message : String(err);
  return new TsdbError('ERR_DATA_DIR', `cannot ${doing} data directory ${dir}: ${message}`, { cause: err });
}

type Phase = 'write' | 'sync';

class Engine implements Tsdb {
  readonly recovery: RecoveryReport;
  readonly #o: ResolvedTsdbOptions;
  readonly #fs: FileSystem;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #state: DbState;
  readonly #wal: Wal;
  readonly #lock: Lock | undefined;
  readonly #batch = new ByteWriter(64 * 1024);
  readonly #checkpointWriter = new ByteWriter(64 * 1024);
  readonly #scratch = new Scratch();
  readonly #checkpointThreshold: number;
  #gen = 0;
  /** Timestamp of the batch's previous reading (0 at its start): SAMPLES2 timestamps are deltas from it. */
  #batchTs = 0;
  #nextRecord: number;
  #walPending = false;
  #degraded = false;
  #closed = false;
  #phase: Phase = 'write';
  #lastRetryMs = 0;
  #lastRetentionMs: number;
  #unsyncedSince: number | undefined = undefined;
  #inFlightSince: number | undefined = undefined;
  #syncing = false;
  #syncEpoch = 0;
  #checkpointSoon = false;
  #checkpointBytes: number;
  #timer: ReturnType<typeof setInterval> | undefined = undefined;
  #fsyncFailures = 0;
  #writeFailures = 0;
  #retentionFiles = 0;
  #retentionReadings = 0;
  #checkpoints = 0;
  #appended = 0;

  static open(o: ResolvedTsdbOptions): Engine {
    const started = performance.now();
    const fs = o.fs ?? new NodeFileSystem();
    const walDir = join(o.dir, 'wal');
    const chunksDir = join(o.dir, 'chunks');
    try {
      fs.mkdirp(o.dir);
      fs.mkdirp(walDir);
      fs.mkdirp(chunksDir);
    } catch (err) {
      throw dataDirError(o.dir, 'create', err);
    }
    let lock: Lock | undefined;
    if (o.lock) {
      try {
        lock = acquireLock(fs, join(o.dir, 'LOCK'));
      } catch (err) {
        if (err instanceof TsdbError) throw err;
        throw dataDirError(o.dir, 'lock', err);
      }
    }
    let result: RecoverResult | undefined;
    const state = new DbState(new ChunkStore(fs, chunksDir), o.chunkSamples, o.chunkFileBytes, o.retentionMs, o.now);
    try {
      result = recover({
        fs,
        dir: o.dir,
        walDir,
        chunksDir,
        strict: o.recovery === 'strict',
        logger: o.logger,
        walSegmentBytes: o.walSegmentBytes,
        state,
        started,
        replayMeta: o.replayMeta,
      });
      const engine = new Engine(o, fs, state, result, lock);
      engine.#start(result.dirty, started);
      return engine;
    } catch (err) {
      result?.wal.close();
      state.chunks.closeAll();
      if (lock !== undefined) releaseLock(fs, lock);
      if (err instanceof TsdbError) throw err;
      throw dataDirError(o.dir, 'recover', err);
    }
  }

  private constructor(
    o: ResolvedTsdbOptions,
    fs: FileSystem,
    state: DbState,
    result: RecoverResult,
    lock: Lock | undefined,
  ) {
    this.#o = o;
    this.#fs = fs;
    this.#log = o.logger;
    this.#now = o.now;
    this.#state = state;
    this.#wal = result.wal;
    this.#lock = lock;
    this.recovery = result.report;
    this.#checkpointBytes = result.checkpointBytes;
    this.#nextRecord = result.nextRecord;
    this.#batch.pos = BATCH_HEAD;
    this.#lastRetentionMs = o.now();
    this.#checkpointThreshold =
      o.maxDiskBytes > 0
        ? Math.min(o.checkpointWalBytes, Math.max(64 * 1024, Math.floor(o.maxDiskBytes / 4)))
        : o.checkpointWalBytes;
    // Replay used the batch generation fields; the write path starts afresh.
    for (const s of state.all()) s.batchGen = -1;
  }

  /** After recovery: retention, a checkpoint if recovery replayed or repaired anything, the timer. */
  #start(dirty: boolean, started: number): void {
    this.#retention();
    if (dirty) {
      try {
        this.#checkpointNow();
      } catch (err) {
        const code = errnoCode(err);
        if (code !== undefined && DATA_DIR_CODES.has(code)) throw dataDirError(this.#o.dir, 'write to', err);
        this.#fail(err, this.#phase);
      }
    }
    this.recovery.ms = performance.now() - started;
    this.#log.info({ dir: this.#o.dir, ...this.recovery }, 'tsdb opened');
    const period = this.#o.fsync === 'interval' ? Math.min(this.#o.fsyncIntervalMs, this.#o.retryMs) : this.#o.retryMs;
    this.#timer = setInterval(() => this.#tick(), Math.min(period, 2 ** 31 - 1));
    this.#timer.unref();
  }

  get durable(): boolean {
    return !this.#degraded;
  }

  seriesId(name: string): number | undefined {
    return this.#state.byName.get(name);
  }

  createSeries(name: string): number {
    this.#checkOpen('createSeries');
    if (typeof name !== 'string') throw new TypeError(`series name must be a string (got ${typeof name})`);
    const existing = this.#state.byName.get(name);
    if (existing !== undefined) return existing;
    if (name === '') throw new RangeError('series name must not be empty');
    if (LONE_SURROGATE.test(name)) {
      throw new RangeError(
        'series name must be well-formed UTF-16 (it holds a lone surrogate, which UTF-8 cannot store)',
      );
    }
    if (utf8(name).length > MAX_NAME_BYTES)
      throw new RangeError(`series name must be at most ${MAX_NAME_BYTES} bytes of UTF-8`);
    const id = this.#state.series.length;
    this.#state.addSeries(id, name);
    if (!this.#degraded) {
      this.#wal.append(RECORD_SERIES, encodeSeriesRecord(this.#nextRecord++, id, name));
      this.#walPending = true;
    }
    return id;
  }

  *series(): IterableIterator<SeriesInfo> {
    for (const s of this.#state.all()) yield info(s);
  }

  seriesInfo(id: number): SeriesInfo | undefined {
    const s = this.#state.series[id];
    return s === undefined ? undefined : info(s);
  }

  append(id: number, seq: number, ts: number, value: number, aux = -1): void {
    const s = this.#state.series[id];
    if (s === undefined || this.#closed) throw this.#appendError(id);
    const prev = s.lastSeq;
    if (!(seq > prev) || !Number.isSafeInteger(seq)) {
      throw new RangeError(`seq must be an integer above the series' last seq ${prev} (got ${seq}) for series ${id}`);
    }
    if (!Number.isFinite(ts)) throw new RangeError(`ts must be a finite number (got ${ts}) for series ${id}`);
    if (!Number.isFinite(value)) throw new RangeError(`value must be a finite number (got ${value}) for series ${id}`);
    if (!(aux >= -1) || !Number.isSafeInteger(aux)) {
      throw new RangeError(`aux must be a safe integer >= 0, or -1 for none (got ${aux}) for series ${id}`);
    }
    const state = this.#state;
    if (s.enc !== undefined && s.mustCut(seq, ts, state.chunkSamples)) state.closeHead(s);
    s.push(seq, ts, value);
    this.#appended++;
    if (this.#degraded) return;
    // SAMPLES2 (docs/STORAGE.md, "WAL records"): varint id, varint seq (absolute the first time the series is in
    // the batch, else the delta), varint tag (the ts delta from the batch's previous reading, or TAG_TS_F64 and an
    // f64 ts), f64 value, and a varint aux with TAG_AUX.
    const w = this.#batch;
    w.ensure(43);
    const buf = w.buf;
    let p = w.pos;
    let v = id;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
    if (s.batchGen === this.#gen) {
      v = seq - prev;
    } else {
      v = seq;
      s.batchGen = this.#gen;
    }
    if (v < 0x80) {
      buf[p++] = v;
    } else {
      w.pos = p;
      w.varint(v);
      p = w.pos;
    }
    const flags = aux < 0 ? 0 : TAG_AUX;
    const d = ts - this.#batchTs;
    if (
      d <= MAX_TS_DELTA &&
      d >= -MAX_TS_DELTA &&
      Math.floor(d) === d &&
      this.#batchTs + d === ts &&
      (ts !== 0 || 1 / ts > 0)
    ) {
      // Zigzag, then two flag bits: below 2^31, so the unsigned shifts are exact.
      v = (d >= 0 ? d * 8 : -d * 8 - 4) | flags;
      while (v >= 0x80) {
        buf[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[p++] = v;
    } else {
      buf[p++] = flags | TAG_TS_F64;
      w.view.setFloat64(p, ts, true);
      p += 8;
    }
    this.#batchTs = ts;
    w.view.setFloat64(p, value, true);
    p += 8;
    if (aux >= 0) {
      if (aux < 0x80) {
        buf[p++] = aux;
      } else {
        w.pos = p;
        w.varint(aux);
        p = w.pos;
      }
    }
    w.pos = p;
    if (p >= BATCH_FLUSH_BYTES) this.#flushBatch();
  }

  setMeta(id: number, meta: Uint8Array): void {
    const s = this.#state.series[id];
    if (s === undefined || this.#closed) throw this.#appendError(id);
    if (!(meta instanceof Uint8Array)) throw new TypeError('meta must be a Uint8Array');
    if (meta.length > MAX_META_BYTES)
      throw new RangeError(`meta must be at most ${MAX_META_BYTES} bytes (got ${meta.length})`);
    s.meta = meta.slice();
    if (!this.#degraded) {
      // After the samples appended so far: metadata that describes them is never in the log without them.
      this.#flushBatch();
      this.#wal.append(RECORD_META, encodeMetaRecord(this.#nextRecord++, id, meta));
      this.#walPending = true;
    }
  }

  commit(): void {
    if (this.#closed) return;
    if (!this.#degraded) {
      this.#flushBatch();
      let phase: Phase = 'write';
      try {
        let wrote = false;
        if (this.#walPending) {
          this.#walPending = false;
          this.#wal.commit();
          wrote = true;
          this.#unsyncedSince ??= this.#now();
        }
        if (this.#state.chunks.hasUnwritten()) this.#state.chunks.flush();
        if (wrote && this.#o.fsync === 'always') {
          phase = 'sync';
          this.#wal.sync();
          if (this.#inFlightSince === undefined) this.#unsyncedSince = undefined;
        }
      } catch (err) {
        this.#fail(err, phase);
      }
    }
    if (this.#degraded) {
      this.#maybeRetry();
      return;
    }
    if (!this.#syncing && (this.#checkpointSoon || this.#wal.bytes() >= this.#checkpointThreshold))
      this.#tryCheckpoint();
    if (this.#now() - this.#lastRetentionMs >= RETENTION_CHECK_MS) this.#retention();
  }

  last(id: number, n: number, fn: ReadingFn): void {
    this.#checkOpen('read');
    checkCount('n', n);
    const s = this.#state.series[id];
    if (s === undefined || n < 1) return;
    this.#read(s, (view) => queryLast(view, Math.floor(n), this.#scratch, fn));
  }

  after(id: number, seq: number, limit: number, fn: ReadingFn): number {
    this.#checkOpen('read');
    checkNumber('seq', seq);
    checkCount('limit', limit);
    const s = this.#state.series[id];
    if (s === undefined || limit < 1) return 0;
    return this.#read(s, (view) => queryAfter(view, seq, Math.floor(limit), this.#scratch, fn));
  }

  range(id: number, fromMs: number, toMs: number, limit: number, fn: ReadingFn): { more: number | undefined } {
    this.#checkOpen('read');
    checkNumber('fromMs', fromMs);
    checkNumber('toMs', toMs);
    checkCount('limit', limit);
    if (limit < 1) throw new RangeError(`limit must be at least 1 (got ${limit})`);
    const s = this.#state.series[id];
    if (s === undefined || fromMs > toMs) return { more: undefined };
    return this.#read(s, (view) => queryRange(view, fromMs, toMs, Math.floor(limit), this.#scratch, fn));
  }

  buckets(id: number, fromMs: number, toMs: number, points: number, fn: BucketFn): void {
    this.#checkOpen('read');
    checkNumber('fromMs', fromMs);
    checkNumber('toMs', toMs);
    if (!Number.isInteger(points) || points < 1 || points > 1_000_000) {
      throw new RangeError(`points must be an integer from 1 to 1000000 (got ${points})`);
    }
    const s = this.#state.series[id];
    if (s === undefined || fromMs > toMs) return;
    this.#read(s, (view) => queryBuckets(view, fromMs, toMs, points, this.#scratch, fn));
  }

  stats(): TsdbStats {
    const walBytes = this.#wal.bytes();
    const chunkBytes = this.#state.chunks.bytes();
    const since = Math.min(this.#unsyncedSince ?? Infinity, this.#inFlightSince ?? Infinity);
    return {
      diskBytes: walBytes + chunkBytes + this.#checkpointBytes,
      walBytes,
      chunkBytes,
      checkpointBytes: this.#checkpointBytes,
      walSegments: this.#wal.segments.length,
      chunkFiles: this.#state.chunks.files.size,
      series: this.#state.byName.size,
      readings: this.#state.readings(),
      lastFsyncAgeMs: since === Infinity ? 0 : Math.max(0, this.#now() - since),
      fsyncFailures: this.#fsyncFailures,
      writeFailures: this.#writeFailures,
      degraded: this.#degraded,
      readingsRecovered: this.recovery.readings,
      bytesDroppedInRecovery: this.recovery.bytesDropped,
      retentionDeletedFiles: this.#retentionFiles,
      retentionDeletedReadings: this.#retentionReadings,
      checkpoints: this.#checkpoints,
      appendedReadings: this.#appended,
    };
  }

  checkpoint(): void {
    if (this.#closed) return;
    this.commit();
    if (this.#degraded) this.#retry();
    else this.#tryCheckpoint();
  }

  close(): void {
    if (this.#closed) return;
    this.commit();
    if (this.#degraded) this.#retry();
    else this.#tryCheckpoint();
    if (this.#degraded) {
      this.#log.error(
        { dir: this.#o.dir },
        'tsdb closed while degraded: readings since the last good checkpoint may not be durable',
      );
    }
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#wal.close();
    this.#state.chunks.closeAll();
    if (this.#lock !== undefined) releaseLock(this.#fs, this.#lock);
  }

  // ---- internals ----

  #checkOpen(what: string): void {
    if (this.#closed) throw new TsdbError('ERR_CLOSED', `cannot ${what}: the store is closed`);
  }

  #appendError(id: number): Error {
    if (this.#closed) return new TsdbError('ERR_CLOSED', 'cannot write: the store is closed');
    return new RangeError(`unknown series id ${String(id)}`);
  }

  /** Hands the SAMPLES batch to the log (as one record, numbered now) and starts a new batch. */
  #flushBatch(): void {
    const w = this.#batch;
    if (w.pos > BATCH_HEAD) {
      // The record number goes in front, right-aligned in the bytes kept free for it.
      let start = BATCH_HEAD - varintBytes(this.#nextRecord);
      const end = w.pos;
      w.pos = start;
      w.varint(this.#nextRecord++);
      this.#wal.append(RECORD_SAMPLES2, w.buf.subarray(start, end));
      this.#walPending = true;
      start = BATCH_HEAD;
      w.pos = start;
    }
    this.#gen++;
    this.#batchTs = 0;
  }

  /** Enters (or stays in) degraded mode after a failed write or sync. */
  #fail(err: unknown, phase: Phase): void {
    if (phase === 'sync') this.#fsyncFailures++;
    else this.#writeFailures++;
    this.#batch.pos = BATCH_HEAD;
    this.#gen++;
    this.#batchTs = 0;
    this.#walPending = false;
    this.#lastRetryMs = this.#now();
    if (this.#degraded) return;
    this.#degraded = true;
    this.#log.error(
      { err, dir: this.#o.dir, code: errnoCode(err) },
      `tsdb degraded: a ${phase} failed; readings are kept in memory, not durable, and a fresh checkpoint is tried every ${this.#o.retryMs} ms`,
    );
  }

  #maybeRetry(): void {
    if (this.#now() - this.#lastRetryMs >= this.#o.retryMs) this.#retry();
  }

  /** Tries to leave degraded mode by writing a checkpoint of memory into a fresh log segment. */
  #retry(): void {
    this.#lastRetryMs = this.#now();
    try {
      this.#checkpointNow();
    } catch (err) {
      if (this.#phase === 'sync') this.#fsyncFailures++;
      else this.#writeFailures++;
      this.#log.debug({ err, dir: this.#o.dir }, 'tsdb still degraded');
      return;
    }
    this.#degraded = false;
    this.#log.info({ dir: this.#o.dir }, 'tsdb durable again: a checkpoint of memory was written');
  }

  #tryCheckpoint(): void {
    try {
      this.#checkpointNow();
    } catch (err) {
      this.#fail(err, this.#phase);
    }
  }

  /** Writes a checkpoint (docs/STORAGE.md, "Checkpoints"); throws the file-system error, `#phase` telling which kind. */
  #checkpointNow(): void {
    // Metadata that depends on aux values in the log goes into the checkpoint that replaces the log.
    this.#o.beforeCheckpoint?.();
    const fs = this.#fs;
    const dir = this.#o.dir;
    const store = this.#state.chunks;
    this.#phase = 'write';
    if (!this.#degraded) this.#flushBatch();
    // Everything appended so far is in memory; the checkpoint covers it, the log restarts at `segment`.
    const segment = this.#wal.cut();
    this.#walPending = false;
    this.#syncEpoch++;
    store.relocate((file) => this.#refsIn(file), this.#now(), this.#o.chunkFileBytes);
    store.flush();
    this.#phase = 'sync';
    store.syncAll();
    this.#phase = 'write';
    const bytes = encodeCheckpoint(this.#snapshot(segment), this.#checkpointWriter);
    const name = checkpointName(segment);
    const tmp = join(dir, `${name}.tmp`);
    fs.writeFileSync(tmp, bytes);
    fs.rename(tmp, join(dir, name));
    this.#phase = 'sync';
    fs.syncDir(dir);
    this.#phase = 'write';
    this.#checkpointBytes = bytes.length;
    this.#checkpoints++;
    this.#checkpointSoon = false;
    this.#unsyncedSince = undefined;
    this.#inFlightSince = undefined;
    try {
      for (const old of listCheckpoints(fs.readdir(dir))) if (old.segment !== segment) fs.unlink(join(dir, old.name));
      this.#wal.removeBelow(segment);
    } catch (err) {
      this.#log.warn({ err, dir }, 'tsdb: could not delete what the new checkpoint replaces; retried at the next one');
    }
  }

  #snapshot(segment: number): Checkpoint {
    const state = this.#state;
    const chunkFiles: Checkpoint['chunkFiles'] = [];
    for (const f of state.chunks.files.values()) chunkFiles.push({ index: f.index, length: f.synced });
    const series: Checkpoint['series'] = [];
    for (const s of state.all()) {
      const enc = s.enc;
      series.push({
        id: s.id,
        name: s.name,
        lastSeq: s.lastSeq,
        lastTs: s.lastTs,
        lastValue: s.lastValue,
        meta: s.meta,
        headCount: enc?.count ?? 0,
        headFirstSeq: s.headFirstSeq,
        headFlags: s.headFlags,
        headFirstValue: s.headFirstValue,
        headLastValue: s.headLastValue,
        headBytes: enc === undefined ? new Uint8Array(0) : enc.bytes(),
      });
    }
    return {
      walSegment: segment,
      createdMs: this.#now(),
      nextChunkFile: state.chunks.nextIndex,
      nextRecord: this.#nextRecord,
      chunkFiles,
      seriesSlots: state.series.length,
      series,
    };
  }

  #refsIn(file: number): ChunkRef[] {
    const out: ChunkRef[] = [];
    for (const s of this.#state.all()) for (const c of s.chunks) if (c.file === file) out.push(c);
    return out;
  }

  /** The fsync timer: starts a background fdatasync of the log ('interval'), or retries when degraded. */
  #tick(): void {
    if (this.#closed) return;
    if (this.#degraded) {
      this.#maybeRetry();
      return;
    }
    if (this.#o.fsync !== 'interval' || this.#syncing || this.#unsyncedSince === undefined) return;
    const epoch = this.#syncEpoch;
    this.#inFlightSince = this.#unsyncedSince;
    this.#unsyncedSince = undefined;
    this.#syncing = true;
    this.#wal.syncAsync().then(
      () => {
        this.#syncing = false;
        if (epoch === this.#syncEpoch) this.#inFlightSince = undefined;
      },
      (err: unknown) => {
        this.#syncing = false;
        if (this.#closed) return;
        if (epoch !== this.#syncEpoch) {
          // A checkpoint came in between and covers what this sync was for, but the log abandoned its segment.
          this.#checkpointSoon = true;
          return;
        }
        this.#inFlightSince = undefined;
        this.#fail(err, 'sync');
      },
    );
  }

  #retention(): void {
    const nowMs = this.#now();
    this.#lastRetentionMs = nowMs;
    const o = this.#o;
    if ((o.retentionMs === 0 && o.maxDiskBytes === 0) || this.#degraded) return;
    try {
      const other = (): number => this.#wal.bytes() + this.#checkpointBytes;
      let r = applyRetention(this.#state, nowMs, o.retentionMs, o.maxDiskBytes, other);
      this.#retentionFiles += r.files;
      this.#retentionReadings += r.readings;
      if (r.stuck && !this.#syncing) {
        // Over maxDiskBytes with nothing deletable: a checkpoint shrinks the log and makes the newest file deletable.
        this.#tryCheckpoint();
        if (this.#degraded) return;
        r = applyRetention(this.#state, nowMs, 0, o.maxDiskBytes, other);
        this.#retentionFiles += r.files;
        this.#retentionReadings += r.readings;
      }
    } catch (err) {
      this.#log.warn({ err, dir: o.dir }, 'tsdb retention could not delete a chunk file; retried later');
    }
  }

  /** Runs a query over `s`, turning a chunk that fails to decode or read into a TsdbError. */
  #read<T>(s: Series, query: (view: SeriesView) => T): T {
    const enc = s.enc;
    let headBytes: Uint8Array | undefined;
    const view: SeriesView = {
      chunks: s.chunks,
      head: enc === undefined ? undefined : { ...s.headSummary(enc), file: -1, offset: 0, dataLength: 0 },
      sorted: s.sorted,
      data: (ref) => {
        if (ref.file < 0) return (headBytes ??= (enc as NonNullable<typeof enc>).bytes());
        return this.#chunkData(s, ref);
      },
    };
    try {
      return query(view);
    } catch (err) {
      if (err instanceof ChunkDecodeError) {
        throw new TsdbError('ERR_CORRUPT', `a chunk of series '${s.name}' does not decode: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  #chunkData(s: Series, ref: ChunkRef): Uint8Array {
    const file = this.#state.chunks.files.get(ref.file);
    if (file === undefined) throw new TsdbError('ERR_READ', `chunk file ${ref.file} of series '${s.name}' is gone`);
    let bytes: Uint8Array | undefined;
    try {
      bytes = this.#state.chunks.chunkData(file, ref);
    } catch (err) {
      if (err instanceof FormatError) {
        throw new TsdbError('ERR_CORRUPT', `chunk file ${file.path}: ${err.message}`, { cause: err });
      }
      throw new TsdbError('ERR_READ', `cannot read chunk file ${file.path}: ${(err as Error).message}`, { cause: err });
    }
    if (bytes === undefined) throw new TsdbError('ERR_READ', `chunk file ${file.path} is shorter than its index says`);
    return bytes;
  }
}

function info(s: Series): SeriesInfo {
  const some = s.lastSeq > 0;
  return {
    id: s.id,
    name: s.name,
    lastSeq: s.lastSeq,
    lastTs: some ? s.lastTs : undefined,
    lastValue: some ? s.lastValue : undefined,
    firstSeq: s.firstSeq(),
    count: s.count,
    meta: s.meta?.slice(),
  };
}

/** Bytes of the varint of `v`. */
function varintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function checkNumber(name: string, v: number): void {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${name} must be a number (got ${String(v)})`);
}

function checkCount(name: string, v: number): void {
  checkNumber(name, v);
  if (v < 0) throw new RangeError(`${name} must not be negative (got ${v})`);
}
