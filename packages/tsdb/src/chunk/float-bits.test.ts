import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBits, highBits, lowBits } from './float-bits.js';

describe('float bits', () => {
  it.each([
    [1, 0x3ff00000, 0],
    [-2, 0xc0000000, 0],
    [0, 0, 0],
    [-0, 0x80000000, 0],
    [5e-324, 0, 1],
    [Number.MAX_VALUE, 0x7fefffff, 0xffffffff],
    [0.1, 0x3fb99999, 0x9999999a],
  ])('splits %d into its high and low 32-bit words', (value, hi, lo) => {
    expect(highBits(value)).toBe(hi);
    expect(lowBits(value)).toBe(lo);
    expect(Object.is(fromBits(hi, lo), value)).toBe(true);
  });

  it('puts the sign and exponent in the high word whatever the byte order', () => {
    const view = new DataView(new ArrayBuffer(8));
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (value) => {
        view.setFloat64(0, value);
        expect(highBits(value)).toBe(view.getUint32(0));
        expect(lowBits(value)).toBe(view.getUint32(4));
        expect(Object.is(fromBits(highBits(value), lowBits(value)), value)).toBe(true);
      }),
    );
  });
});
