// How it works: openTsdb's recovery, in the order docs/STORAGE.md,
// "Recovery", gives:
//  1. remove checkpoint.*.tmp (a checkpoint being written when the process
//     stopped), then load the newest checkpoint that validates;
//  2. chunk files: delete those the checkpoint does not cover (created after
//     it, or deleted by retention before it), cut the others back to the
//     length it recorded, and index their chunk headers (CRC checked, data
//     not decoded);
//  3. replay the write-ahead log from the checkpoint's segment: SERIES and
//     META records are applied, SAMPLES re-applied through the same code as
//     append(), skipping every reading with seq <= the series' lastSeq, so a
//     record already covered by the checkpoint changes nothing.
// Damage is cut away and counted in repair mode; in strict mode the first
// damage throws TsdbError ERR_CORRUPT and nothing is repaired.

import { join } from 'node:path';
import { ChunkDecodeError } from '../chunk/index.js';
import type { FileSystem } from '../fs/types.js';
import { Wal, WalCorruptError, WalVersionError, segmentName } from '../wal/index.js';
import { ByteReader, FormatError } from './bytes.js';
import { chunkFileName, parseChunkFileName } from './chunk-file.js';
import { TsdbError } from './errors.js';
import {
  CHUNK_FILE_HEADER_BYTES,
  CHUNK_HEADER_BYTES,
  RECORD_META,
  RECORD_SAMPLES,
  RECORD_SAMPLES2,
  RECORD_SERIES,
  TAG_AUX,
  TAG_TS_F64,
  decodeCheckpoint,
  decodeChunkFileHeader,
  decodeIdRecord,
  decodeName,
  readChunkRecord,
  type Checkpoint,
} from './format.js';
import type { Series } from './head.js';
import type { Logger, MetaReplay } from './options.js';
import type { DbState } from './state.js';

/**
 * What recovery found and did.
 *
 * @example
 * ```ts
 * const { readings, bytesDropped, ms } = openTsdb({ dir }).recovery;
 * ```
 */
export interface RecoveryReport {
  /** Readings held after recovery (closed chunks plus open ones). */
  readings: number;
  /** Series known after recovery. */
  series: number;
  /** Bytes cut away as damaged (torn log tail, corrupt records, corrupt chunks, a corrupt checkpoint). */
  bytesDropped: number;
  /** Damaged stretches found anywhere but at the torn tail of the log. */
  corruptRecords: number;
  /** Whether the log ended in a torn record (what a power cut during a write leaves). */
  tornTail: boolean;
  /** The log segment of the checkpoint recovery started from, `undefined` if none. */
  checkpoint: number | undefined;
  /**
   * Valid log records read from the checkpoint's segment on: applied, ignored as already applied, or skipped
   * after a gap in the record numbers.
   */
  walRecords: number;
  /** Readings re-applied from the log (not already in the checkpoint or the chunk files). */
  walReadings: number;
  /** How long recovery took, ms. */
  ms: number;
}

/** File name of the checkpoint covering the log from `segment` on. */
export function checkpointName(segment: number): string {
  return `checkpoint.${segmentName(segment)}`;
}

const CHECKPOINT = /^checkpoint\.(\d+)$/;
const CHECKPOINT_TMP = /^checkpoint\.\d+\.tmp$/;

/** Checkpoint files in `names`, newest (highest segment) first. */
export function listCheckpoints(names: readonly string[]): Array<{ name: string; segment: number }> {
  const out: Array<{ name: string; segment: number }> = [];
  for (const name of names) {
    const m = CHECKPOINT.exec(name);
    if (m !== null) out.push({ name, segment: Number(m[1]) });
  }
  return out.sort((a, b) => b.segment - a.segment);
}

/** SAMPLES2 tags are below this: a zigzag delta of at most MAX_TS_DELTA times 4, plus the flag bits. */
const MAX_TAG = 2 ** 31;

export interface RecoverContext {
  fs: FileSystem;
  dir: string;
  walDir: string;
  chunksDir: string;
  strict: boolean;
  logger: Logger;
  walSegmentBytes: number;
  state: DbState;
  started: number;
  replayMeta: MetaReplay | undefined;
}

export interface RecoverResult {
  wal: Wal;
  /** Number for the next log record. */
  nextRecord: number;
  checkpointSegment: number | undefined;
  checkpointBytes: number;
  report: RecoveryReport;
  /** Something was replayed or repaired: a checkpoint now makes the next start quick. */
  dirty: boolean;
}

/** Recovers the state in `ctx.dir` into `ctx.state`. Throws TsdbError ERR_CORRUPT (strict) and file-system errors. */
export function recover(ctx: RecoverContext): RecoverResult {
  const { fs, dir, logger, state } = ctx;
  const report: RecoveryReport = {
    readings: 0,
    series: 0,
    bytesDropped: 0,
    corruptRecords: 0,
    tornTail: false,
    checkpoint: undefined,
    walRecords: 0,
    walReadings: 0,
    ms: 0,
  };
  const damage = (what: string, bytes: number, cause?: unknown): void => {
    if (ctx.strict) {
      throw new TsdbError(
        'ERR_CORRUPT',
        `${dir}: ${what} (recovery 'strict'; open with recovery 'repair' to cut it away)`,
        {
          cause,
        },
      );
    }
    report.corruptRecords++;
    report.bytesDropped += bytes;
    logger.warn({ dir, bytes }, `tsdb recovery: ${what}; cut away`);
  };

  // 1. The newest checkpoint that validates.
  const names = fs.readdir(dir);
  for (const name of names) {
    if (CHECKPOINT_TMP.test(name)) fs.unlink(join(dir, name));
  }
  let cp: Checkpoint | undefined;
  let checkpointBytes = 0;
  for (const { name, segment } of listCheckpoints(names)) {
    const bytes = fs.readFile(join(dir, name));
    try {
      const decoded = decodeCheckpoint(bytes);
      if (decoded.walSegment !== segment)
        throw new FormatError(`holds segment ${decoded.walSegment}, named ${segment}`);
      cp = decoded;
      checkpointBytes = bytes.length;
      break;
    } catch (err) {
      damage(`checkpoint ${name} is not valid (${(err as Error).message})`, bytes.length, err);
    }
  }
  if (cp !== undefined) loadCheckpoint(cp, state, damage);
  report.checkpoint = cp?.walSegment;

  // 2. Chunk files.
  let dirty = cp === undefined;
  const listed = new Map((cp?.chunkFiles ?? []).map((f) => [f.index, f.length]));
  // Never reuse an index the checkpoint covers, even when its files are gone: until the next checkpoint, that
  // checkpoint would take a new file of that index for the one it lists.
  if (cp !== undefined) state.chunks.nextIndex = Math.max(state.chunks.nextIndex, cp.nextChunkFile);
  const onDisk: number[] = [];
  for (const name of fs.readdir(ctx.chunksDir)) {
    const index = parseChunkFileName(name);
    if (index !== undefined) onDisk.push(index);
  }
  onDisk.sort((a, b) => a - b);
  for (const index of onDisk) {
    state.chunks.nextIndex = Math.max(state.chunks.nextIndex, index + 1);
    const path = join(ctx.chunksDir, chunkFileName(index));
    const length = listed.get(index);
    if (cp === undefined || index >= cp.nextChunkFile || length === undefined) {
      // Written after the checkpoint (the log replays its chunks again) or deleted by retention before it.
      fs.unlink(path);
      dirty = true;
      continue;
    }
    listed.delete(index);
    let bytes = fs.readFile(path);
    if (bytes.length > length) {
      fs.truncate(path, length);
      bytes = bytes.subarray(0, length);
    } else if (bytes.length < length) {
      damage(
        `chunk file ${path} is ${length - bytes.length} bytes shorter than its checkpoint recorded`,
        length - bytes.length,
      );
      dirty = true;
    }
    let createdMs: number;
    try {
      createdMs = decodeChunkFileHeader(bytes);
    } catch (err) {
      damage(`chunk file ${path}: ${(err as Error).message}`, bytes.length, err);
      fs.unlink(path);
      dirty = true;
      continue;
    }
    const file = state.chunks.adopt(index, bytes.length, createdMs, bytes);
    let offset = CHUNK_FILE_HEADER_BYTES;
    while (offset < bytes.length) {
      let parsed: ReturnType<typeof readChunkRecord>;
      try {
        parsed = readChunkRecord(bytes, offset, bytes.length);
      } catch (err) {
        damage(
          `chunk file ${path}: ${(err as Error).message}; the rest of the file is dropped`,
          bytes.length - offset,
          err,
        );
        fs.truncate(path, offset);
        file.length = file.written = file.synced = offset;
        dirty = true;
        break;
      }
      const { summary, dataLength } = parsed;
      const recordBytes = CHUNK_HEADER_BYTES + dataLength;
      const s = state.series[summary.seriesId];
      const lastSeq = summary.firstSeq + summary.count - 1;
      if (s === undefined || summary.firstSeq <= lastChunkSeq(s) || lastSeq >= nextAfterChunks(s)) {
        damage(`chunk at ${offset} of ${path} does not fit series ${summary.seriesId}`, recordBytes);
        dirty = true;
      } else {
        s.chunks.push({ ...summary, file: index, offset, dataLength });
        s.count += summary.count;
        state.chunks.accountAdopted(file, summary);
      }
      offset += recordBytes;
    }
  }
  for (const [index] of listed)
    logger.info(
      { dir, file: index },
      'tsdb recovery: a chunk file the checkpoint lists is gone (deleted by retention)',
    );

  // 3. The write-ahead log.
  const wal = Wal.open({ fs, dir: ctx.walDir, segmentBytes: ctx.walSegmentBytes });
  const unknown = new Map<number, number>();
  let gen = 0;
  // Records are numbered without gaps: a number past the expected one means
  // records were lost before it (a damaged stretch the log resynchronised
  // past), and applying what follows would leave holes in the series, so
  // replay stops there and what survives of every series is a prefix.
  let expected = cp?.nextRecord;
  let stoppedAt: number | undefined;
  let skipped = 0;
  // replayMeta (docs/STORAGE.md, "Aux values"): the series whose fold has begun, since their last META record.
  const fold = ctx.replayMeta;
  const folding = new Set<number>();
  const applySamples = (r: ByteReader, v2: boolean): void => {
    gen++;
    unknown.clear();
    let prevTs = 0;
    while (r.remaining > 0) {
      const id = r.varint();
      const field = r.varint();
      let ts: number;
      let aux = -1;
      let tag = 0;
      if (v2) {
        tag = r.varint();
        if (tag >= MAX_TAG) throw new FormatError(`SAMPLES2 tag ${tag} is out of range for series ${id}`);
        if (tag % 2 === TAG_TS_F64) {
          if (tag > TAG_TS_F64 + TAG_AUX) throw new FormatError(`unknown SAMPLES2 tag ${tag} for series ${id}`);
          ts = r.f64();
        } else {
          const zz = Math.floor(tag / 4);
          ts = prevTs + (zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2);
        }
        prevTs = ts;
      } else {
        ts = r.f64();
      }
      const value = r.f64();
      if ((tag & TAG_AUX) !== 0) aux = r.varint();
      const s = state.series[id];
      if (s === undefined) {
        // Its SERIES record was lost with a damaged stretch of the log: nothing to attach it to.
        unknown.set(id, (unknown.get(id) ?? 0) + 1);
        continue;
      }
      const seq = s.batchGen === gen ? s.batchSeq + field : field;
      s.batchGen = gen;
      s.batchSeq = seq;
      if (seq <= s.lastSeq) continue;
      if (!Number.isSafeInteger(seq) || !Number.isFinite(ts) || !Number.isFinite(value)) {
        throw new FormatError(`impossible reading for series ${id}`);
      }
      state.apply(s, seq, ts, value);
      report.walReadings++;
      if (fold !== undefined) {
        if (!folding.has(id)) {
          folding.add(id);
          fold.begin(id, s.meta);
        }
        fold.reading(id, seq, aux);
      }
    }
  };
  const onRecord = (type: number, payload: Uint8Array, segment: number): void => {
    try {
      if (stoppedAt !== undefined) {
        skipped++;
        report.bytesDropped += payload.length;
        return;
      }
      const r = new ByteReader(payload);
      const number = r.varint();
      expected ??= number;
      if (number < expected) return; // already applied
      if (number > expected) {
        stoppedAt = segment;
        skipped++;
        report.bytesDropped += payload.length;
        return;
      }
      expected++;
      if (type === RECORD_SAMPLES2 || type === RECORD_SAMPLES) {
        applySamples(r, type === RECORD_SAMPLES2);
      } else if (type === RECORD_SERIES) {
        const { id, rest } = decodeIdRecord(r);
        const name = decodeName(rest);
        const existing = state.series[id];
        if (existing === undefined) {
          if (state.byName.has(name)) throw new FormatError(`series '${name}' given a second id ${id}`);
          state.addSeries(id, name);
        } else if (existing.name !== name) {
          throw new FormatError(`series id ${id} named '${name}', already '${existing.name}'`);
        }
      } else if (type === RECORD_META) {
        const { id, rest } = decodeIdRecord(r);
        const s = state.series[id];
        if (s !== undefined) s.meta = rest.slice();
        // Metadata set after the readings folded so far: the fold starts again from it at the next reading.
        folding.delete(id);
      } else {
        throw new FormatError(`unknown record type ${type}`);
      }
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      damage(`log segment ${segment}: ${err.message}`, payload.length, err);
    }
  };
  try {
    const replay = wal.replay(cp?.walSegment ?? 0, onRecord, { strict: ctx.strict });
    report.walRecords = replay.records;
    report.bytesDropped += replay.bytesDropped;
    report.corruptRecords += replay.corruptRecords;
    report.tornTail = replay.tornTail;
    if (replay.records > 0 || replay.bytesDropped > 0) dirty = true;
    if (replay.bytesDropped > 0)
      logger.warn({ dir, ...replay }, 'tsdb recovery: the write-ahead log was damaged; cut away');
  } catch (err) {
    wal.close();
    if (err instanceof WalCorruptError || err instanceof WalVersionError) {
      throw new TsdbError('ERR_CORRUPT', `${dir}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  if (skipped > 0) {
    logger.warn(
      { dir, segment: stoppedAt, records: skipped },
      'tsdb recovery: log records were lost before these; replay stopped there so that no series has a hole',
    );
    dirty = true;
  }
  if (unknown.size > 0)
    logger.warn(
      { dir, series: [...unknown.keys()] },
      'tsdb recovery: readings of series whose SERIES record was lost were dropped',
    );

  if (fold !== undefined) {
    for (const id of folding) {
      const s = state.series[id];
      if (s === undefined) continue;
      const meta = fold.end(id, s.lastSeq);
      if (meta !== undefined) s.meta = meta.slice();
    }
  }
  for (const s of state.all()) s.recomputeSorted();
  report.readings = state.readings();
  report.series = state.byName.size;
  if (report.corruptRecords > 0) dirty = true;
  return { wal, nextRecord: expected ?? 1, checkpointSegment: cp?.walSegment, checkpointBytes, report, dirty };
}

function lastChunkSeq(s: Series): number {
  const c = s.chunks.at(-1);
  return c === undefined ? 0 : c.firstSeq + c.count - 1;
}

/** Seqs of closed chunks are below this: the head's first, or past the last seq. */
function nextAfterChunks(s: Series): number {
  return s.enc === undefined ? s.lastSeq + 1 : s.headFirstSeq;
}

function loadCheckpoint(
  cp: Checkpoint,
  state: DbState,
  damage: (what: string, bytes: number, cause?: unknown) => void,
): void {
  for (const c of cp.series) {
    const s = state.addSeries(c.id, c.name);
    s.lastSeq = c.lastSeq;
    s.lastTs = c.lastTs;
    s.lastValue = c.lastValue;
    s.meta = c.meta;
    if (c.headCount === 0) continue;
    try {
      // The checkpoint's head flags and first and last values are what the re-encoded head recomputes.
      s.restoreHead(c.headBytes, c.headCount, c.headFirstSeq);
    } catch (err) {
      if (!(err instanceof ChunkDecodeError)) throw err;
      damage(`the open chunk of series '${c.name}' in the checkpoint does not decode`, c.headBytes.length, err);
    }
  }
  while (state.series.length < cp.seriesSlots) state.series.push(undefined);
}
