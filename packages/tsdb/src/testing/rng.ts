// How it works: mulberry32, a 32-bit state advanced by a Weyl step and mixed
// by two multiply-xorshift rounds. It is not cryptographic; it is tiny, fast
// and the same sequence for the same seed on every run, which is what a
// failing crash test needs to be replayed.

/** A source of random integers: `rng(n)` is an integer in `[0, n)`. */
export type Rng = (n: number) => number;

/**
 * A seeded pseudo-random source (mulberry32). The same seed gives the same
 * sequence. `n` must be a positive integer no larger than 2^32.
 *
 * @example
 * ```ts
 * const rng = createRng(42);
 * const die = rng(6) + 1; // 1..6, the same on every run with seed 42
 * ```
 */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  return (n: number): number => {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) {
      throw new RangeError(`rng(n) needs an integer n in [1, 2^32], got ${String(n)}`);
    }
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u32 = (t ^ (t >>> 14)) >>> 0;
    return Math.floor((u32 / 2 ** 32) * n);
  };
}
