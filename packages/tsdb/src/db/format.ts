// How it works: the byte layouts of the engine's own files, in one place so
// that docs/STORAGE.md can be checked against them: the chunk file header,
// the chunk record (header + encoded chunk), the checkpoint, and the payloads
// of the write-ahead log records (the log's framing is src/wal's). All
// integers little-endian; see docs/STORAGE.md for the tables.

import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter, FormatError } from './bytes.js';

/** Write-ahead log record types (docs/STORAGE.md, "WAL records"). */
export const RECORD_SERIES = 1;
/** Readings with an f64 timestamp each and no aux value: read, no longer written. */
export const RECORD_SAMPLES = 2;
export const RECORD_META = 3;
/** Readings with timestamps as deltas where they fit, and aux values: what `append` writes. */
export const RECORD_SAMPLES2 = 4;

/** SAMPLES2 tag bit: an f64 timestamp follows (else the tag holds the delta from the previous reading's). */
export const TAG_TS_F64 = 1;
/** SAMPLES2 tag bit: a varint aux value follows the value. */
export const TAG_AUX = 2;
/** A SAMPLES2 timestamp delta is written as a tag when it is an integer of at most this size (the tag stays below 2^31). */
export const MAX_TS_DELTA = 2 ** 28 - 1;

const MAGIC_CHUNK_FILE = 0x46435354; // "TSCF" read as a little-endian u32
const MAGIC_CHUNK = 0x4b4e4843; // "CHNK"
const MAGIC_CHECKPOINT = 0x50435354; // "TSCP"

/** Format version written in the chunk file header; readers refuse others. */
export const CHUNK_FILE_VERSION = 1;
/** Format version written in the checkpoint header; readers refuse others. */
export const CHECKPOINT_VERSION = 1;

/** Bytes of a chunk file header: magic, version, 3 zero bytes, created-at ms as f64. */
export const CHUNK_FILE_HEADER_BYTES = 16;
/** Bytes of a chunk record header, CRC included. */
export const CHUNK_HEADER_BYTES = 88;

/** Chunk flag: the timestamps never decrease in seq order. */
export const FLAG_SORTED = 1;

/** The summary of a chunk, stored in its header, enough to answer a bucket query without decoding. */
export interface ChunkSummary {
  seriesId: number;
  count: number;
  flags: number;
  firstSeq: number;
  minTs: number;
  maxTs: number;
  minValue: number;
  maxValue: number;
  sum: number;
  /** Value of the reading first by (ts, seq). */
  firstValue: number;
  /** Value of the reading last by (ts, seq). */
  lastValue: number;
}

/** The header of a new chunk file. */
export function encodeChunkFileHeader(createdMs: number): Uint8Array {
  const w = new ByteWriter(CHUNK_FILE_HEADER_BYTES);
  w.u32(MAGIC_CHUNK_FILE);
  w.u8(CHUNK_FILE_VERSION);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.f64(createdMs);
  return w.view0();
}

/** Checks a chunk file header and returns its created-at ms; throws {@link FormatError}. */
export function decodeChunkFileHeader(bytes: Uint8Array): number {
  const r = new ByteReader(bytes);
  if (bytes.length < CHUNK_FILE_HEADER_BYTES) throw new FormatError('chunk file shorter than its header');
  if (r.u32() !== MAGIC_CHUNK_FILE) throw new FormatError('not a chunk file (bad magic)');
  const version = r.u8();
  if (version !== CHUNK_FILE_VERSION) throw new FormatError(`chunk file format version ${version} is not supported`);
  r.pos = 8;
  return r.f64();
}

/** Appends one chunk record (header + data) to `w`. */
export function writeChunkRecord(w: ByteWriter, s: ChunkSummary, data: Uint8Array): void {
  w.ensure(CHUNK_HEADER_BYTES + data.length);
  const start = w.pos;
  w.u32(MAGIC_CHUNK);
  w.u32(s.seriesId);
  w.u32(s.count);
  w.u32(data.length);
  w.u8(s.flags);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.f64(s.firstSeq);
  w.f64(s.minTs);
  w.f64(s.maxTs);
  w.f64(s.minValue);
  w.f64(s.maxValue);
  w.f64(s.sum);
  w.f64(s.firstValue);
  w.f64(s.lastValue);
  const crc = crc32(data, crc32(w.buf.subarray(start, w.pos)));
  w.u32(crc);
  w.bytes(data);
}

/**
 * Reads the chunk record header at `offset` of `bytes` (which ends at `end`),
 * checking magic, bounds and CRC. Returns the summary and the data length;
 * throws {@link FormatError}, naming the record by its offset in the file,
 * `at` (for a record read on its own).
 */
export function readChunkRecord(
  bytes: Uint8Array,
  offset: number,
  end: number,
  at = offset,
): { summary: ChunkSummary; dataLength: number } {
  if (end - offset < CHUNK_HEADER_BYTES) throw new FormatError(`chunk header at ${at} runs past the end`);
  const r = new ByteReader(bytes, offset, end);
  if (r.u32() !== MAGIC_CHUNK) throw new FormatError(`no chunk header at ${at} (bad magic)`);
  const seriesId = r.u32();
  const count = r.u32();
  const dataLength = r.u32();
  const flags = r.u8();
  r.pos += 3;
  const summary: ChunkSummary = {
    seriesId,
    count,
    flags,
    firstSeq: r.f64(),
    minTs: r.f64(),
    maxTs: r.f64(),
    minValue: r.f64(),
    maxValue: r.f64(),
    sum: r.f64(),
    firstValue: r.f64(),
    lastValue: r.f64(),
  };
  const stored = r.u32();
  if (dataLength > end - r.pos) throw new FormatError(`chunk at ${at} runs past the end`);
  const crc = crc32(
    bytes.subarray(r.pos, r.pos + dataLength),
    crc32(bytes.subarray(offset, offset + CHUNK_HEADER_BYTES - 4)),
  );
  if (crc !== stored) throw new FormatError(`chunk at ${at} fails its CRC`);
  if (count < 1 || !Number.isSafeInteger(summary.firstSeq) || summary.firstSeq < 1) {
    throw new FormatError(`chunk at ${at} holds impossible counts`);
  }
  return { summary, dataLength };
}

/** One series as a checkpoint stores it. */
export interface CheckpointSeries {
  id: number;
  name: string;
  lastSeq: number;
  lastTs: number;
  lastValue: number;
  meta: Uint8Array | undefined;
  /** The open chunk: 0 readings when there is none. */
  headCount: number;
  headFirstSeq: number;
  headFlags: number;
  headFirstValue: number;
  headLastValue: number;
  headBytes: Uint8Array;
}

/** The content of a checkpoint file. */
export interface Checkpoint {
  walSegment: number;
  createdMs: number;
  /** Index the next new chunk file gets: files at or above it are not covered by this checkpoint. */
  nextChunkFile: number;
  /** Number of the first log record after this checkpoint. */
  nextRecord: number;
  /** Each chunk file and its committed length. */
  chunkFiles: Array<{ index: number; length: number }>;
  /** One more than the highest series id ever given. */
  seriesSlots: number;
  series: CheckpointSeries[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes `name` as UTF-8. */
export function utf8(name: string): Uint8Array {
  return encoder.encode(name);
}

/** The whole checkpoint file: header, body, CRC-32 of everything before it. */
export function encodeCheckpoint(c: Checkpoint, w = new ByteWriter(1 << 16)): Uint8Array {
  w.reset();
  w.u32(MAGIC_CHECKPOINT);
  w.u8(CHECKPOINT_VERSION);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u32(c.walSegment);
  w.f64(c.createdMs);
  w.u32(c.nextChunkFile);
  w.f64(c.nextRecord);
  w.varint(c.chunkFiles.length);
  for (const f of c.chunkFiles) {
    w.varint(f.index);
    w.f64(f.length);
  }
  w.varint(c.seriesSlots);
  w.varint(c.series.length);
  for (const s of c.series) {
    w.varint(s.id);
    w.lengthPrefixed(utf8(s.name));
    w.f64(s.lastSeq);
    w.f64(s.lastTs);
    w.f64(s.lastValue);
    if (s.meta === undefined) {
      w.u8(0);
    } else {
      w.u8(1);
      w.lengthPrefixed(s.meta);
    }
    w.varint(s.headCount);
    if (s.headCount > 0) {
      w.f64(s.headFirstSeq);
      w.u8(s.headFlags);
      w.f64(s.headFirstValue);
      w.f64(s.headLastValue);
      w.lengthPrefixed(s.headBytes);
    }
  }
  w.u32(crc32(w.view0()));
  return w.buf.slice(0, w.pos);
}

/** Decodes and checks a checkpoint file; throws {@link FormatError} when it is not a valid one. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (bytes.length < 36) throw new FormatError('checkpoint shorter than its header');
  const stored = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) throw new FormatError('checkpoint fails its CRC');
  const r = new ByteReader(bytes, 0, bytes.length - 4);
  if (r.u32() !== MAGIC_CHECKPOINT) throw new FormatError('not a checkpoint (bad magic)');
  const version = r.u8();
  if (version !== CHECKPOINT_VERSION) throw new FormatError(`checkpoint format version ${version} is not supported`);
  r.pos = 8;
  const walSegment = r.u32();
  const createdMs = r.f64();
  const nextChunkFile = r.u32();
  const nextRecord = r.f64();
  if (!Number.isSafeInteger(nextRecord) || nextRecord < 1)
    throw new FormatError(`impossible record number ${nextRecord}`);
  const chunkFiles: Checkpoint['chunkFiles'] = [];
  for (let n = r.varint(); n > 0; n--) chunkFiles.push({ index: r.varint(), length: r.f64() });
  const seriesSlots = r.varint();
  const series: CheckpointSeries[] = [];
  for (let n = r.varint(); n > 0; n--) {
    const id = r.varint();
    const name = decodeName(r.lengthPrefixed());
    const lastSeq = r.f64();
    const lastTs = r.f64();
    const lastValue = r.f64();
    const meta = r.u8() === 1 ? r.lengthPrefixed().slice() : undefined;
    const headCount = r.varint();
    let headFirstSeq = 0;
    let headFlags = 0;
    let headFirstValue = 0;
    let headLastValue = 0;
    let headBytes = new Uint8Array(0);
    if (headCount > 0) {
      headFirstSeq = r.f64();
      headFlags = r.u8();
      headFirstValue = r.f64();
      headLastValue = r.f64();
      headBytes = r.lengthPrefixed().slice();
    }
    if (id >= seriesSlots) throw new FormatError(`series id ${id} beyond the ${seriesSlots} slots`);
    series.push({
      id,
      name,
      lastSeq,
      lastTs,
      lastValue,
      meta,
      headCount,
      headFirstSeq,
      headFlags,
      headFirstValue,
      headLastValue,
      headBytes,
    });
  }
  if (r.remaining !== 0) throw new FormatError(`${r.remaining} unexpected bytes after the checkpoint body`);
  return { walSegment, createdMs, nextChunkFile, nextRecord, chunkFiles, seriesSlots, series };
}

/** Payload of a SERIES record: varint record number, varint id, then the name in UTF-8 (the rest). */
export function encodeSeriesRecord(record: number, id: number, name: string): Uint8Array {
  const w = new ByteWriter(24 + name.length * 3);
  w.varint(record);
  w.varint(id);
  w.bytes(utf8(name));
  return w.view0();
}

/** Payload of a META record: varint record number, varint id, then the bytes (the rest). */
export function encodeMetaRecord(record: number, id: number, meta: Uint8Array): Uint8Array {
  const w = new ByteWriter(24 + meta.length);
  w.varint(record);
  w.varint(id);
  w.bytes(meta);
  return w.view0();
}

/** Reads the body of a SERIES or META payload (after its record number): the id and the rest. Throws {@link FormatError}. */
export function decodeIdRecord(r: ByteReader): { id: number; rest: Uint8Array } {
  const id = r.varint();
  return { id, rest: r.bytes(r.remaining) };
}

/** Decodes a series name; throws {@link FormatError} on invalid UTF-8. */
export function decodeName(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (err) {
    throw new FormatError('series name is not valid UTF-8', { cause: err });
  }
}
