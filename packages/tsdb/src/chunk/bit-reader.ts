// How it works: a cursor over a byte array, most significant bit first. `peek()` returns the next 32 bits
// left-aligned in an int32 (zeros past the end), built from the 5 bytes the cursor touches, so a prefix code and a
// short payload are read with one load and shifts. Moving the cursor (`skip`, `readBits`) is where the bounds are
// checked: a read past the last bit throws ChunkDecodeError, so corrupt input can never read outside the array or
// loop forever.

import { ChunkDecodeError } from './errors.js';

/**
 * Reads bits from a byte array, most significant first, never past its end.
 *
 * @example
 * ```ts
 * const reader = new BitReader(Uint8Array.of(0b1010_0000));
 * reader.readBits(3); // 0b101
 * reader.remaining; // 5
 * reader.readBits(6); // throws ChunkDecodeError: only 5 bits are left
 * ```
 */
export class BitReader {
  readonly #u: Uint8Array;
  readonly #limit: number;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#u = bytes;
    this.#limit = bytes.length * 8;
  }

  /** The bit offset of the cursor. */
  get position(): number {
    return this.#pos;
  }

  /** Bits left after the cursor. */
  get remaining(): number {
    return this.#limit - this.#pos;
  }

  /** The next 32 bits, left-aligned, as an int32 (bit 31 is the next bit); bits past the end read as zero. */
  peek(): number {
    const u = this.#u;
    const b = this.#pos >>> 3;
    const s = this.#pos & 7;
    let w: number;
    if (b + 4 < u.length) {
      w = ((u[b] as number) << 24) | ((u[b + 1] as number) << 16) | ((u[b + 2] as number) << 8) | (u[b + 3] as number);
      if (s !== 0) w = (w << s) | ((u[b + 4] as number) >>> (8 - s));
    } else {
      w = (byteAt(u, b) << 24) | (byteAt(u, b + 1) << 16) | (byteAt(u, b + 2) << 8) | byteAt(u, b + 3);
      if (s !== 0) w = (w << s) | (byteAt(u, b + 4) >>> (8 - s));
    }
    return w;
  }

  /** Moves the cursor to bit `pos`, which must be from 0 to the bit length (the caller checks). */
  seek(pos: number): void {
    this.#pos = pos;
  }

  /** Moves the cursor `n` bits on. @throws {ChunkDecodeError} when fewer than `n` bits are left. */
  skip(n: number): void {
    const pos = this.#pos + n;
    if (pos > this.#limit) throw this.#truncated(n);
    this.#pos = pos;
  }

  /** Reads `n` bits (1 <= n <= 32) as an unsigned integer. @throws {ChunkDecodeError} when fewer are left. */
  readBits(n: number): number {
    const w = this.peek();
    this.skip(n);
    return n === 32 ? w >>> 0 : w >>> (32 - n);
  }

  #truncated(n: number): ChunkDecodeError {
    return new ChunkDecodeError(
      `chunk truncated: ${n} more bits needed at bit ${this.#pos} of a ${this.#u.length}-byte chunk`,
    );
  }
}

function byteAt(u: Uint8Array, i: number): number {
  return i < u.length ? (u[i] as number) : 0;
}
