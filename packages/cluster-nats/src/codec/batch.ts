// How it works: a batch is the readings one node ingested in one event-loop
// turn, written as one JetStream message. Layout (docs in the package README,
// "Batch format"):
//
//   u8      version (1)
//   u8      origin length L (1..64), then L bytes of [A-Za-z0-9_-]
//   varint  batch seq (0..2^53-1), the origin's counter
//   varint  reading count
//   count × reading:
//     u8      flags: 1 = name is a reference, 2 = timestamp is a delta, 4 = sender seq present
//     name:   reference: varint index into this batch's earlier names;
//             else u8 length (1..128) and the bytes, appended to the names
//     f64 LE  value (finite)
//     ts:     delta: varint zigzag(ts − previous ts), both integers; else f64 LE (finite)
//     varint  sender seq (0..2^53-1) when flag 4
//   u32 LE  CRC-32 of every byte before it
//
// Varints are unsigned LEB128, at most 8 bytes, canonical (no trailing zero
// byte) and at most Number.MAX_SAFE_INTEGER. The previous timestamp of the
// first reading is 0. The checksum makes any damage a decode error: a batch
// either decodes to what was encoded or throws BatchDecodeError.

import { crc32 } from 'node:zlib';
import { BatchDecodeError, invalidType, outOfRange } from './errors.js';

/** The version byte the encoder writes; the decoder reads only this one. */
export const BATCH_FORMAT_VERSION = 1;
/** A sensor name is 1 to 128 bytes (docs/PROTOCOL.md, "Readings, names and numbers"). */
export const MAX_NAME_BYTES = 128;
/** A node name is 1 to 64 bytes of `A-Z a-z 0-9 _ -`. */
export const MAX_NODE_NAME_BYTES = 64;
/** The most bytes one reading takes in a batch: flags, a new 128-byte name, value, f64 timestamp, 8-byte varint. */
export const MAX_READING_BYTES = 1 + 1 + MAX_NAME_BYTES + 8 + 8 + 8;

const FLAG_NAME_REF = 1;
const FLAG_TS_DELTA = 2;
const FLAG_SENDER_SEQ = 4;
const FLAGS_KNOWN = FLAG_NAME_REF | FLAG_TS_DELTA | FLAG_SENDER_SEQ;
/** Deltas below this in magnitude are written as varints: their zigzag form stays a safe integer. */
const MAX_DELTA = 2 ** 52;

/** One reading, as docs/PROTOCOL.md defines it; `senderSeq` is -1 when the sender sent none. */
export interface Reading {
  name: string;
  value: number;
  timestampMs: number;
  senderSeq: number;
}

/**
 * A decoded batch: who sent it, its place in the origin's order, and the readings as columns (reading `i` is
 * `names[i]`, `values[i]`, `timestampsMs[i]`, `senderSeqs[i]`, with -1 for no sender seq).
 */
export interface ReadingBatch {
  /** The node that ingested these readings. */
  origin: string;
  /** The origin's batch counter: one more for each batch it publishes. */
  batchSeq: number;
  /** How many readings. */
  length: number;
  names: string[];
  values: Float64Array;
  timestampsMs: Float64Array;
  senderSeqs: Float64Array;
}

// 1 for the bytes a sensor name may hold: A-Z a-z 0-9 _ . - /
const NAME_BYTE = new Uint8Array(128);
// 1 for the bytes a node name may hold: A-Z a-z 0-9 _ -
const NODE_BYTE = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  const alnum = /[A-Za-z0-9]/.test(ch);
  NAME_BYTE[c] = alnum || ch === '_' || ch === '.' || ch === '-' || ch === '/' ? 1 : 0;
  NODE_BYTE[c] = alnum || ch === '_' || ch === '-' ? 1 : 0;
}

/** True when `name` is 1 to 128 characters of `A-Z a-z 0-9 _ . - /`. */
export function isValidName(name: string): boolean {
  const n = name.length;
  if (n === 0 || n > MAX_NAME_BYTES) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || NAME_BYTE[c] === 0) return false;
  }
  return true;
}

/** True when `name` is 1 to 64 characters of `A-Z a-z 0-9 _ -`: a NATS subject token and a message-id part. */
export function isValidNodeName(name: string): boolean {
  const n = name.length;
  if (n === 0 || n > MAX_NODE_NAME_BYTES) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || NODE_BYTE[c] === 0) return false;
  }
  return true;
}

/**
 * Throws a `TypeError`/`RangeError` naming the field when a reading cannot be encoded: a bad name, a non-finite value
 * or timestamp, or a sender seq that is neither -1 nor a safe non-negative integer.
 */
export function checkReading(name: string, value: number, timestampMs: number, senderSeq: number): void {
  if (typeof name !== 'string') throw invalidType(`reading name must be a string, got ${typeof name}`);
  if (!isValidName(name)) {
    throw outOfRange(`reading name must be 1 to 128 bytes of A-Z a-z 0-9 _ . - /, got ${JSON.stringify(name)}`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw outOfRange(`reading value must be a finite number, got ${String(value)}`);
  }
  if (typeof timestampMs !== 'number' || !Number.isFinite(timestampMs)) {
    throw outOfRange(`reading timestampMs must be a finite number, got ${String(timestampMs)}`);
  }
  if (!Number.isSafeInteger(senderSeq) || senderSeq < -1) {
    throw outOfRange(`reading senderSeq must be -1 or an integer from 0 to 2^53-1, got ${String(senderSeq)}`);
  }
}

function checkHeader(origin: string, batchSeq: number): void {
  if (typeof origin !== 'string' || !isValidNodeName(origin)) {
    throw outOfRange(`origin must be 1 to 64 bytes of A-Z a-z 0-9 _ -, got ${JSON.stringify(origin)}`);
  }
  if (!Number.isSafeInteger(batchSeq) || batchSeq < 0) {
    throw outOfRange(`batchSeq must be an integer from 0 to 2^53-1, got ${String(batchSeq)}`);
  }
}

/**
 * Builds batches: `add()` readings, then `finish()` returns the batch's bytes and empties the encoder for the next
 * one. The buffer is kept and grown as needed, so a long-lived encoder allocates only the returned bytes.
 *
 * @example
 * ```ts
 * const encoder = new BatchEncoder();
 * encoder.add('plant1/boiler.temp', 81.5, 1764316800125, 42);
 * encoder.add('ramp', 0.35, 1764316800126); // no sender seq
 * const bytes = encoder.finish('node-a', 7);
 * decodeBatch(bytes).names; // ['plant1/boiler.temp', 'ramp']
 * ```
 */
export class BatchEncoder {
  #buf = new Uint8Array(4096);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;
  #count = 0;
  #prevTs = 0;
  #names = new Map<string, number>();

  /** Readings added since the last `finish()`. */
  get count(): number {
    return this.#count;
  }

  /** Bytes of the readings added so far (the header and checksum add at most 84). */
  get byteLength(): number {
    return this.#pos;
  }

  /** Adds a reading; throws a `TypeError`/`RangeError` (and adds nothing) when it cannot be encoded. */
  add(name: string, value: number, timestampMs: number, senderSeq = -1): void {
    checkReading(name, value, timestampMs, senderSeq);
    this.addChecked(name, value, timestampMs, senderSeq);
  }

  /** `add()` for a reading that already passed {@link checkReading}. @internal */
  addChecked(name: string, value: number, timestampMs: number, senderSeq: number): void {
    if (this.#pos + MAX_READING_BYTES > this.#buf.length) this.#grow(this.#pos + MAX_READING_BYTES);
    const buf = this.#buf;
    const flagsAt = this.#pos;
    let p = flagsAt + 1;
    let flags = 0;
    const ref = this.#names.get(name);
    if (ref !== undefined) {
      flags |= FLAG_NAME_REF;
      p = writeVarint(buf, p, ref);
    } else {
      const n = name.length;
      buf[p++] = n;
      for (let i = 0; i < n; i++) buf[p++] = name.charCodeAt(i);
      this.#names.set(name, this.#names.size);
    }
    this.#view.setFloat64(p, value, true);
    p += 8;
    const prev = this.#prevTs;
    const delta = timestampMs - prev;
    if (
      Number.isSafeInteger(timestampMs) &&
      !Object.is(timestampMs, -0) &&
      Number.isSafeInteger(prev) &&
      delta > -MAX_DELTA &&
      delta < MAX_DELTA
    ) {
      flags |= FLAG_TS_DELTA;
      p = writeVarint(buf, p, delta >= 0 ? delta * 2 : -delta * 2 - 1);
    } else {
      this.#view.setFloat64(p, timestampMs, true);
      p += 8;
    }
    this.#prevTs = timestampMs;
    if (senderSeq >= 0) {
      flags |= FLAG_SENDER_SEQ;
      p = writeVarint(buf, p, senderSeq);
    }
    buf[flagsAt] = flags;
    this.#pos = p;
    this.#count++;
  }

  /** The batch: header, the readings added, checksum. Empties the encoder. Throws a `RangeError` for a bad header. */
  finish(origin: string, batchSeq: number): Uint8Array {
    checkHeader(origin, batchSeq);
    const header = new Uint8Array(2 + origin.length + 16);
    let h = 0;
    header[h++] = BATCH_FORMAT_VERSION;
    header[h++] = origin.length;
    for (let i = 0; i < origin.length; i++) header[h++] = origin.charCodeAt(i);
    h = writeVarint(header, h, batchSeq);
    h = writeVarint(header, h, this.#count);
    const out = new Uint8Array(h + this.#pos + 4);
    out.set(header.subarray(0, h), 0);
    out.set(this.#buf.subarray(0, this.#pos), h);
    const sumAt = h + this.#pos;
    new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(sumAt, crc32(out.subarray(0, sumAt)), true);
    this.reset();
    return out;
  }

  /** Drops the readings added since the last `finish()`. */
  reset(): void {
    this.#pos = 0;
    this.#count = 0;
    this.#prevTs = 0;
    this.#names.clear();
  }

  #grow(needed: number): void {
    let size = this.#buf.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

/**
 * Encodes readings as one batch.
 *
 * @example
 * ```ts
 * const bytes = encodeBatch('node-a', 1, [{ name: 'ramp', value: 0.35, timestampMs: 1764316800125, senderSeq: -1 }]);
 * ```
 */
export function encodeBatch(origin: string, batchSeq: number, readings: Iterable<Reading>): Uint8Array {
  checkHeader(origin, batchSeq);
  const encoder = new BatchEncoder();
  for (const r of readings) encoder.add(r.name, r.value, r.timestampMs, r.senderSeq);
  return encoder.finish(origin, batchSeq);
}

/**
 * Decodes a batch, checking its checksum and every field. Throws {@link BatchDecodeError} for anything
 * {@link BatchEncoder} did not write; never returns a partial or altered batch.
 */
export function decodeBatch(bytes: Uint8Array): ReadingBatch {
  const n = bytes.length;
  if (n < 2 + 1 + 1 + 1 + 4) throw corrupt(`${n} bytes is shorter than any batch`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = n - 4;
  const sum = view.getUint32(end, true);
  if (crc32(bytes.subarray(0, end)) !== sum) throw corrupt('checksum mismatch: the batch is cut or damaged');
  const version = bytes[0];
  if (version !== BATCH_FORMAT_VERSION) throw corrupt(`unknown batch version ${String(version)}`);
  const originLength = bytes[1] ?? 0;
  if (originLength < 1 || originLength > MAX_NODE_NAME_BYTES || 2 + originLength > end) {
    throw corrupt(`bad origin length ${originLength}`);
  }
  for (let i = 2; i < 2 + originLength; i++) {
    const c = bytes[i] ?? 0;
    if (c >= 128 || NODE_BYTE[c] === 0) throw corrupt(`origin byte ${c} at offset ${i} is not a node name byte`);
  }
  const origin = latin1(bytes, 2, 2 + originLength);
  const cursor = { p: 2 + originLength };
  const batchSeq = readVarint(bytes, cursor, end, 'batch seq');
  const count = readVarint(bytes, cursor, end, 'reading count');
  // Every reading takes at least 10 bytes (flags, a one-byte reference or name, the value, a one-byte delta).
  if (count > (end - cursor.p) / 10) throw corrupt(`${count} readings cannot fit in ${end - cursor.p} bytes`);

  const names = new Array<string>(count);
  const values = new Float64Array(count);
  const timestampsMs = new Float64Array(count);
  const senderSeqs = new Float64Array(count);
  const table: string[] = [];
  let prevTs = 0;
  for (let r = 0; r < count; r++) {
    if (cursor.p >= end) throw corrupt(`reading ${r} starts past the end`);
    const flags = bytes[cursor.p++] ?? 0;
    if ((flags & ~FLAGS_KNOWN) !== 0) throw corrupt(`reading ${r} has unknown flags 0x${flags.toString(16)}`);
    let name: string | undefined;
    if ((flags & FLAG_NAME_REF) !== 0) {
      const index = readVarint(bytes, cursor, end, 'name reference');
      name = table[index];
      if (name === undefined) throw corrupt(`reading ${r} refers to name ${index} of ${table.length}`);
    } else {
      const length = bytes[cursor.p++] ?? 0;
      const from = cursor.p;
      if (length < 1 || length > MAX_NAME_BYTES || from + length > end) {
        throw corrupt(`reading ${r} has a bad name length ${length}`);
      }
      for (let i = from; i < from + length; i++) {
        const c = bytes[i] ?? 0;
        if (c >= 128 || NAME_BYTE[c] === 0) throw corrupt(`name byte ${c} at offset ${i} is not a name byte`);
      }
      name = latin1(bytes, from, from + length);
      cursor.p = from + length;
      table.push(name);
    }
    if (cursor.p + 8 > end) throw corrupt(`reading ${r} is cut in its value`);
    const value = view.getFloat64(cursor.p, true);
    cursor.p += 8;
    if (!Number.isFinite(value)) throw corrupt(`reading ${r} has a non-finite value`);
    let ts: number;
    if ((flags & FLAG_TS_DELTA) !== 0) {
      if (!Number.isSafeInteger(prevTs)) throw corrupt(`reading ${r} has a delta after a fractional timestamp`);
      const z = readVarint(bytes, cursor, end, 'timestamp delta');
      const delta = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      ts = prevTs + delta;
      if (!Number.isSafeInteger(ts)) throw corrupt(`reading ${r} has a timestamp delta out of range`);
    } else {
      if (cursor.p + 8 > end) throw corrupt(`reading ${r} is cut in its timestamp`);
      ts = view.getFloat64(cursor.p, true);
      cursor.p += 8;
      if (!Number.isFinite(ts)) throw corrupt(`reading ${r} has a non-finite timestamp`);
    }
    prevTs = ts;
    const senderSeq = (flags & FLAG_SENDER_SEQ) !== 0 ? readVarint(bytes, cursor, end, 'sender seq') : -1;
    names[r] = name;
    values[r] = value;
    timestampsMs[r] = ts;
    senderSeqs[r] = senderSeq;
  }
  if (cursor.p !== end) throw corrupt(`${end - cursor.p} bytes after the last reading`);
  return { origin, batchSeq, length: count, names, values, timestampsMs, senderSeqs };
}

/**
 * The readings of a batch as objects, in order.
 *
 * @example
 * ```ts
 * for (const { name, value } of toReadings(decodeBatch(bytes))) console.log(name, value);
 * ```
 */
export function toReadings(batch: ReadingBatch): Reading[] {
  const out = new Array<Reading>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    out[i] = {
      name: batch.names[i] ?? '',
      value: batch.values[i] ?? 0,
      timestampMs: batch.timestampsMs[i] ?? 0,
      senderSeq: batch.senderSeqs[i] ?? -1,
    };
  }
  return out;
}

function corrupt(message: string): BatchDecodeError {
  return new BatchDecodeError(`corrupt batch: ${message}`);
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');
}

function writeVarint(buf: Uint8Array, p: number, x: number): number {
  while (x >= 128) {
    buf[p++] = (x % 128) | 128;
    x = Math.floor(x / 128);
  }
  buf[p++] = x;
  return p;
}

function readVarint(bytes: Uint8Array, cursor: { p: number }, end: number, what: string): number {
  let x = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (cursor.p >= end) throw corrupt(`${what} is cut`);
    const b = bytes[cursor.p++] ?? 0;
    x += (b & 127) * scale;
    if (b < 128) {
      if (b === 0 && i > 0) throw corrupt(`${what} is not in its shortest form`);
      if (x > Number.MAX_SAFE_INTEGER) throw corrupt(`${what} is above 2^53-1`);
      return x;
    }
    scale *= 128;
  }
  throw corrupt(`${what} is longer than 8 bytes`);
}
