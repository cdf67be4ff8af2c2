/**
 * Packs native lines into one reusable datagram buffer.
 *
 * How it works: one `Buffer` is allocated up front; {@link DatagramPacker.tryAppend}
 * writes `\n` + line (ASCII) after what is already there, or refuses when the
 * line would not fit, so the caller sends what it has, calls `reset()` and
 * appends again. Nothing is allocated per reading beyond the line string itself.
 * Lines are joined with LF and the datagram has no trailing LF (PROTOCOL.md "UDP ingest": a
 * datagram is one or more lines separated by LF).
 */

/**
 * Largest datagram the sensor builds by default: fits a 1500-byte Ethernet MTU
 * after IPv4/IPv6 and UDP headers, so batches are never fragmented.
 *
 * @example
 * ```ts
 * const packer = new DatagramPacker(DEFAULT_DATAGRAM_BYTES);
 * ```
 */
export const DEFAULT_DATAGRAM_BYTES = 1400;

/**
 * A fixed-capacity datagram being filled with lines.
 *
 * @example
 * ```ts
 * const packer = new DatagramPacker(1400);
 * packer.tryAppend('ramp 0.25 1764316800.25 1'); // true
 * packer.tryAppend('ramp 0.5 1764316800.5 2'); // true
 * socket.send(packer.buffer, 0, packer.byteLength, port, host); // "ramp 0.25 …\nramp 0.5 …"
 * packer.reset(); // after the send completed
 * ```
 */
export class DatagramPacker {
  /** The datagram bytes; only the first {@link byteLength} are meaningful. Reused: do not change it while a send is in flight. */
  readonly buffer: Buffer;
  #byteLength = 0;
  #lines = 0;

  /** @param capacityBytes the largest datagram to build, 1..65507. */
  constructor(capacityBytes: number = DEFAULT_DATAGRAM_BYTES) {
    if (typeof capacityBytes !== 'number') throw new TypeError('capacityBytes must be a number');
    if (!Number.isInteger(capacityBytes) || capacityBytes < 1 || capacityBytes > 65507) {
      throw new RangeError(`capacityBytes must be an integer from 1 to 65507 (got ${capacityBytes})`);
    }
    this.buffer = Buffer.allocUnsafe(capacityBytes);
  }

  /** Bytes written so far. */
  get byteLength(): number {
    return this.#byteLength;
  }

  /** Lines written so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Capacity in bytes. */
  get capacity(): number {
    return this.buffer.length;
  }

  /**
   * Appends one line (ASCII, without LF) when it fits; returns false, and
   * writes nothing, when it does not.
   *
   * @throws {RangeError} when the line would not fit even in an empty datagram.
   */
  tryAppend(line: string): boolean {
    const separator = this.#lines === 0 ? 0 : 1;
    if (this.#byteLength + separator + line.length > this.buffer.length) {
      if (this.#lines === 0) {
        throw new RangeError(`a line of ${line.length} bytes does not fit in a ${this.buffer.length}-byte datagram`);
      }
      return false;
    }
    if (separator === 1) this.buffer[this.#byteLength++] = 0x0a;
    this.#byteLength += this.buffer.write(line, this.#byteLength, 'latin1');
    this.#lines++;
    return true;
  }

  /** Empties the datagram (keeps the buffer). */
  reset(): void {
    this.#byteLength = 0;
    this.#lines = 0;
  }

  /** The current content as a string (tests, logs); allocates. */
  toString(): string {
    return this.buffer.toString('latin1', 0, this.#byteLength);
  }
}
