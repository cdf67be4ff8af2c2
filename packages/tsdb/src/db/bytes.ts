// How it works: a growable little-endian byte writer and a bounds-checked
// reader, the two halves every on-disk structure of the engine is built with
// (WAL payloads, chunk records, checkpoints; docs/STORAGE.md, "Conventions").
// Varints are unsigned LEB128 over safe integers (up to 2^53 - 1): seven bits
// a byte, low group first, the high bit set on every byte but the last. The
// writer's buffer doubles when full, so appending allocates nothing in the
// steady state.

const TWO_31 = 2 ** 31;

/** Thrown by {@link ByteReader} when a structure runs past its end or holds an impossible value. */
export class FormatError extends Error {
  override readonly name = 'FormatError';
}

/** A byte buffer that grows by doubling, with little-endian writers. */
export class ByteWriter {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** An unsigned LEB128 varint of a safe integer >= 0. */
  varint(v: number): void {
    this.ensure(8);
    const buf = this.buf;
    let p = this.pos;
    if (v < TWO_31) {
      while (v >= 0x80) {
        buf[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        buf[p++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    }
    buf[p++] = v;
    this.pos = p;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** A varint length, then the bytes. */
  lengthPrefixed(data: Uint8Array): void {
    this.varint(data.length);
    this.bytes(data);
  }

  /** A view of what was written (not a copy). */
  view0(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}

/** Reads what {@link ByteWriter} wrote; throws {@link FormatError} past the end. */
export class ByteReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number): void {
    if (this.pos + n > this.end)
      throw new FormatError(`needs ${n} more bytes at offset ${this.pos}, has ${this.end - this.pos}`);
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.pos++] as number;
  }

  u32(): number {
    this.#need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.#need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  varint(): number {
    const buf = this.buf;
    let p = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (p >= this.end) throw new FormatError(`varint runs past the end at offset ${p}`);
      const b = buf[p++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw new FormatError(`varint above 2^53 at offset ${this.pos}`);
        this.pos = p;
        return result;
      }
      scale *= 0x80;
    }
    throw new FormatError(`varint longer than 8 bytes at offset ${this.pos}`);
  }

  bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  lengthPrefixed(): Uint8Array {
    return this.bytes(this.varint());
  }
}
