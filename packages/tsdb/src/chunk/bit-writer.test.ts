import { describe, expect, it } from 'vitest';
import { BitWriter, MAX_WRITER_BYTES } from './bit-writer.js';

describe('BitWriter', () => {
  it('writes most significant bit first and leaves the unused bits of the last byte zero', () => {
    const writer = new BitWriter();
    writer.reserve(4);
    writer.writeBits(0b101, 3);
    writer.writeBits(0b1, 1);
    writer.writeBits(0b0011_0011_1, 9);
    expect(writer.bitLength).toBe(13);
    expect(writer.byteLength).toBe(2);
    expect(Array.from(writer.bytes())).toEqual([0b1011_0011, 0b0011_1000]);
  });

  it('ignores the bits of a value above the width asked for', () => {
    const writer = new BitWriter();
    writer.reserve(2);
    writer.writeBits(0xff, 4);
    writer.writeBits(-1, 3);
    writer.writeBits(0x100, 1);
    expect(Array.from(writer.bytes())).toEqual([0b1111_1110]);
  });

  it('writes 32-bit values, negative ones as their two-complement bits, at any bit offset', () => {
    const writer = new BitWriter();
    writer.reserve(9);
    writer.writeBits(1, 1);
    writer.writeBits(0xdeadbeef, 32);
    writer.writeBits(-2, 32);
    const bytes = writer.bytes();
    expect(bytes.length).toBe(9);
    // 1, then 0xdeadbeef, then 0xfffffffe, then 7 zero bits
    expect(Array.from(bytes)).toEqual([0xef, 0x56, 0xdf, 0x77, 0xff, 0xff, 0xff, 0xff, 0x00]);
  });

  it('writes up to 64 bits from two halves', () => {
    const writer = new BitWriter();
    writer.reserve(16);
    writer.write64(0x12345678, 0x9abcdef0, 64);
    writer.write64(0xffffffff, 0x0000000f, 36);
    writer.write64(0xffffffff, 0xffffffff, 0);
    expect(writer.bitLength).toBe(100);
    expect(Array.from(writer.bytes())).toEqual([
      0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0xf0, 0x00, 0x00, 0x00, 0xf0,
    ]);
  });

  it('grows by doubling and keeps what was written', () => {
    const writer = new BitWriter(8);
    expect(writer.capacity).toBe(8);
    for (let i = 0; i < 8; i++) {
      writer.reserve(1);
      writer.writeBits(i, 8);
    }
    expect(writer.capacity).toBe(8);
    writer.reserve(1);
    expect(writer.capacity).toBe(16);
    writer.reserve(40);
    expect(writer.capacity).toBe(64);
    expect(Array.from(writer.bytes())).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('refuses to grow past MAX_WRITER_BYTES', () => {
    const writer = new BitWriter();
    expect(() => writer.reserve(MAX_WRITER_BYTES + 1)).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }),
    );
  });

  it('hands out copies, and reset() empties it for reuse', () => {
    const writer = new BitWriter();
    writer.reserve(1);
    writer.writeBits(0xff, 8);
    const copy = writer.bytes();
    writer.reset();
    expect(writer.bitLength).toBe(0);
    expect(writer.bytes().length).toBe(0);
    writer.reserve(1);
    writer.writeBits(0b1, 1);
    expect(Array.from(writer.bytes())).toEqual([0b1000_0000]);
    expect(Array.from(copy)).toEqual([0xff]);
  });
});
