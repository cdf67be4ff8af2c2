// How it works: `buckets` puts a reading in bucket floor((ts - from) * points / (to - from)), the last bucket closed
// at `to` (docs/STORAGE.md, "Reads"), and that formula, in double arithmetic, is the definition: the plain model in
// testing-model.ts computes it the same way. Each of its steps (a subtraction, a product and a quotient by positive
// numbers, a floor) rounds monotonically, so the bucket never decreases as ts grows: every bucket is a run of
// consecutive doubles. The first double of bucket j, its edge, is found once per query by evaluating the formula
// itself around the guess from + j * span / points (one ulp steps, then a bracketing search if the guess was far), so
// a reading of a sorted chunk changes bucket when ts reaches the next edge: one comparison per reading, no division,
// and the edges sit exactly where the formula puts them.

import { fromBits, highBits, lowBits } from '../chunk/float-bits.js';

/** The next double above `x` (finite). */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  let hi = highBits(x);
  let lo = lowBits(x);
  if (x > 0) {
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  } else {
    if (lo === 0) hi = (hi - 1) >>> 0;
    lo = (lo - 1) >>> 0;
  }
  return fromBits(hi, lo);
}

/** The next double below `x` (finite). */
export function nextDown(x: number): number {
  return -nextUp(-x);
}

/** Ulp steps tried around the guess before searching. */
const NEAR_STEPS = 4;

/**
 * The `points` buckets of [fromMs, toMs], as `buckets` defines them.
 *
 * @example
 * ```ts
 * const grid = new BucketGrid(0, 10, 3); // buckets [0, 10/3), [10/3, 20/3), [20/3, 10]
 * grid.bucketOf(5); // 1
 * grid.end(1); // 6.666666666666667, the smallest double in bucket 2
 * ```
 */
export class BucketGrid {
  readonly fromMs: number;
  readonly toMs: number;
  readonly points: number;
  readonly span: number;
  /**
   * Whether `end` may be used: the span is positive and no product in the formula overflows. Otherwise (a window
   * of one instant, or one wider than the doubles reach) every reading takes `bucketOf`.
   */
  readonly edges: boolean;
  /** Edge j (the first double of bucket j), NaN until asked for; allocated at the first `end`. */
  #edge: Float64Array | undefined = undefined;
  readonly #past: number;

  constructor(fromMs: number, toMs: number, points: number) {
    this.fromMs = fromMs;
    this.toMs = toMs;
    this.points = points;
    this.span = toMs - fromMs;
    this.edges = this.span > 0 && Number.isFinite(this.span * points);
    this.#past = nextUp(toMs);
  }

  /** The bucket of a reading at `ts` (fromMs <= ts <= toMs). */
  bucketOf(ts: number): number {
    const span = this.span;
    return span === 0 ? 0 : Math.min(this.points - 1, Math.floor(((ts - this.fromMs) * this.points) / span));
  }

  /** Where bucket `i` starts, as reported. */
  startOf(i: number): number {
    return this.span === 0 ? this.fromMs : this.fromMs + (i * this.span) / this.points;
  }

  /** The smallest double after bucket `i`: the edge of bucket i + 1, or the first double past toMs (needs `edges`). */
  end(i: number): number {
    if (i >= this.points - 1) return this.#past;
    const j = i + 1;
    const edge = (this.#edge ??= new Float64Array(this.points).fill(Number.NaN));
    let e = edge[j] as number;
    if (e !== e) {
      e = this.#find(j);
      edge[j] = e;
    }
    return e;
  }

  /** The formula without the clamp to the last bucket (the same for buckets below it). */
  #f(ts: number): number {
    return Math.floor(((ts - this.fromMs) * this.points) / this.span);
  }

  /** The smallest double t with #f(t) >= j, for 1 <= j <= points - 1 (so fromMs < t <= toMs). */
  #find(j: number): number {
    const from = this.fromMs;
    const to = this.toMs;
    let hi = Math.min(to, Math.max(from, from + (j * this.span) / this.points));
    // Near the guess: step one double at a time, usually zero or one step.
    for (let k = 0; k < NEAR_STEPS; k++) {
      if (this.#f(hi) >= j) {
        const below = nextDown(hi);
        if (this.#f(below) < j) return hi;
        hi = below;
      } else {
        hi = nextUp(hi);
      }
    }
    // Far from it: bracket with lo < hi, #f(lo) < j <= #f(hi), widening steps, then halve.
    let lo: number;
    let step = Math.max(Math.abs(from), Math.abs(to), Number.MIN_VALUE) * Number.EPSILON;
    if (this.#f(hi) >= j) {
      lo = hi - step;
      while (lo > from && this.#f(lo) >= j) {
        hi = lo;
        step *= 2;
        lo = hi - step;
      }
      if (!(lo > from)) lo = from; // #f(from) = 0 < j
    } else {
      lo = hi;
      hi = lo + step;
      while (hi < to && this.#f(hi) < j) {
        lo = hi;
        step *= 2;
        hi = lo + step;
      }
      if (!(hi < to)) hi = to; // #f(to) >= points - 1 >= j
    }
    for (;;) {
      const mid = lo + (hi - lo) / 2;
      if (!(mid > lo && mid < hi)) break;
      if (this.#f(mid) >= j) hi = mid;
      else lo = mid;
    }
    // Adjacent now, unless the halving rounded to an end early: walk down the rest.
    for (let below = nextDown(hi); below > lo && this.#f(below) >= j; below = nextDown(hi)) hi = below;
    return hi;
  }
}
