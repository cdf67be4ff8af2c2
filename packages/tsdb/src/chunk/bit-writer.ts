// How it works: bits are written most significant first into a Uint8Array that starts small and doubles when a
// write would not fit. `#bits` counts the bits written; the last byte may be partly used, and its unused low bits
// stay zero because the buffer starts zeroed and every write ORs into it, so writing zero bits only moves the count.
// Callers reserve room for a whole record once (`reserve`), so the writes themselves never check capacity or
// allocate.

import { outOfRange } from './errors.js';

/** The largest buffer a writer grows to: 256 MiB, far above any chunk, and below 2**32 bits. */
export const MAX_WRITER_BYTES = 2 ** 28;

/**
 * An append-only, growable bit buffer, most significant bit first.
 *
 * @example
 * ```ts
 * const writer = new BitWriter();
 * writer.reserve(1);
 * writer.writeBits(0b101, 3);
 * writer.bitLength; // 3
 * writer.bytes(); // Uint8Array [0b1010_0000]
 * ```
 */
export class BitWriter {
  #buf: Uint8Array;
  #bits = 0;

  constructor(initialBytes = 64) {
    this.#buf = new Uint8Array(Math.max(8, Math.min(MAX_WRITER_BYTES, Math.trunc(initialBytes) || 0)));
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.#bits;
  }

  /** Bytes used so far (the last one may be partly used). */
  get byteLength(): number {
    return (this.#bits + 7) >>> 3;
  }

  /** Bytes the buffer holds before it must grow again. */
  get capacity(): number {
    return this.#buf.length;
  }

  /**
   * Makes room for `bytes` more bytes, doubling the buffer as often as needed.
   *
   * @throws {RangeError} `code: 'ERR_OUT_OF_RANGE'` when that would pass {@link MAX_WRITER_BYTES}.
   */
  reserve(bytes: number): void {
    const needed = this.byteLength + bytes;
    if (needed <= this.#buf.length) return;
    if (needed > MAX_WRITER_BYTES) throw outOfRange(`a chunk cannot grow past ${MAX_WRITER_BYTES} bytes`);
    let size = this.#buf.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(Math.min(size, MAX_WRITER_BYTES));
    grown.set(this.#buf.subarray(0, this.byteLength));
    this.#buf = grown;
  }

  /** Writes `n` zero bits (n >= 0): only the count moves, as the bytes past it are still zero. */
  writeZeros(n: number): void {
    this.#bits += n;
  }

  /** Writes the low `n` bits of `value` (1 <= n <= 32); higher bits of `value` are ignored. */
  writeBits(value: number, n: number): void {
    const buf = this.#buf;
    const pos = this.#bits;
    this.#bits = pos + n;
    let idx = pos >>> 3;
    let free = 8 - (pos & 7);
    let v = n === 32 ? value >>> 0 : value & ((1 << n) - 1);
    if (n <= free) {
      buf[idx] = (buf[idx] as number) | (v << (free - n));
      return;
    }
    while (n > free) {
      n -= free;
      buf[idx] = (buf[idx] as number) | (v >>> n);
      v &= (1 << n) - 1;
      idx++;
      free = 8;
    }
    buf[idx] = (buf[idx] as number) | (v << (free - n));
  }

  /** Writes the low `n` bits (0 <= n <= 64) of the 64-bit number whose halves are `hi` and `lo`. */
  write64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.writeBits(hi, n - 32);
      this.writeBits(lo, 32);
    } else if (n > 0) {
      this.writeBits(lo, n);
    }
  }

  /** A copy of the bytes written so far. */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.byteLength);
  }

  /** Forgets everything written and keeps the buffer for reuse. */
  reset(): void {
    this.#buf.fill(0, 0, this.byteLength);
    this.#bits = 0;
  }
}
