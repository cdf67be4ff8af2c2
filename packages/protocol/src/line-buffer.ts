const EMPTY = new Uint8Array(0);

/**
 * @internal The unfinished line of a stream decoder: the bytes of a line
 * carried from one chunk to the next. It holds no memory until a line is
 * first split across chunks (most connections never split one), then starts
 * at 256 bytes and grows by doubling, never past `max` (the decoders never
 * append beyond their line limit).
 */
export class LineBuffer {
  bytes: Uint8Array = EMPTY;
  length = 0;

  constructor(readonly max: number) {}

  /** Appends `chunk[start, end)`. */
  append(chunk: Uint8Array, start: number, end: number): void {
    const need = this.length + (end - start);
    if (need > this.bytes.length) {
      const grown = new Uint8Array(Math.min(this.max, Math.max(need, this.bytes.length * 2, 256)));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(chunk.subarray(start, end), this.length);
    this.length = need;
  }
}
