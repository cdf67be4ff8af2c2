// How it works
//
// A chunk is one series' run of (ts, value) readings, compressed after Gorilla (Pelkonen et al., VLDB 2015) and
// Prometheus' XOR chunks, with one addition for values that were written as short decimals. It is a bit string, most
// significant bit first, whose only header is the format version: the reading count (like the series, the first seq
// and the summary) is kept by whoever stores the chunk, and decoding needs it. Each reading after the first is a
// timestamp code and a value code, both prefix codes. The encoder and the decoder run the same small model (the
// previous timestamp and interval, the previous value and its decimal digits), so only what the model did not predict
// is written: a timestamp at the same interval as the one before costs 1 bit, and so does a value that repeats or
// moves by the same step as before.
//
// Bit layout, format version 1 (CHUNK_FORMAT_VERSION). Fields are unsigned unless marked signed (two's complement).
// A float64's 64 bits are its IEEE 754 encoding, sign bit first.
//
//   version        8 bits: CHUNK_FORMAT_VERSION (an empty chunk is this one byte)
//   reading 0      64 bits: the float64 bits of ts, then 64 bits: the float64 bits of the value
//   reading i > 0  a timestamp code, then a value code
//   end            one bits up to the end of the last byte; the chunk is ceil(bits / 8) bytes long
//
// Timestamp code. State: tPrev (the previous ts) and dPrev (the previous interval; 0 after reading 0 and after an
// escape). The code gives an int32 d, the delta of delta; then dPrev = dPrev + d and ts = tPrev + dPrev.
//
//   0                            d = 0
//   10      + 4 bits signed      d in [-8, 7], d != 0
//   110     + 8 bits signed      d in [-128, 127], outside the buckets above
//   1110    + 12 bits signed     d in [-2048, 2047], outside the buckets above
//   11110   + 20 bits signed     d in [-524288, 524287], outside the buckets above
//   111110  + 32 bits signed     any other int32 d
//   111111  + 64 bits            escape: the float64 bits of ts; then dPrev = 0
//
// The encoder takes d = trunc((ts - tPrev) - dPrev) in the smallest bucket that holds it, after checking that the
// decoder's two additions give back exactly ts (Object.is). When they do not (a fraction that changes, -0, a jump
// past int32 or past 2**53) it writes the escape. So whole-ms timestamps at a steady interval cost 1 bit each, and so
// do fractional ones whose fraction stays; a jitter of a few ms costs 6 bits.
//
// Value code. There are two modes, and both sides know which one is current.
//
// Decimal mode, at a scale e in 0..15: the value is m / 10**e for an integer m. A float64 parsed from a decimal with
// at most e fraction digits, whose digits as an integer stay below 2**53, is exactly that quotient, because both the
// parse and the division round the same rational number once. State: mPrev (the previous m), mDelta (the previous
// step of m) and a score that picks the prediction p: p = mPrev + mDelta (linear) while score <= 0, else p = mPrev
// (hold). The code gives an int32 residual r; then m = p + r and the value is m / 10**e.
//
//   0                            r = 0
//   10      + 3 bits signed      r in [-4, 3], r != 0
//   110     + 7 bits signed      r in [-64, 63], outside the buckets above
//   1110    + 12 bits signed     r in [-2048, 2047], outside the buckets above
//   11110   + 20 bits signed     r in [-524288, 524287], outside the buckets above
//   111110  + 32 bits signed     any other int32 r
//   1111110 + 4 bits e           rescale: scale = e, mPrev = round(vPrev * 10**e), mDelta = 0; then one of the six
//                                residual codes above for this value
//   1111111                      switch to XOR mode; then an XOR-mode code other than 111 for this value
//
// After each decimal value, with step = m - mPrev: score = score - (score >> 3) + bits(step - mDelta) - bits(step),
// where bits(r) is the length of r's residual code (38 past int32); then mDelta = step and mPrev = m. So a ramp (a
// sawtooth, a counter) is predicted linearly, and a slow random walk or a noisy constant by holding. When the current
// scale does not give the value back through p + r (more fraction digits, a residual past int32), the encoder
// rescales to the smallest scale that does, and switches to XOR mode when none does.
//
// XOR mode, Gorilla's value encoding: x = bits(value) XOR bits(vPrev); lead = the leading zero bits of x, at most 31;
// trail = its trailing zero bits. The window (lead, trail) of the last new-window code is kept.
//
//   0                            x = 0: the same value
//   10      + L bits             x's bits inside the kept window, L = 64 - lead - trail of that window
//   110     + 5 bits lead + 6 bits (L - 1) + L bits
//                                a new window, trail = 64 - lead - L; the L bits end with a 1, and start with a 1
//                                unless lead is 31
//   111     + 4 bits e           switch to decimal mode at scale e: mPrev = round(vPrev * 10**e), mDelta = 0; then
//                                one of the six residual codes for this value
//
// The encoder reuses the kept window whenever x fits in it, and goes back to decimal mode as soon as a value that is
// not a repeat has a scale that gives it back with an int32 residual.
//
// Reading 0 starts decimal mode at the smallest scale that gives its value back (mPrev = its m, mDelta = 0, score =
// 0), or else XOR mode with no window. round(x) is Math.round(x) + 0 (so never -0), and every step is IEEE 754 double
// arithmetic, so both sides compute the same bits on every platform.
//
// The one bits at the end hold no whole timestamp code, and every reading's codes hold a zero bit, so decoding with a
// count one too high or one too low fails rather than inventing or dropping a reading. The decoder also rejects
// other bits the encoder never writes (a code in a wider bucket than its number needs, a non-finite number, a window
// past 64 bits, bytes after the last reading), so many corruptions are caught even without a checksum.

import { BitReader } from './bit-reader.js';
import { BitWriter } from './bit-writer.js';
import { ChunkDecodeError, invalidType, outOfRange } from './errors.js';
import { fromBits, highBits, lowBits } from './float-bits.js';

export { ChunkDecodeError };

/** The version of the bit layout described at the top of this file; stored by whoever stores chunks. */
export const CHUNK_FORMAT_VERSION = 1;

/** The largest decimal scale (fraction digits) of decimal mode. */
export const MAX_DECIMAL_SCALE = 15;

const POW10 = new Float64Array(MAX_DECIMAL_SCALE + 1).map((_, e) => 10 ** e);
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Room reserved before each sample: the longest sample is 70 timestamp bits and 85 value bits. */
const MAX_SAMPLE_BYTES = 24;
/** Readings Decoder.fill gives to step alone after Decoder.run took none. */
const STEP_RUN = 16;
/** See decimalScale. */
const PROBE_LIMIT = 2 ** 50;

/** Object.is(a, b) for a number b that is not NaN: equal, and zeros of the same sign. TurboFan inlines this. */
function same(a: number, b: number): boolean {
  return a === b && (a !== 0 || 1 / a === 1 / b);
}

/** Whether value === round(value * 10**e) / 10**e exactly. */
function hasScale(value: number, e: number): boolean {
  const p = POW10[e] as number;
  return same((Math.round(value * p) + 0) / p, value);
}

/**
 * The smallest scale e with value === round(value * 10**e) / 10**e exactly, or -1 (never for -0).
 *
 * One probe rules out most scales of a value that has none: let k be the largest scale with |value| * 10**k <= 2**50.
 * If some e <= k works, value is the double nearest m / 10**e for an integer m; then value * 10**k lies within
 * 2**-51 * |m * 10**(k-e)| < 0.5 of the integer m * 10**(k-e), so it rounds to it, and dividing that (exact, below
 * 2**53) by 10**k gives the double nearest m / 10**e again: k works too. So when k fails, only the scales above k are
 * left to try.
 */
export function decimalScale(value: number): number {
  const a = Math.abs(value);
  let k = MAX_DECIMAL_SCALE;
  while (k > 0 && a * (POW10[k] as number) > PROBE_LIMIT) k--;
  let e = 0;
  if (!hasScale(value, k)) e = k + 1;
  for (; e <= MAX_DECIMAL_SCALE; e++) if (hasScale(value, e)) return e;
  return -1;
}

/** The length in bits of the residual code for r. */
function residualBits(r: number): number {
  if (r === 0) return 1;
  if (r >= -4 && r <= 3) return 5;
  if (r >= -64 && r <= 63) return 10;
  if (r >= -2048 && r <= 2047) return 16;
  if (r >= -524288 && r <= 524287) return 25;
  return 38;
}

function trailingZeros(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * The model that the encoder and the decoder both run; they must update it identically. mPrev and mDelta are never
 * -0 (round() adds 0, and a sum or difference of integers is -0 only when made from -0), so neither is a prediction.
 */
class Model {
  tPrev = 0;
  dPrev = 0;
  vPrev = 0;
  decimal = false;
  scale = 0;
  mPrev = 0;
  mDelta = 0;
  score = 0;
  winLead = -1;
  winTrail = 0;

  first(ts: number, value: number): void {
    this.tPrev = ts;
    this.dPrev = 0;
    this.vPrev = value;
    this.winLead = -1;
    this.winTrail = 0;
    this.score = 0;
    this.mDelta = 0;
    const e = decimalScale(value);
    this.decimal = e >= 0;
    this.scale = e >= 0 ? e : 0;
    this.mPrev = e >= 0 ? Math.round(value * (POW10[e] as number)) + 0 : 0;
  }

  predict(): number {
    return this.score <= 0 ? this.mPrev + this.mDelta : this.mPrev;
  }

  rescale(e: number): void {
    this.decimal = true;
    this.scale = e;
    this.mPrev = Math.round(this.vPrev * (POW10[e] as number)) + 0;
    this.mDelta = 0;
  }

  acceptDecimal(m: number, value: number): void {
    const step = m - this.mPrev;
    this.score = this.score - (this.score >> 3) + residualBits(step - this.mDelta) - residualBits(step);
    this.mDelta = step;
    this.mPrev = m;
    this.vPrev = value;
  }
}

/**
 * Compresses a series' readings into a chunk, one `append` at a time, and keeps a running summary of them. The byte
 * buffer doubles when full, so appending allocates nothing in the steady state. The layout is described at the top of
 * `chunk.ts`; a reading costs about 2 bits when timestamps are regular and the value repeats or ramps steadily.
 *
 * Summary fields of an empty chunk: `count` 0, `sum` 0, `minTs`/`minValue` `Infinity`, `maxTs`/`maxValue`
 * `-Infinity`, the first/last/earliest/latest fields `NaN`.
 *
 * @example
 * ```ts
 * import { ChunkEncoder, decodeChunk } from './chunk/index.js';
 *
 * const encoder = new ChunkEncoder();
 * for (let i = 0; i < 100; i++) encoder.append(1_700_000_000_000 + 10 * i, (i % 50) / 10); // a ramp: 0, 0.1, ...
 * const bytes = encoder.bytes(); // 48 bytes: 17 for the version and reading 0, then 2.4 bits a reading
 *
 * const ts = new Float64Array(encoder.count);
 * const values = new Float64Array(encoder.count);
 * decodeChunk(bytes, encoder.count, ts, values); // the same numbers, bit for bit
 * ```
 */
export class ChunkEncoder {
  readonly #w: BitWriter;
  readonly #m = new Model();
  #count = 0;
  #minTs = Infinity;
  #maxTs = -Infinity;
  #minValue = Infinity;
  #maxValue = -Infinity;
  #sum = 0;
  #firstTs = NaN;
  #firstValue = NaN;
  #lastTs = NaN;
  #lastValue = NaN;
  #earliestValue = NaN;
  #latestValue = NaN;
  #sortedByTs = true;

  /** An empty chunk. `initialBytes` sizes the first buffer (it grows by doubling). */
  constructor(initialBytes = 256) {
    this.#w = new BitWriter(initialBytes);
    this.#w.writeBits(CHUNK_FORMAT_VERSION, 8);
  }

  /**
   * Continues an encoded chunk: decodes its `count` readings and appends them to a new encoder, so the result
   * encodes, and goes on encoding, exactly as the encoder that wrote them would.
   *
   * @throws {ChunkDecodeError} When `bytes` is not a chunk of `count` readings.
   *
   * @example
   * ```ts
   * const head = ChunkEncoder.resume(checkpoint.headBytes, checkpoint.headCount);
   * head.append(ts, value);
   * ```
   */
  static resume(bytes: Uint8Array, count: number): ChunkEncoder {
    const reader = new ChunkReader(bytes, count);
    const encoder = new ChunkEncoder(Math.max(256, bytes.length + MAX_SAMPLE_BYTES));
    while (reader.next()) encoder.append(reader.ts, reader.value);
    return encoder;
  }

  /**
   * Appends a reading. Any finite numbers round-trip bit for bit, -0 and subnormals included; timestamps may repeat,
   * go backwards or carry fractions (those cost more bits).
   *
   * @throws {RangeError} `code: 'ERR_OUT_OF_RANGE'` when `ts` or `value` is not a finite number (nothing is appended).
   */
  append(ts: number, value: number): void {
    if (!Number.isFinite(ts)) throw outOfRange(`ts must be a finite number, got ${String(ts)}`);
    if (!Number.isFinite(value)) throw outOfRange(`value must be a finite number, got ${String(value)}`);
    this.appendFinite(ts, value);
  }

  /**
   * {@link ChunkEncoder.append} without its checks, for a caller that has checked both numbers are finite (the
   * store's append does, once per reading).
   *
   * @internal
   */
  appendFinite(ts: number, value: number): void {
    const w = this.#w;
    w.reserve(MAX_SAMPLE_BYTES);
    const count = this.#count;
    if (count === 0) {
      this.#appendFirst(ts, value);
    } else {
      // The two one-bit codes inline (a steady interval; a value as predicted, or repeated in XOR mode), the rest in
      // #encodeTs and #encodeValue, which start from the same state and so write exactly what these would.
      const m = this.#m;
      const back = m.tPrev + m.dPrev;
      const dod = ts - m.tPrev - m.dPrev;
      if (dod > -1 && dod < 1 && same(back, ts)) {
        w.writeZeros(1);
        m.tPrev = back;
      } else {
        this.#encodeTs(ts);
      }
      if (m.decimal) {
        const p = POW10[m.scale] as number;
        const pred = m.score <= 0 ? m.mPrev + m.mDelta : m.mPrev;
        const r = Math.round(value * p) - pred;
        // As #encodeValue does for r = 0: pred is never -0 (see Model), so pred + r is pred.
        if (r === 0 && same(pred / p, value)) {
          w.writeZeros(1);
          m.acceptDecimal(pred, value);
        } else {
          this.#encodeValue(value);
        }
      } else if (same(value, m.vPrev)) {
        w.writeZeros(1);
      } else {
        this.#encodeValue(value);
      }
    }
    this.#count = count + 1;
    this.#sum = count === 0 ? value : this.#sum + value;
    this.#minValue = Math.min(this.#minValue, value);
    this.#maxValue = Math.max(this.#maxValue, value);
    if (ts < this.#minTs) this.#earliestValue = value;
    if (ts >= this.#maxTs) this.#latestValue = value;
    this.#minTs = Math.min(this.#minTs, ts);
    this.#maxTs = Math.max(this.#maxTs, ts);
    if (ts < this.#lastTs) this.#sortedByTs = false;
    this.#lastTs = ts;
    this.#lastValue = value;
  }

  #appendFirst(ts: number, value: number): void {
    const w = this.#w;
    w.writeBits(highBits(ts), 32);
    w.writeBits(lowBits(ts), 32);
    w.writeBits(highBits(value), 32);
    w.writeBits(lowBits(value), 32);
    this.#m.first(ts, value);
    this.#firstTs = ts;
    this.#firstValue = value;
  }

  /** How many readings the chunk holds. */
  get count(): number {
    return this.#count;
  }

  /** Bytes used so far; the last may be partly used (`bytes()` sets its unused bits to ones). */
  get byteLength(): number {
    return this.#w.byteLength;
  }

  /** Bits used so far. */
  get bitLength(): number {
    return this.#w.bitLength;
  }

  /** A copy of the chunk so far, `byteLength` bytes, decodable with `count`. */
  bytes(): Uint8Array {
    const bytes = this.#w.bytes();
    const spare = bytes.length * 8 - this.#w.bitLength;
    if (spare > 0) bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) | ((1 << spare) - 1);
    return bytes;
  }

  /** Empties the encoder, keeping its buffer, to start the next chunk without allocating. */
  reset(): void {
    this.#w.reset();
    this.#w.writeBits(CHUNK_FORMAT_VERSION, 8);
    this.#count = 0;
    this.#minTs = Infinity;
    this.#maxTs = -Infinity;
    this.#minValue = Infinity;
    this.#maxValue = -Infinity;
    this.#sum = 0;
    this.#firstTs = NaN;
    this.#firstValue = NaN;
    this.#lastTs = NaN;
    this.#lastValue = NaN;
    this.#earliestValue = NaN;
    this.#latestValue = NaN;
    this.#sortedByTs = true;
  }

  /** The smallest timestamp, as `Math.min` over all timestamps. */
  get minTs(): number {
    return this.#minTs;
  }

  /** The largest timestamp, as `Math.max` over all timestamps. */
  get maxTs(): number {
    return this.#maxTs;
  }

  /** The smallest value, as `Math.min` over all values (-0 below 0). */
  get minValue(): number {
    return this.#minValue;
  }

  /** The largest value, as `Math.max` over all values. */
  get maxValue(): number {
    return this.#maxValue;
  }

  /** The values added up in the order appended (`values.reduce((a, b) => a + b)`; 0 while empty). */
  get sum(): number {
    return this.#sum;
  }

  /** The ts of the first reading appended. */
  get firstTs(): number {
    return this.#firstTs;
  }

  /** The value of the first reading appended. */
  get firstValue(): number {
    return this.#firstValue;
  }

  /** The ts of the last reading appended. */
  get lastTs(): number {
    return this.#lastTs;
  }

  /** The value of the last reading appended. */
  get lastValue(): number {
    return this.#lastValue;
  }

  /** The value of the earliest reading by (ts, position): the first of those whose ts equals `minTs`. */
  get earliestValue(): number {
    return this.#earliestValue;
  }

  /** The value of the latest reading by (ts, position): the last of those whose ts equals `maxTs`. */
  get latestValue(): number {
    return this.#latestValue;
  }

  /** Whether every ts is >= the one before it (then position order is (ts, position) order). */
  get sortedByTs(): boolean {
    return this.#sortedByTs;
  }

  #encodeTs(ts: number): void {
    const m = this.#m;
    const w = this.#w;
    const dod = ts - m.tPrev - m.dPrev;
    if (dod >= INT32_MIN && dod <= INT32_MAX) {
      const d = dod | 0;
      const delta = m.dPrev + d;
      const back = m.tPrev + delta;
      if (same(back, ts)) {
        if (d === 0) w.writeZeros(1);
        else if (d >= -8 && d <= 7) w.writeBits((0b10 << 4) | (d & 0xf), 6);
        else if (d >= -128 && d <= 127) w.writeBits((0b110 << 8) | (d & 0xff), 11);
        else if (d >= -2048 && d <= 2047) w.writeBits((0b1110 << 12) | (d & 0xfff), 16);
        else if (d >= -524288 && d <= 524287) w.writeBits((0b11110 << 20) | (d & 0xfffff), 25);
        else {
          w.writeBits(0b111110, 6);
          w.writeBits(d, 32);
        }
        m.dPrev = delta;
        m.tPrev = back;
        return;
      }
    }
    w.writeBits(0b111111, 6);
    w.writeBits(highBits(ts), 32);
    w.writeBits(lowBits(ts), 32);
    m.tPrev = ts;
    m.dPrev = 0;
  }

  #encodeValue(value: number): void {
    const m = this.#m;
    if (m.decimal) {
      const p = POW10[m.scale] as number;
      const pred = m.predict();
      const r = Math.round(value * p) - pred;
      if (r >= INT32_MIN && r <= INT32_MAX) {
        const ri = r | 0;
        const decoded = pred + ri;
        if (same(decoded / p, value)) {
          this.#writeResidual(ri);
          m.acceptDecimal(decoded, value);
          return;
        }
      }
      const e = decimalScale(value);
      const ri = e >= 0 ? this.#scaledResidual(value, e) : NaN;
      if (ri === ri) {
        this.#w.writeBits((0b1111110 << 4) | e, 11);
        this.#toScale(e, ri, value);
      } else {
        this.#w.writeBits(0b1111111, 7);
        m.decimal = false;
        this.#writeXor(value);
      }
      return;
    }
    if (same(value, m.vPrev)) {
      this.#w.writeZeros(1);
      return;
    }
    const e = decimalScale(value);
    const ri = e >= 0 ? this.#scaledResidual(value, e) : NaN;
    if (ri === ri) {
      this.#w.writeBits((0b111 << 4) | e, 7);
      this.#toScale(e, ri, value);
    } else {
      this.#writeXor(value);
    }
  }

  /** The residual of `value` at scale e after a rescale (see Model.rescale), or NaN when it has none. */
  #scaledResidual(value: number, e: number): number {
    const p = POW10[e] as number;
    const pred = Math.round(this.#m.vPrev * p) + 0;
    const r = Math.round(value * p) - pred;
    if (!(r >= INT32_MIN && r <= INT32_MAX)) return NaN;
    const ri = r | 0;
    return same((pred + ri) / p, value) ? ri : NaN;
  }

  #toScale(e: number, ri: number, value: number): void {
    const m = this.#m;
    m.rescale(e);
    this.#writeResidual(ri);
    m.acceptDecimal(m.predict() + ri, value);
  }

  #writeResidual(r: number): void {
    const w = this.#w;
    if (r === 0) w.writeZeros(1);
    else if (r >= -4 && r <= 3) w.writeBits((0b10 << 3) | (r & 0x7), 5);
    else if (r >= -64 && r <= 63) w.writeBits((0b110 << 7) | (r & 0x7f), 10);
    else if (r >= -2048 && r <= 2047) w.writeBits((0b1110 << 12) | (r & 0xfff), 16);
    else if (r >= -524288 && r <= 524287) w.writeBits((0b11110 << 20) | (r & 0xfffff), 25);
    else {
      w.writeBits(0b111110, 6);
      w.writeBits(r, 32);
    }
  }

  #writeXor(value: number): void {
    const m = this.#m;
    const w = this.#w;
    const xh = (highBits(value) ^ highBits(m.vPrev)) >>> 0;
    const xl = (lowBits(value) ^ lowBits(m.vPrev)) >>> 0;
    m.vPrev = value;
    if (xh === 0 && xl === 0) {
      w.writeBits(0, 1);
      return;
    }
    let lead = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
    if (lead > 31) lead = 31;
    const trail = xl !== 0 ? trailingZeros(xl) : 32 + trailingZeros(xh);
    let shift: number;
    let n: number;
    if (m.winLead >= 0 && lead >= m.winLead && trail >= m.winTrail) {
      shift = m.winTrail;
      n = 64 - m.winLead - m.winTrail;
      w.writeBits(0b10, 2);
    } else {
      shift = trail;
      n = 64 - lead - trail;
      w.writeBits((0b110 << 11) | (lead << 6) | (n - 1), 14);
      m.winLead = lead;
      m.winTrail = trail;
    }
    // x >>> shift, as two halves
    let hi = xh;
    let lo = xl;
    if (shift >= 32) {
      lo = xh >>> (shift - 32);
      hi = 0;
    } else if (shift > 0) {
      lo = (xl >>> shift) | (xh << (32 - shift));
      hi = xh >>> shift;
    }
    w.write64(hi, lo, n);
  }
}

/**
 * The decoder behind ChunkReader and decodeChunk: the model, the bit cursor, and the last reading decoded. `step`
 * decodes any reading; `fill` decodes a whole chunk, taking the common codes itself and every other one through `step`.
 */
class Decoder {
  readonly bytes: Uint8Array;
  readonly r: BitReader;
  readonly m = new Model();
  readonly count: number;
  ts = NaN;
  value = NaN;

  /** After checkChunk(bytes, count). */
  constructor(bytes: Uint8Array, count: number) {
    this.bytes = bytes;
    this.r = new BitReader(bytes);
    this.r.skip(8);
    this.count = count;
  }

  /**
   * Decodes every reading into `tsOut` and `valuesOut` (at least `count` long): `run` takes the common codes, `step`
   * each reading `run` stops at.
   */
  fill(tsOut: Float64Array, valuesOut: Float64Array): void {
    const n = this.count;
    if (n === 0) return;
    this.step(0);
    tsOut[0] = this.ts;
    valuesOut[0] = this.value;
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length);
    let i = 1;
    while (i < n) {
      const from = i;
      i = this.run(view, tsOut, valuesOut, i);
      // Where run takes nothing (XOR-mode values, say), the next readings go straight to step.
      for (let k = i === from ? STEP_RUN : 1; k > 0 && i < n; k--, i++) {
        this.step(i);
        tsOut[i] = this.ts;
        valuesOut[i] = this.value;
      }
    }
    this.checkEnd();
  }

  /**
   * Decodes readings from `from` on, as long as they are made of what a steady series is made of: a timestamp code
   * of 1 or 6 bits, then a residual code of up to 25 bits in decimal mode or a repeat in XOR mode, all within one
   * 32-bit peek of bytes known to exist. Returns the index of the first reading it left (a longer code, a mode change,
   * a code wider than needed, a non-finite result, the last 5 bytes), for `step`, which decodes alike from the same
   * state and throws the errors. The loop keeps the model in locals and, on those codes, calls nothing of its own,
   * so that it stays small and is compiled early.
   */
  run(view: DataView, tsOut: Float64Array, valuesOut: Float64Array, from: number): number {
    const n = this.count;
    const u = this.bytes;
    const len = u.length;
    const m = this.m;
    let pos = this.r.position;
    let tPrev = m.tPrev;
    let dPrev = m.dPrev;
    let vPrev = m.vPrev;
    const decimal = m.decimal;
    const divisor = POW10[m.scale] as number;
    let mPrev = m.mPrev;
    let mDelta = m.mDelta;
    let score = m.score;
    let i = from;
    loop: for (; i < n; i++) {
      const b = pos >>> 3;
      if (b + 4 >= len) break;
      const shift = pos & 7;
      // The next 32 bits; the 40 bits of bytes b..b+4 hold them, so no code read from them runs past the end.
      const w = (view.getInt32(b) << shift) | ((u[b + 4] as number) >>> (8 - shift));
      let ts: number;
      let delta = dPrev;
      let used: number;
      if (w >= 0) {
        ts = tPrev + dPrev;
        used = 1;
      } else if (w >>> 30 === 2) {
        const d = (w << 2) >> 28;
        if (d === 0) break;
        delta = dPrev + d;
        ts = tPrev + delta;
        used = 6;
      } else {
        break;
      }
      if (!Number.isFinite(ts)) break;
      const v = w << used; // the value code, left-aligned; at least 26 of its bits are real
      let value: number;
      if (decimal) {
        let residual: number;
        switch (Math.clz32(~v)) {
          case 0:
            residual = 0;
            used += 1;
            break;
          case 1:
            residual = (v << 2) >> 29;
            if (residual === 0) break loop;
            used += 5;
            break;
          case 2:
            residual = (v << 3) >> 25;
            if (residual >= -4 && residual <= 3) break loop;
            used += 10;
            break;
          case 3:
            residual = (v << 4) >> 20;
            if (residual >= -64 && residual <= 63) break loop;
            used += 16;
            break;
          case 4:
            residual = (v << 5) >> 12;
            if (residual >= -2048 && residual <= 2047) break loop;
            used += 25;
            break;
          default:
            break loop;
        }
        const decoded = (score <= 0 ? mPrev + mDelta : mPrev) + residual;
        value = decoded / divisor;
        if (!Number.isFinite(value)) break;
        // Model.acceptDecimal, with residualBits written out.
        const step = decoded - mPrev;
        const miss = step - mDelta;
        score =
          score -
          (score >> 3) +
          (miss === 0 ? 1 : miss >= -4 && miss <= 3 ? 5 : miss >= -64 && miss <= 63 ? 10 : residualBits(miss)) -
          (step === 0 ? 1 : step >= -4 && step <= 3 ? 5 : step >= -64 && step <= 63 ? 10 : residualBits(step));
        mDelta = step;
        mPrev = decoded;
      } else if (v >= 0) {
        value = vPrev;
        used += 1;
      } else {
        break;
      }
      pos += used;
      tPrev = ts;
      dPrev = delta;
      vPrev = value;
      tsOut[i] = ts;
      valuesOut[i] = value;
    }
    m.tPrev = tPrev;
    m.dPrev = dPrev;
    m.vPrev = vPrev;
    m.mPrev = mPrev;
    m.mDelta = mDelta;
    m.score = score;
    this.r.seek(pos);
    return i;
  }

  /** Decodes reading `index` (the one after the last decoded) into `ts` and `value`. */
  step(index: number): void {
    const r = this.r;
    if (index === 0) {
      const ts = fromBits(r.readBits(32), r.readBits(32));
      const value = fromBits(r.readBits(32), r.readBits(32));
      if (!Number.isFinite(ts)) throw this.#corrupt(0, 'a non-finite timestamp');
      if (!Number.isFinite(value)) throw this.#corrupt(0, 'a non-finite value');
      this.m.first(ts, value);
      this.ts = ts;
      this.value = value;
    } else {
      // One peek serves a regular timestamp's 1-bit code and the value code after it (which needs at most 31 bits
      // of the peek; longer codes peek again).
      const m = this.m;
      let w = r.peek();
      if (w >= 0) {
        r.skip(1);
        const ts = m.tPrev + m.dPrev;
        if (!Number.isFinite(ts)) throw this.#corrupt(index, 'a non-finite timestamp');
        m.tPrev = ts;
        this.ts = ts;
        w <<= 1;
      } else {
        this.ts = this.#decodeTs(index, w);
        w = r.peek();
      }
      this.value = m.decimal ? this.#decodeDecimal(index, w) : this.#decodeXor(index, w, false);
    }
    if (index === this.count - 1) this.checkEnd();
  }

  /** Decodes a timestamp code other than `0`, whose first 32 bits are `w`. */
  #decodeTs(index: number, w: number): number {
    const r = this.r;
    const m = this.m;
    let d: number;
    switch (Math.clz32(~w)) {
      case 1:
        r.skip(6);
        d = (w << 2) >> 28;
        if (d === 0) throw this.#corrupt(index, 'a timestamp code wider than needed');
        break;
      case 2:
        r.skip(11);
        d = (w << 3) >> 24;
        if (d >= -8 && d <= 7) throw this.#corrupt(index, 'a timestamp code wider than needed');
        break;
      case 3:
        r.skip(16);
        d = (w << 4) >> 20;
        if (d >= -128 && d <= 127) throw this.#corrupt(index, 'a timestamp code wider than needed');
        break;
      case 4:
        r.skip(25);
        d = (w << 5) >> 12;
        if (d >= -2048 && d <= 2047) throw this.#corrupt(index, 'a timestamp code wider than needed');
        break;
      case 5:
        r.skip(6);
        d = r.readBits(32) | 0;
        if (d >= -524288 && d <= 524287) throw this.#corrupt(index, 'a timestamp code wider than needed');
        break;
      default: {
        r.skip(6);
        const ts = fromBits(r.readBits(32), r.readBits(32));
        if (!Number.isFinite(ts)) throw this.#corrupt(index, 'a non-finite timestamp');
        m.tPrev = ts;
        m.dPrev = 0;
        return ts;
      }
    }
    const delta = m.dPrev + d;
    const ts = m.tPrev + delta;
    if (!Number.isFinite(ts)) throw this.#corrupt(index, 'a non-finite timestamp');
    m.dPrev = delta;
    m.tPrev = ts;
    return ts;
  }

  /** Decodes a decimal-mode value code whose first 31 bits are the top of `w`. */
  #decodeDecimal(index: number, w: number): number {
    const m = this.m;
    const r = this.r;
    const ones = Math.clz32(~w);
    if (ones <= 5) return this.#decimal(index, this.#residual(index, w, ones));
    r.skip(7);
    if (ones === 6) {
      m.rescale(r.readBits(4));
      return this.#scaled(index);
    }
    m.decimal = false;
    return this.#decodeXor(index, r.peek(), true);
  }

  /** A residual code right after a rescale or a switch to decimal mode. */
  #scaled(index: number): number {
    const w = this.r.peek();
    const ones = Math.clz32(~w);
    if (ones > 5) throw this.#corrupt(index, 'a rescale not followed by a residual');
    return this.#decimal(index, this.#residual(index, w, ones));
  }

  #decimal(index: number, residual: number): number {
    const m = this.m;
    const decoded = m.predict() + residual;
    const value = decoded / (POW10[m.scale] as number);
    if (!Number.isFinite(value)) throw this.#corrupt(index, 'a non-finite value');
    m.acceptDecimal(decoded, value);
    return value;
  }

  /** Reads the residual code whose first 32 bits are `w` and starts with `ones` one bits (0..5). */
  #residual(index: number, w: number, ones: number): number {
    const r = this.r;
    let v: number;
    switch (ones) {
      case 0:
        r.skip(1);
        return 0;
      case 1:
        r.skip(5);
        v = (w << 2) >> 29;
        if (v === 0) break;
        return v;
      case 2:
        r.skip(10);
        v = (w << 3) >> 25;
        if (v >= -4 && v <= 3) break;
        return v;
      case 3:
        r.skip(16);
        v = (w << 4) >> 20;
        if (v >= -64 && v <= 63) break;
        return v;
      case 4:
        r.skip(25);
        v = (w << 5) >> 12;
        if (v >= -2048 && v <= 2047) break;
        return v;
      default:
        r.skip(6);
        v = r.readBits(32) | 0;
        if (v >= -524288 && v <= 524287) break;
        return v;
    }
    throw this.#corrupt(index, 'a value code wider than needed');
  }

  /** Decodes an XOR-mode value code whose first 31 bits are the top of `w`. */
  #decodeXor(index: number, w: number, switched: boolean): number {
    const r = this.r;
    const m = this.m;
    if (w >= 0) {
      r.skip(1);
      return m.vPrev;
    }
    const ones = Math.clz32(~w);
    let lead: number;
    let trail: number;
    let n: number;
    if (ones === 1) {
      if (m.winLead < 0) throw this.#corrupt(index, 'an XOR code reusing a window before there is one');
      r.skip(2);
      lead = m.winLead;
      trail = m.winTrail;
      n = 64 - lead - trail;
    } else if (ones === 2) {
      r.skip(14);
      lead = (w << 3) >>> 27;
      n = ((w << 8) >>> 26) + 1;
      trail = 64 - lead - n;
      if (trail < 0) throw this.#corrupt(index, 'an XOR window past 64 bits');
    } else {
      if (switched) throw this.#corrupt(index, 'a switch to XOR mode followed by a switch back');
      r.skip(3);
      m.rescale(r.readBits(4));
      return this.#scaled(index);
    }
    const hiPart = n > 32 ? r.readBits(n - 32) : 0;
    const loPart = r.readBits(n > 32 ? 32 : n);
    if (ones === 2) {
      const top = n > 32 ? (hiPart >>> (n - 33)) & 1 : (loPart >>> (n - 1)) & 1;
      if ((loPart & 1) === 0 || (top === 0 && lead < 31)) {
        throw this.#corrupt(index, 'an XOR window wider than its bits');
      }
      m.winLead = lead;
      m.winTrail = trail;
    } else if (hiPart === 0 && loPart === 0) {
      throw this.#corrupt(index, 'an XOR code for an unchanged value');
    }
    // x = the bits << trail, as two halves
    let xh = hiPart;
    let xl = loPart;
    if (trail >= 32) {
      xh = loPart << (trail - 32);
      xl = 0;
    } else if (trail > 0) {
      xh = (hiPart << trail) | (loPart >>> (32 - trail));
      xl = loPart << trail;
    }
    const value = fromBits(highBits(m.vPrev) ^ xh, lowBits(m.vPrev) ^ xl);
    if (!Number.isFinite(value)) throw this.#corrupt(index, 'a non-finite value');
    m.vPrev = value;
    return value;
  }

  checkEnd(): void {
    const used = this.r.position;
    const bytes = this.bytes;
    const expected = (used + 7) >>> 3;
    if (bytes.length !== expected) {
      throw new ChunkDecodeError(
        `chunk corrupt: ${bytes.length - expected} bytes after the last of ${this.count} readings`,
      );
    }
    const spare = (1 << (expected * 8 - used)) - 1;
    if (((bytes[expected - 1] as number) & spare) !== spare) {
      throw new ChunkDecodeError(`chunk corrupt: the bits after the last of ${this.count} readings are not all ones`);
    }
  }

  #corrupt(index: number, what: string): ChunkDecodeError {
    return new ChunkDecodeError(`chunk corrupt: ${what} at reading ${index} (bit ${this.r.position})`);
  }
}

/**
 * Decodes a chunk one reading at a time, allocating nothing per reading. `next()` moves to the next reading and
 * returns false after the last; `ts`, `value` and `index` describe the current one. Corrupt bytes throw
 * {@link ChunkDecodeError} from `next()`, at the latest when the last reading is decoded.
 *
 * @example
 * ```ts
 * const reader = new ChunkReader(bytes, count);
 * while (reader.next()) {
 *   if (reader.ts > toMs) break;
 *   if (reader.ts >= fromMs) visit(reader.ts, reader.value, firstSeq + reader.index);
 * }
 * ```
 */
export class ChunkReader {
  readonly #d: Decoder;
  readonly #count: number;
  #index = -1;
  #error: Error | undefined = undefined;

  /**
   * @throws {TypeError} `code: 'ERR_INVALID_ARG_TYPE'` when `bytes` is not a Uint8Array.
   * @throws {RangeError} `code: 'ERR_OUT_OF_RANGE'` when `count` is not a non-negative safe integer.
   * @throws {ChunkDecodeError} When `bytes` is too short, of another format version, or (for 0 readings) longer than
   *   the version byte.
   */
  constructor(bytes: Uint8Array, count: number) {
    checkChunk(bytes, count);
    this.#d = new Decoder(bytes, count);
    this.#count = count;
  }

  /** How many readings the chunk holds. */
  get count(): number {
    return this.#count;
  }

  /** The position of the current reading (0 = first), -1 before the first `next()`. */
  get index(): number {
    return this.#index;
  }

  /** The current reading's timestamp (NaN before the first `next()`). */
  get ts(): number {
    return this.#d.ts;
  }

  /** The current reading's value (NaN before the first `next()`). */
  get value(): number {
    return this.#d.value;
  }

  /**
   * Moves to the next reading; false (and nothing changes) when there is none.
   *
   * @throws {ChunkDecodeError} When the bytes cannot be a chunk of `count` readings; every later call throws it
   *   again.
   */
  next(): boolean {
    if (this.#error !== undefined) throw this.#error;
    const index = this.#index + 1;
    if (index >= this.#count) return false;
    try {
      this.#d.step(index);
    } catch (error) {
      if (error instanceof Error) this.#error = error;
      throw error;
    }
    this.#index = index;
    return true;
  }
}

/** The checks of the ChunkReader constructor (see there). */
function checkChunk(bytes: Uint8Array, count: number): void {
  if (!(bytes instanceof Uint8Array)) throw invalidType('chunk bytes must be a Uint8Array');
  if (!Number.isSafeInteger(count) || count < 0) {
    throw outOfRange(`count must be a non-negative safe integer, got ${String(count)}`);
  }
  const minBits = 8 + (count === 0 ? 0 : 128 + 2 * (count - 1));
  if (bytes.length * 8 < minBits) {
    throw new ChunkDecodeError(`chunk truncated: ${bytes.length} bytes cannot hold ${count} readings`);
  }
  if (bytes[0] !== CHUNK_FORMAT_VERSION) {
    throw new ChunkDecodeError(
      `unknown chunk format version ${String(bytes[0])} (this codec reads version ${CHUNK_FORMAT_VERSION})`,
    );
  }
  if (count === 0 && bytes.length !== 1) {
    throw new ChunkDecodeError(`a chunk of 0 readings is 1 byte long, got ${bytes.length} bytes`);
  }
}

/**
 * Decodes all `count` readings of a chunk into `ts` and `values` (index i = reading i).
 *
 * @throws {ChunkDecodeError} When `bytes` is not a chunk of `count` readings; the arrays may then hold some readings.
 * @throws {RangeError} `code: 'ERR_OUT_OF_RANGE'` when an array is shorter than `count`.
 *
 * @example
 * ```ts
 * const ts = new Float64Array(header.count);
 * const values = new Float64Array(header.count);
 * decodeChunk(bytes, header.count, ts, values);
 * ```
 */
export function decodeChunk(bytes: Uint8Array, count: number, ts: Float64Array, values: Float64Array): void {
  checkChunk(bytes, count);
  if (ts.length < count || values.length < count) {
    throw outOfRange(`decodeChunk needs arrays of at least ${count} elements, got ${ts.length} and ${values.length}`);
  }
  new Decoder(bytes, count).fill(ts, values);
}
