import { describe, expect, it } from 'vitest';
import { createRng } from './rng.js';

describe('createRng', () => {
  it('gives the same sequence for the same seed', () => {
    const a = createRng(7);
    const b = createRng(7);
    const seqA = Array.from({ length: 50 }, () => a(1000));
    const seqB = Array.from({ length: 50 }, () => b(1000));
    expect(seqA).toEqual(seqB);
  });

  it('gives different sequences for different seeds', () => {
    const a = createRng(1);
    const b = createRng(2);
    const seqA = Array.from({ length: 20 }, () => a(1 << 30));
    const seqB = Array.from({ length: 20 }, () => b(1 << 30));
    expect(seqA).not.toEqual(seqB);
  });

  it('returns integers in [0, n) and reaches every value of a small range', () => {
    const rng = createRng(123);
    const seen = new Array<number>(7).fill(0);
    for (let i = 0; i < 7000; i++) {
      const x = rng(7);
      expect(Number.isInteger(x)).toBe(true);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(7);
      seen[x] = (seen[x] ?? 0) + 1;
    }
    // each bucket expects 1000; a broken generator (constant, or stuck in a subrange) misses by far more
    for (const count of seen) expect(count).toBeGreaterThan(800);
  });

  it('always returns 0 for n = 1', () => {
    const rng = createRng(99);
    for (let i = 0; i < 100; i++) expect(rng(1)).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 32 + 1])('rejects n = %d with a RangeError', (n) => {
    expect(() => createRng(1)(n)).toThrow(RangeError);
  });
});
