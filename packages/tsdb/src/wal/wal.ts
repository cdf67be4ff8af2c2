// How it works: the log is a directory of segment files (00000001,
// 00000002, ...; the byte layout is at the top of src/wal/framing.ts).
// `append()` frames a record straight into one reused buffer, which grows by
// doubling and is never given back, so the steady state allocates nothing per
// record; `commit()` hands the whole batch to the file system in ONE write.
// The buffer keeps room for a segment header in front of the batch, so that
// when a batch starts a new segment the header and the batch still go out as
// one write. A batch never straddles two segments: if it would push the
// current segment past `segmentBytes` the log first moves to a new one, and a
// batch bigger than a segment gets a segment of its own.
//
// Recovery: `replay()` reads the segments and hands every valid record over;
// damage is skipped by resynchronising on the next valid frame, and a torn
// tail of the last segment (the write the power cut) is truncated away, after
// which appends continue in that segment. Without a replay, or when the last
// segment could not be repaired, the first commit starts a new segment, so a
// frame is never written after bytes that were not checked.
//
// Failures: a failed write or sync is thrown to the caller, the batch is
// dropped (the caller still has the data), and the segment is abandoned: the
// next commit starts a new one, since a segment after a failed fsync cannot be
// trusted (the kernel may have dropped the pages it could not write) and a
// segment after a failed write may end in half a frame.
//
// Durability: `sync()` fdatasyncs the current segment and every segment
// rotated away from since the last sync, and fsyncs the directory when a
// segment was created since, so that a new segment's name is as durable as
// its data.

import { join } from 'node:path';
import { errnoCode } from '../fs/errors.js';
import type { FileHandle, FileSystem } from '../fs/types.js';
import { WalClosedError, WalCorruptError, WalVersionError } from './errors.js';
import {
  MAX_PAYLOAD_BYTES,
  SEGMENT_HEADER_BYTES,
  encodeSegmentHeader,
  frameBytes,
  scanSegment,
  writeFrame,
  writeSegmentHeader,
} from './framing.js';

/** Options of {@link Wal.open}. */
export interface WalOptions {
  /** Where the files live. */
  fs: FileSystem;
  /** The log's directory (created if missing); it holds nothing but segments. */
  dir: string;
  /** A segment is closed and a new one started before a commit would make it longer than this. Default 64 MiB. */
  segmentBytes?: number;
}

/** Defaults of {@link WalOptions}. */
export const WAL_DEFAULTS = Object.freeze({ segmentBytes: 64 * 1024 * 1024 });

/** The smallest `segmentBytes` accepted. */
export const MIN_SEGMENT_BYTES = 32;

/** Options of {@link Wal.replay}. */
export interface ReplayOptions {
  /** Throw {@link WalCorruptError} at the first damage (a torn tail included) instead of repairing. */
  strict?: boolean;
}

/** What {@link Wal.replay} found. */
export interface ReplayReport {
  /** Valid records handed to the callback. */
  records: number;
  /** Bytes skipped or truncated because they held no valid frame. */
  bytesDropped: number;
  /** Damaged stretches skipped that were not the torn tail of the last segment (each may have held several records). */
  corruptRecords: number;
  /** Whether the last segment ended in a torn or zeroed frame (truncated away by the repair). */
  tornTail: boolean;
  /** Segments read. */
  segments: number;
}

/** The file name of segment `index`: zero-padded decimal, at least 8 digits. */
export const segmentName = (index: number): string => String(index).padStart(8, '0');

const SEGMENT_NAME = /^\d{8,}$/;
const INITIAL_BUFFER_BYTES = 64 * 1024;
/** Segments rotated away from and not yet synced kept open at most; beyond, the oldest is synced at rotation. */
const MAX_UNSYNCED_SEGMENTS = 8;

function validateOptions(options: WalOptions): number {
  if (typeof options !== 'object' || options === null) {
    throw Object.assign(new TypeError('Wal.open needs an options object { fs, dir }'), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  }
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw Object.assign(new TypeError('Wal.open: dir must be a non-empty string'), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  if (typeof options.fs !== 'object' || options.fs === null) {
    throw Object.assign(new TypeError('Wal.open: fs must be a FileSystem'), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  const segmentBytes = options.segmentBytes ?? WAL_DEFAULTS.segmentBytes;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES) {
    throw Object.assign(
      new RangeError(`Wal.open: segmentBytes must be an integer >= ${MIN_SEGMENT_BYTES}, got ${String(segmentBytes)}`),
      { code: 'ERR_OUT_OF_RANGE' },
    );
  }
  return segmentBytes;
}

function closeQuietly(handle: FileHandle): void {
  try {
    handle.close();
  } catch {
    // the handle is being abandoned after a failure; its close error adds nothing
  }
}

/**
 * A segmented write-ahead log with group commit: records are appended in
 * memory during an event-loop turn and written with one write per
 * {@link Wal.commit}.
 *
 * @example
 * ```ts
 * const wal = Wal.open({ fs: new NodeFileSystem(), dir: '/var/lib/opc/wal' });
 * const report = wal.replay(1, (type, payload) => apply(type, payload));
 * wal.append(1, record);      // buffered
 * wal.append(2, other);
 * wal.commit();               // one write
 * wal.sync();                 // durable
 * ```
 */
export class Wal {
  /** The log's directory. */
  readonly dir: string;
  /** See {@link WalOptions.segmentBytes}. */
  readonly segmentBytes: number;

  readonly #fs: FileSystem;
  #segments: number[];
  readonly #sizes: Map<number, number>;
  #current: FileHandle | undefined;
  #currentIndex = 0;
  #currentSize = 0;
  #unsynced: FileHandle[] = [];
  #dirDirty = false;
  #mustRotate = false;
  #resumable: number | undefined;
  #minNext = 1;
  #closed = false;

  #buf = new Uint8Array(INITIAL_BUFFER_BYTES);
  #view = new DataView(this.#buf.buffer);
  #end = SEGMENT_HEADER_BYTES;
  #batchRecords = 0;
  readonly #scratch = new Uint8Array(5);

  #bytesWritten = 0;
  #segmentsCreated = 0;
  #recordsWritten = 0;
  #commits = 0;

  private constructor(
    fs: FileSystem,
    dir: string,
    segmentBytes: number,
    segments: number[],
    sizes: Map<number, number>,
  ) {
    this.#fs = fs;
    this.dir = dir;
    this.segmentBytes = segmentBytes;
    this.#segments = segments;
    this.#sizes = sizes;
  }

  /**
   * Opens the log in `options.dir` (creating the directory) and lists its
   * segments. Nothing is read or written yet: call {@link Wal.replay} first
   * to recover, then append. File-system errors are thrown as they are.
   */
  static open(options: WalOptions): Wal {
    const segmentBytes = validateOptions(options);
    const { fs, dir } = options;
    fs.mkdirp(dir);
    const segments = fs
      .readdir(dir)
      .filter((name) => SEGMENT_NAME.test(name) && segmentName(Number(name)) === name) // canonical names only
      .map(Number)
      .filter((index) => Number.isSafeInteger(index) && index >= 1)
      .sort((a, b) => a - b);
    const sizes = new Map(segments.map((index) => [index, fs.size(join(dir, segmentName(index)))]));
    return new Wal(fs, dir, segmentBytes, segments, sizes);
  }

  /** Indexes of the segments on disk, ascending. */
  get segments(): readonly number[] {
    return this.#segments;
  }

  /** The segment commits go to, or `undefined` before the first commit. */
  get currentSegment(): number | undefined {
    return this.#current ? this.#currentIndex : undefined;
  }

  /** Bytes written by commits and cuts since open (segment headers included). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Segments this log created since open. */
  get segmentsCreated(): number {
    return this.#segmentsCreated;
  }

  /** Records written by successful commits since open. */
  get recordsWritten(): number {
    return this.#recordsWritten;
  }

  /** Successful commits that wrote something, since open. */
  get commits(): number {
    return this.#commits;
  }

  /** Records appended and not yet committed. */
  get pendingRecords(): number {
    return this.#batchRecords;
  }

  /**
   * Reads every segment with an index >= `from`, in order, calling
   * `onRecord` for each valid record (`payload` is a view of the segment's
   * bytes; copy what must outlive the callback). Damage in the middle is
   * skipped by resynchronising on the next valid frame; a torn or zeroed tail
   * of the last segment is truncated away so appends continue after the last
   * good record. Never throws on any content of the files; it throws the file
   * system's errors, whatever `onRecord` throws, and {@link WalVersionError}
   * for a segment of a newer format. With `strict`, the first damage (a torn
   * tail included) throws {@link WalCorruptError} and nothing is changed.
   * Call it before the first commit: a segment already written to is read
   * but never repaired.
   *
   * @example
   * ```ts
   * const report = wal.replay(checkpointSegment, (type, payload, segment) => apply(type, payload));
   * if (report.corruptRecords > 0) logger.warn(report, 'write-ahead log damaged');
   * ```
   */
  replay(
    from: number,
    onRecord: (type: number, payload: Uint8Array, segment: number) => void,
    opts: ReplayOptions = {},
  ): ReplayReport {
    this.#checkOpen('replay');
    const strict = opts.strict === true;
    const report: ReplayReport = { records: 0, bytesDropped: 0, corruptRecords: 0, tornTail: false, segments: 0 };
    if (Number.isSafeInteger(from) && from > this.#minNext) this.#minNext = from;
    const last = this.#segments.at(-1);
    const writing = this.#current !== undefined || this.#unsynced.length > 0;
    for (const index of [...this.#segments]) {
      if (index < from) continue;
      const path = join(this.dir, segmentName(index));
      const bytes = this.#fs.readFile(path);
      report.segments++;
      const scan = scanSegment(bytes, index, (type, payload) => onRecord(type, payload, index), strict);
      report.records += scan.records;
      if (scan.unknownVersion !== undefined) throw new WalVersionError(path, index, scan.unknownVersion);
      const first = scan.damage[0];
      if (strict && first) throw new WalCorruptError(path, index, first.offset, first.reason);
      const isLast = index === last;
      for (const damage of scan.damage) {
        report.bytesDropped += damage.bytes;
        if (damage.tail && isLast) report.tornTail = true;
        else report.corruptRecords++;
      }
      if (!isLast || writing) continue;
      this.#resumable = undefined;
      if (scan.damage.at(-1)?.tail === true) {
        try {
          this.#fs.truncate(path, scan.validEnd);
        } catch {
          continue; // not resumable: the first commit starts a new segment
        }
        this.#sizes.set(index, scan.validEnd);
      }
      if (scan.headerOk || scan.validEnd === 0) this.#resumable = index;
    }
    return report;
  }

  /**
   * Adds a record to the batch of this turn; nothing is written until
   * {@link Wal.commit}. `type` is 1..255 (the caller's record kinds).
   */
  append(type: number, payload: Uint8Array): void {
    this.#checkOpen('append');
    if (!Number.isInteger(type) || type < 1 || type > 255) {
      throw Object.assign(new RangeError(`record type must be an integer from 1 to 255, got ${String(type)}`), {
        code: 'ERR_OUT_OF_RANGE',
      });
    }
    if (!(payload instanceof Uint8Array)) {
      throw Object.assign(new TypeError('record payload must be a Uint8Array'), { code: 'ERR_INVALID_ARG_TYPE' });
    }
    if (payload.length > MAX_PAYLOAD_BYTES) {
      throw Object.assign(new RangeError(`record payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`), {
        code: 'ERR_OUT_OF_RANGE',
      });
    }
    const end = this.#end + frameBytes(payload.length);
    if (end > this.#buf.length) this.#grow(end);
    this.#end = writeFrame(this.#buf, this.#view, this.#end, type, payload, this.#scratch);
    this.#batchRecords++;
  }

  /**
   * Writes every record appended since the last commit with one write and
   * returns the bytes written (0 when there was nothing; a new segment's
   * header counts). Moves to a new segment first when the batch would not fit
   * in the current one. Not durable until {@link Wal.sync}. On a file-system
   * error the batch is dropped, the error thrown, and the next commit starts
   * a new segment.
   */
  commit(): number {
    this.#checkOpen('commit');
    const batch = this.#end - SEGMENT_HEADER_BYTES;
    if (batch === 0) return 0;
    const records = this.#batchRecords;
    this.#end = SEGMENT_HEADER_BYTES;
    this.#batchRecords = 0;

    const withHeader = this.#prepare(batch);
    const handle = this.#current as FileHandle;
    const start = withHeader ? 0 : SEGMENT_HEADER_BYTES;
    if (withHeader) writeSegmentHeader(this.#buf, 0, this.#currentIndex);
    const data = this.#buf.subarray(start, SEGMENT_HEADER_BYTES + batch);
    try {
      handle.write(data);
    } catch (error) {
      this.#failed(handle);
      throw error;
    }
    this.#wrote(data.length);
    this.#recordsWritten += records;
    this.#commits++;
    return data.length;
  }

  /**
   * Makes every committed record durable: fdatasync of the current segment
   * and of those rotated away from since the last sync, and an fsync of the
   * directory if a segment was created since. On error the segment is
   * abandoned (the next commit starts a new one) and the error thrown.
   */
  sync(): void {
    this.#checkOpen('sync');
    const current = this.#current;
    try {
      current?.sync();
      while (this.#unsynced.length > 0) {
        const handle = this.#unsynced[0] as FileHandle;
        handle.sync();
        this.#unsynced.shift();
        handle.close();
      }
      if (this.#dirDirty) {
        this.#fs.syncDir(this.dir);
        this.#dirDirty = false;
      }
    } catch (error) {
      this.#syncFailed();
      throw error;
    }
  }

  /** {@link Wal.sync} with the fdatasyncs on the thread pool (the directory fsync, rare, stays synchronous). */
  async syncAsync(): Promise<void> {
    this.#checkOpen('sync');
    const handles = this.#current ? [this.#current, ...this.#unsynced] : [...this.#unsynced];
    try {
      if (this.#dirDirty) {
        this.#fs.syncDir(this.dir);
        this.#dirDirty = false;
      }
      await Promise.all(handles.map((handle) => handle.syncAsync()));
    } catch (error) {
      this.#syncFailed();
      throw error;
    }
    for (const handle of handles) {
      const i = this.#unsynced.indexOf(handle);
      if (i >= 0) {
        this.#unsynced.splice(i, 1);
        handle.close();
      }
    }
  }

  /**
   * Commits what is pending, then closes the current segment and starts a new
   * one (its header written at once), and returns the new segment's index:
   * records appended from now on are in segments >= it.
   *
   * @example
   * ```ts
   * const segment = wal.cut();          // the checkpoint covers everything before `segment`
   * writeCheckpoint(`checkpoint.${segment}`);
   * wal.removeBelow(segment);
   * ```
   */
  cut(): number {
    this.#checkOpen('cut');
    this.commit();
    this.#startSegment();
    const handle = this.#current as FileHandle;
    const header = encodeSegmentHeader(this.#currentIndex);
    try {
      handle.write(header);
    } catch (error) {
      this.#failed(handle);
      throw error;
    }
    this.#wrote(header.length);
    return this.#currentIndex;
  }

  /**
   * Deletes the segments with an index below `segment` (never the one commits
   * go to), fsyncs the directory, and returns the bytes freed.
   */
  removeBelow(segment: number): number {
    this.#checkOpen('removeBelow');
    let freed = 0;
    let removed = 0;
    try {
      for (const index of [...this.#segments]) {
        if (index >= segment) break;
        if (this.#current && index === this.#currentIndex) continue;
        const path = join(this.dir, segmentName(index));
        for (const handle of this.#unsynced.filter((h) => h.path === path)) {
          this.#unsynced.splice(this.#unsynced.indexOf(handle), 1);
          closeQuietly(handle);
        }
        try {
          this.#fs.unlink(path);
        } catch (error) {
          if (errnoCode(error) !== 'ENOENT') throw error;
        }
        freed += this.#sizes.get(index) ?? 0;
        this.#sizes.delete(index);
        this.#segments = this.#segments.filter((s) => s !== index);
        if (this.#resumable === index) this.#resumable = undefined;
        removed++;
      }
    } finally {
      if (removed > 0) this.#fs.syncDir(this.dir);
    }
    return freed;
  }

  /** Total bytes of all segments. */
  bytes(): number {
    let total = 0;
    for (const size of this.#sizes.values()) total += size;
    return total;
  }

  /** Closes the segment files. Records appended and not committed are dropped; nothing is synced. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end = SEGMENT_HEADER_BYTES;
    this.#batchRecords = 0;
    for (const handle of this.#unsynced) closeQuietly(handle);
    this.#unsynced = [];
    if (this.#current) closeQuietly(this.#current);
    this.#current = undefined;
  }

  // ---- internals ----

  #checkOpen(operation: string): void {
    if (this.#closed) throw new WalClosedError(operation);
  }

  #grow(needed: number): void {
    let capacity = this.#buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.#buf.subarray(0, this.#end));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Makes sure a segment can take a batch of `batch` bytes; returns whether the segment header goes in front. */
  #prepare(batch: number): boolean {
    if (!this.#current && !this.#mustRotate && this.#resumable !== undefined) {
      const index = this.#resumable;
      this.#resumable = undefined;
      this.#current = this.#fs.openAppend(join(this.dir, segmentName(index)));
      this.#currentIndex = index;
      this.#currentSize = this.#current.size();
    }
    if (this.#current && !this.#mustRotate) {
      if (this.#currentSize === 0) return true;
      if (this.#currentSize <= SEGMENT_HEADER_BYTES || this.#currentSize + batch <= this.segmentBytes) return false;
    }
    this.#startSegment();
    return true;
  }

  /** Creates the next segment file and makes it current (empty: the caller writes its header). */
  #startSegment(): void {
    const index = Math.max((this.#segments.at(-1) ?? 0) + 1, this.#minNext);
    const handle = this.#fs.openAppend(join(this.dir, segmentName(index)));
    const previous = this.#current;
    if (previous) {
      if (this.#mustRotate) closeQuietly(previous);
      else this.#unsynced.push(previous);
    }
    this.#resumable = undefined;
    this.#current = handle;
    this.#currentIndex = index;
    this.#currentSize = handle.size();
    this.#mustRotate = false;
    this.#segments.push(index);
    this.#sizes.set(index, this.#currentSize);
    this.#dirDirty = true;
    this.#segmentsCreated++;
    if (this.#unsynced.length > MAX_UNSYNCED_SEGMENTS) {
      const oldest = this.#unsynced.shift() as FileHandle;
      try {
        oldest.sync();
      } finally {
        closeQuietly(oldest);
      }
    }
  }

  #wrote(bytes: number): void {
    this.#currentSize += bytes;
    this.#sizes.set(this.#currentIndex, this.#currentSize);
    this.#bytesWritten += bytes;
  }

  #failed(handle: FileHandle): void {
    this.#mustRotate = true;
    try {
      this.#currentSize = handle.size();
      this.#sizes.set(this.#currentIndex, this.#currentSize);
    } catch {
      // the size stays as last known
    }
  }

  #syncFailed(): void {
    this.#mustRotate = true;
    for (const handle of this.#unsynced) closeQuietly(handle);
    this.#unsynced = [];
  }
}
