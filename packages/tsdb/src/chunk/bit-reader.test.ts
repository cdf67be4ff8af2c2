import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitReader } from './bit-reader.js';
import { BitWriter } from './bit-writer.js';
import { ChunkDecodeError } from './errors.js';

describe('BitReader', () => {
  it('reads most significant bit first, across byte boundaries', () => {
    const reader = new BitReader(Uint8Array.of(0b1011_0011, 0b0011_1000));
    expect(reader.readBits(3)).toBe(0b101);
    expect(reader.readBits(1)).toBe(1);
    expect(reader.readBits(9)).toBe(0b0011_0011_1);
    expect(reader.position).toBe(13);
    expect(reader.remaining).toBe(3);
  });

  it('reads 32 bits as an unsigned number', () => {
    const reader = new BitReader(Uint8Array.of(0xff, 0xff, 0xff, 0xfe, 0x80));
    reader.skip(1);
    expect(reader.readBits(32)).toBe(0xfffffffd);
  });

  it('peeks the next 32 bits left-aligned without moving, zeros past the end', () => {
    const reader = new BitReader(Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc));
    expect(reader.peek() >>> 0).toBe(0x12345678);
    reader.skip(4);
    expect(reader.peek() >>> 0).toBe(0x23456789);
    expect(reader.position).toBe(4);
    reader.skip(28);
    expect(reader.peek() >>> 0).toBe(0x9abc0000);
    reader.skip(13);
    expect(reader.peek() >>> 0).toBe(0b1000_0000_0000_0000_0000_0000_0000_0000);
  });

  it('throws ChunkDecodeError instead of reading past the end, and stays where it was', () => {
    const reader = new BitReader(Uint8Array.of(0xaa));
    reader.skip(5);
    expect(() => reader.readBits(4)).toThrow(ChunkDecodeError);
    expect(() => reader.skip(4)).toThrow(/chunk truncated: 4 more bits needed at bit 5 of a 1-byte chunk/);
    expect(reader.position).toBe(5);
    expect(reader.readBits(3)).toBe(0b010);
    expect(() => new BitReader(new Uint8Array(0)).readBits(1)).toThrow(
      expect.objectContaining({ code: 'ERR_CHUNK_CORRUPT' }),
    );
  });

  it('reads back whatever BitWriter wrote', () => {
    const field = fc
      .integer({ min: 1, max: 32 })
      .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: 2 ** n - 1 })));
    fc.assert(
      fc.property(fc.array(field, { maxLength: 80 }), (fields) => {
        const writer = new BitWriter(8);
        for (const [n, value] of fields) {
          writer.reserve(4);
          writer.writeBits(value, n);
        }
        const reader = new BitReader(writer.bytes());
        for (const [n, value] of fields) expect(reader.readBits(n)).toBe(value);
        expect(reader.remaining).toBeLessThan(8);
        if (reader.remaining > 0) expect(reader.readBits(reader.remaining)).toBe(0);
      }),
    );
  });
});
