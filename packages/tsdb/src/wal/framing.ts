// The write-ahead log's bytes: segment headers and record frames, and the scan
// that reads them back from damaged files. Pure functions over Uint8Array, no
// I/O (src/wal/wal.ts does that). All integers are little-endian.
//
// Segment file (named by its index, zero-padded decimal: 00000001, 00000002...):
//
//   offset  size  field
//   0       4     magic "OPCW" (0x4f 0x50 0x43 0x57)
//   4       1     format version, 1
//   5       3     reserved, zero
//   8       4     segment index, u32 (the number in the file name)
//   12      4     CRC-32 (zlib) of bytes 0..11
//   16      ...   record frames, back to back, up to the end of the file
//
// Record frame (10 bytes + payload):
//
//   offset  size  field
//   0       1     magic 0xd7
//   1       1     record type, 1..255 (0 never occurs, so zeroed space never parses)
//   2       4     payload length in bytes, u32
//   6       4     CRC-32 (zlib) of bytes 1..5 (type and length) followed by the payload
//   10      n     payload
//
// A frame is valid when its magic and type are right, it ends inside the file
// and its CRC matches. Reading a segment, a frame that is not valid is damage:
// the scan looks for the next offset where a valid frame starts. If there is
// one, the bytes in between are a corrupt record (counted, skipped). If there
// is none, the rest of the file is a torn tail: the frame that was being
// written when the power went (cut short, zero-filled, or half old bytes).
// A header that is short or fails its CRC is damage at offset 0 in the same
// way; a header with a good CRC but another version is a format the code does
// not know, reported apart so that it is never "repaired" away.

import { crc32 } from 'node:zlib';

/** The four bytes a segment file starts with: "OPCW". */
export const SEGMENT_MAGIC = Object.freeze([0x4f, 0x50, 0x43, 0x57] as const);
/** The segment format version this code writes and reads. */
export const FORMAT_VERSION = 1;
/** Length of the segment header. */
export const SEGMENT_HEADER_BYTES = 16;
/** The first byte of every record frame. */
export const RECORD_MAGIC = 0xd7;
/** Length of a record frame without its payload. */
export const RECORD_HEADER_BYTES = 10;
/** Largest payload a frame can describe (its length field is a u32). */
export const MAX_PAYLOAD_BYTES = 0xffff_ffff;

/** Writes a segment header for segment `index` into `target` at `offset`. */
export function writeSegmentHeader(target: Uint8Array, offset: number, index: number): void {
  const view = new DataView(target.buffer, target.byteOffset + offset, SEGMENT_HEADER_BYTES);
  target.set(SEGMENT_MAGIC, offset);
  view.setUint8(4, FORMAT_VERSION);
  view.setUint8(5, 0);
  view.setUint16(6, 0, true);
  view.setUint32(8, index, true);
  view.setUint32(12, crc32(target.subarray(offset, offset + 12)), true);
}

/** A fresh segment header for segment `index`. */
export function encodeSegmentHeader(index: number): Uint8Array {
  const header = new Uint8Array(SEGMENT_HEADER_BYTES);
  writeSegmentHeader(header, 0, index);
  return header;
}

/** What {@link checkSegmentHeader} found. */
export type SegmentHeaderCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'short' | 'bad magic' | 'bad checksum' | 'wrong index' }
  | { readonly ok: false; readonly reason: 'unknown version'; readonly version: number };

/** Checks the header at the start of `bytes`, a segment file expected to be segment `index`. */
export function checkSegmentHeader(bytes: Uint8Array, index: number): SegmentHeaderCheck {
  if (bytes.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'short' };
  for (let i = 0; i < 4; i++) if (bytes[i] !== SEGMENT_MAGIC[i]) return { ok: false, reason: 'bad magic' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.getUint32(12, true) !== crc32(bytes.subarray(0, 12))) return { ok: false, reason: 'bad checksum' };
  const version = view.getUint8(4);
  if (version !== FORMAT_VERSION) return { ok: false, reason: 'unknown version', version };
  if (view.getUint32(8, true) !== index >>> 0) return { ok: false, reason: 'wrong index' };
  return { ok: true };
}

/** Bytes a record with a payload of `payloadLength` takes in the log. */
export const frameBytes = (payloadLength: number): number => RECORD_HEADER_BYTES + payloadLength;

/**
 * Writes a record frame into `target` at `offset` (which must have room for
 * {@link frameBytes}) and returns the offset after it. `scratch` is a 5-byte
 * work area for the CRC of type and length, so that framing allocates nothing.
 */
export function writeFrame(
  target: Uint8Array,
  view: DataView,
  offset: number,
  type: number,
  payload: Uint8Array,
  scratch: Uint8Array,
): number {
  const length = payload.length;
  scratch[0] = type;
  scratch[1] = length & 0xff;
  scratch[2] = (length >>> 8) & 0xff;
  scratch[3] = (length >>> 16) & 0xff;
  scratch[4] = (length >>> 24) & 0xff;
  const crc = crc32(payload, crc32(scratch));
  target[offset] = RECORD_MAGIC;
  target.set(scratch, offset + 1);
  view.setUint32(offset + 6, crc, true);
  target.set(payload, offset + RECORD_HEADER_BYTES);
  return offset + RECORD_HEADER_BYTES + length;
}

/** One record frame as bytes (for tests and tools; the log itself frames into a reused buffer). */
export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(frameBytes(payload.length));
  writeFrame(frame, new DataView(frame.buffer), 0, type, payload, new Uint8Array(5));
  return frame;
}

/**
 * The length of the valid frame starting at `offset` in `bytes`, or 0 when
 * none starts there (bad magic, type 0, running past the end, CRC mismatch).
 */
export function validFrameAt(bytes: Uint8Array, offset: number): number {
  if (offset + RECORD_HEADER_BYTES > bytes.length) return 0;
  if (bytes[offset] !== RECORD_MAGIC || bytes[offset + 1] === 0) return 0;
  const length =
    ((bytes[offset + 2] as number) |
      ((bytes[offset + 3] as number) << 8) |
      ((bytes[offset + 4] as number) << 16) |
      ((bytes[offset + 5] as number) << 24)) >>>
    0;
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > bytes.length) return 0;
  const stored =
    ((bytes[offset + 6] as number) |
      ((bytes[offset + 7] as number) << 8) |
      ((bytes[offset + 8] as number) << 16) |
      ((bytes[offset + 9] as number) << 24)) >>>
    0;
  const crc = crc32(bytes.subarray(offset + RECORD_HEADER_BYTES, end), crc32(bytes.subarray(offset + 1, offset + 6)));
  return crc === stored ? RECORD_HEADER_BYTES + length : 0;
}

/** The first offset >= `from` where a valid frame starts, or -1. */
export function nextValidFrame(bytes: Uint8Array, from: number): number {
  for (let p = bytes.indexOf(RECORD_MAGIC, from); p >= 0; p = bytes.indexOf(RECORD_MAGIC, p + 1)) {
    if (validFrameAt(bytes, p) > 0) return p;
  }
  return -1;
}

/** A stretch of a segment that held no valid frame. */
export interface Damage {
  /** Where it starts in the segment file. */
  readonly offset: number;
  /** How many bytes it spans. */
  readonly bytes: number;
  /** Whether it runs to the end of the file (a torn tail) rather than being followed by a valid frame. */
  readonly tail: boolean;
  /** What was wrong at `offset`. */
  readonly reason: string;
}

/** What {@link scanSegment} found in one segment file. */
export interface SegmentScan {
  /** Valid records delivered. */
  readonly records: number;
  /** Every damaged stretch, in file order (at most one of them is a tail, the last). */
  readonly damage: readonly Damage[];
  /** Where the last valid frame (or the header, or 0) ends: the length to truncate a torn tail to. */
  readonly validEnd: number;
  /** Whether the header is present and right. */
  readonly headerOk: boolean;
  /** Set when the header has a good CRC but a version this code does not read; nothing else is scanned. */
  readonly unknownVersion?: number;
}

function describeFrame(bytes: Uint8Array, offset: number): string {
  if (offset + RECORD_HEADER_BYTES > bytes.length) return 'frame header cut short';
  if (bytes[offset] !== RECORD_MAGIC) return 'bad record magic';
  if (bytes[offset + 1] === 0) return 'record type 0';
  const length = new DataView(bytes.buffer, bytes.byteOffset + offset + 2, 4).getUint32(0, true);
  if (offset + RECORD_HEADER_BYTES + length > bytes.length) return 'frame runs past the end of the file';
  return 'record checksum mismatch';
}

/**
 * Reads the records of one segment file, calling `onRecord` for each valid
 * one in order (`payload` is a view into `bytes`), and resynchronising past
 * damage on the next valid frame. Never throws on any content of `bytes`.
 * With `stopAtDamage` it returns at the first damage (for strict recovery).
 *
 * @example
 * ```ts
 * const scan = scanSegment(fs.readFile(path), 3, (type, payload) => apply(type, payload));
 * if (scan.damage.at(-1)?.tail) fs.truncate(path, scan.validEnd);
 * ```
 */
export function scanSegment(
  bytes: Uint8Array,
  index: number,
  onRecord: (type: number, payload: Uint8Array, offset: number) => void,
  stopAtDamage = false,
): SegmentScan {
  const damage: Damage[] = [];
  let records = 0;
  if (bytes.length === 0) return { records, damage, validEnd: 0, headerOk: false };

  const header = checkSegmentHeader(bytes, index);
  if (!header.ok && header.reason === 'unknown version') {
    return { records, damage, validEnd: 0, headerOk: false, unknownVersion: header.version };
  }
  let p: number;
  let validEnd: number;
  if (header.ok) {
    p = SEGMENT_HEADER_BYTES;
    validEnd = SEGMENT_HEADER_BYTES;
  } else {
    const next = nextValidFrame(bytes, 1);
    const tail = next < 0;
    damage.push({ offset: 0, bytes: tail ? bytes.length : next, tail, reason: `segment header: ${header.reason}` });
    if (tail || stopAtDamage) return { records, damage, validEnd: 0, headerOk: false };
    p = next;
    validEnd = 0;
  }

  while (p < bytes.length) {
    const length = validFrameAt(bytes, p);
    if (length > 0) {
      const type = bytes[p + 1] as number;
      onRecord(type, bytes.subarray(p + RECORD_HEADER_BYTES, p + length), p);
      records++;
      p += length;
      validEnd = p;
      continue;
    }
    const next = nextValidFrame(bytes, p + 1);
    const tail = next < 0;
    damage.push({ offset: p, bytes: (tail ? bytes.length : next) - p, tail, reason: describeFrame(bytes, p) });
    if (tail || stopAtDamage) break;
    p = next;
  }
  return { records, damage, validEnd, headerOk: header.ok };
}
