/**
 * @internal The unfinished line of a stream decoder: the bytes of a line
 * carried from one chunk to the next. It starts small and grows by doubling,
 * never past `max` (the decoders never append beyond their line limit).
 */
export class LineBuffer {
  bytes: Uint8Array;
  length = 0;

  constructor(readonly max: number) {
    this.bytes = new Uint8Array(Math.min(max, 256));
  }

  /** Appends `chunk[start, end)`. */
  append(chunk: Uint8Array, start: number, end: number): void {
    const need = this.length + (end - start);
    if (need > this.bytes.length) {
      const grown = new Uint8Array(Math.min(this.max, Math.max(need, this.bytes.length * 2)));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(chunk.subarray(start, end), this.length);
    this.length = need;
  }
}
