// How it works: mulberry32, a 32-bit state advanced by a Weyl step and mixed
// by two multiply-xorshift rounds: not cryptographic, but tiny and the same
// sequence for the same seed on every run, which is what a failed crash round
// needs to be replayed.

/**
 * A seeded pseudo-random source. The same seed gives the same sequence.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * const die = rng.int(1, 6); // the same on every run with seed 42
 * ```
 */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() needs a non-empty array');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A seed for another generator, drawn from this one. */
  seed(): number {
    return Math.floor(this.next() * 2 ** 32);
  }

  /** A generator of its own, seeded from this one (for a loop whose calls interleave with others'). */
  fork(): Rng {
    return new Rng(this.seed());
  }
}

/** Mixes a base seed and a round number into the round's seed (so each round can be replayed alone). */
export function roundSeed(baseSeed: number, round: number): number {
  const rng = new Rng((baseSeed ^ Math.imul(round + 1, 0x9e3779b1)) >>> 0);
  return rng.seed();
}
