import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LossTracker, RESTART_DISTANCE, RESTART_LOW_SEQ, SEQ_WINDOW, type LossCounts } from './loss.js';

/** The rules of the table in loss.ts, with every seq seen kept in a set: what the bit window must agree with. */
class ModelTracker {
  lost = 0;
  duplicate = 0;
  late = 0;
  restarts = 0;
  last = -1;
  base = -1;
  seen = new Set<number>();

  observe(seq: number): boolean {
    if (seq < 0) return true;
    if (this.last < 0) return this.#baseline(seq);
    if (seq > this.last) {
      this.lost += seq - this.last - 1;
      this.seen.add(seq);
      this.last = seq;
      return true;
    }
    if (seq === this.last) {
      this.duplicate++;
      return false;
    }
    const behind = this.last - seq;
    const seen = behind < SEQ_WINDOW && this.seen.has(seq);
    if (behind > RESTART_DISTANCE || (seq <= RESTART_LOW_SEQ && (behind > RESTART_LOW_SEQ || seen))) {
      this.restarts++;
      return this.#baseline(seq);
    }
    if (seen) {
      this.duplicate++;
      return false;
    }
    this.late++;
    if (seq > this.base) this.lost--;
    this.seen.add(seq);
    return true;
  }

  #baseline(seq: number): boolean {
    this.seen = new Set([seq]);
    this.last = this.base = seq;
    return true;
  }
}

function track(seqs: number[]): { stored: number[]; loss: LossCounts; totals: LossCounts } {
  const totals = { lost: 0, duplicate: 0, late: 0, restarts: 0 };
  const tracker = new LossTracker(totals);
  const stored: number[] = [];
  for (const seq of seqs) if (tracker.observe(seq)) stored.push(seq);
  return {
    stored,
    loss: { lost: tracker.lost, duplicate: tracker.duplicate, late: tracker.late, restarts: tracker.restarts },
    totals,
  };
}

const counts = (lost: number, duplicate: number, late: number, restarts: number): LossCounts => ({
  lost,
  duplicate,
  late,
  restarts,
});

describe('LossTracker', () => {
  it('decides and counts every seq as a model that remembers every seq seen', () => {
    // Long gaps move the window past seqs seen a window ago, so that a late seq lands where one of those left its bit.
    const step = fc.oneof(
      { weight: 6, arbitrary: fc.constant(1) },
      { weight: 3, arbitrary: fc.integer({ min: 2, max: 70 }) },
      { weight: 2, arbitrary: fc.integer({ min: 900, max: SEQ_WINDOW + 40 }) },
      { weight: 6, arbitrary: fc.integer({ min: -RESTART_DISTANCE, max: 0 }) },
      { weight: 1, arbitrary: fc.integer({ min: -1100, max: -RESTART_DISTANCE }) },
      { weight: 1, arbitrary: fc.constant('none' as const) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 20 }).map((seq) => ({ seq })) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 1500 }), (steps) => {
        const totals = { lost: 0, duplicate: 0, late: 0, restarts: 0 };
        const tracker = new LossTracker(totals);
        const model = new ModelTracker();
        let last = 0;
        for (const s of steps) {
          const seq = s === 'none' ? -1 : typeof s === 'number' ? Math.max(0, last + s) : s.seq;
          expect(tracker.observe(seq), `seq ${seq} after ${model.last}`).toBe(model.observe(seq));
          if (model.last >= 0) last = model.last;
          const want = { lost: model.lost, duplicate: model.duplicate, late: model.late, restarts: model.restarts };
          expect({
            lost: tracker.lost,
            duplicate: tracker.duplicate,
            late: tracker.late,
            restarts: tracker.restarts,
          }).toEqual(want);
          expect(totals).toEqual(want);
        }
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    { name: 'contiguous seqs lose nothing', seqs: [1, 2, 3, 4], stored: [1, 2, 3, 4], loss: counts(0, 0, 0, 0) },
    { name: 'a gap counts the missing seqs as lost', seqs: [1, 2, 5], stored: [1, 2, 5], loss: counts(2, 0, 0, 0) },
    { name: 'the first seq is the baseline', seqs: [100, 101], stored: [100, 101], loss: counts(0, 0, 0, 0) },
    { name: 'the same seq twice is a duplicate', seqs: [1, 2, 2], stored: [1, 2], loss: counts(0, 1, 0, 0) },
    {
      name: 'an older seq seen before is a duplicate',
      seqs: [20, 21, 22, 21],
      stored: [20, 21, 22],
      loss: counts(0, 1, 0, 0),
    },
    {
      name: 'a reordered seq is late and no longer lost',
      seqs: [1, 2, 4, 3, 5],
      stored: [1, 2, 4, 3, 5],
      loss: counts(0, 0, 1, 0),
    },
    {
      name: 'a late seq that arrives twice is late then duplicate',
      seqs: [30, 32, 31, 31],
      stored: [30, 32, 31],
      loss: counts(0, 1, 1, 0),
    },
    {
      // Seq 1100 has the window bit seq 76 set, and the gap from 1000 to 1500 (under a window) must clear it.
      name: 'a late seq in a gap is late even where a seq a window older was seen',
      seqs: [...Array.from({ length: 1000 }, (_, i) => i + 1), 1500, 1100],
      stored: [...Array.from({ length: 1000 }, (_, i) => i + 1), 1500, 1100],
      loss: counts(498, 0, 1, 0),
    },
    {
      name: 'a seq below the baseline is late without changing lost',
      seqs: [50, 51, 49],
      stored: [50, 51, 49],
      loss: counts(0, 0, 1, 0),
    },
    {
      name: 'a seq more than 1000 below the last is a restart',
      seqs: [5000, 5001, 3000, 3001],
      stored: [5000, 5001, 3000, 3001],
      loss: counts(0, 0, 0, 1),
    },
    {
      name: 'a sender restarting from 1 after a while is a restart, not billions lost',
      seqs: [500, 501, 1, 2, 3],
      stored: [500, 501, 1, 2, 3],
      loss: counts(0, 0, 0, 1),
    },
    {
      name: 'a sender restarting from 0 soon after starting is a restart (seq already seen)',
      seqs: [0, 1, 2, 3, 0, 1],
      stored: [0, 1, 2, 3, 0, 1],
      loss: counts(0, 0, 0, 1),
    },
    {
      name: 'a gap larger than the window is counted in full',
      seqs: [1, 5000, 5001],
      stored: [1, 5000, 5001],
      loss: counts(4998, 0, 0, 0),
    },
    {
      name: 'readings without a sender-seq are not accounted',
      seqs: [-1, -1, -1],
      stored: [-1, -1, -1],
      loss: counts(0, 0, 0, 0),
    },
  ])('$name', ({ seqs, stored, loss }) => {
    const result = track(seqs);
    expect(result.stored).toEqual(stored);
    expect(result.loss).toEqual(loss);
    expect(result.totals).toEqual(loss);
  });

  it('accepts a late seq that a long gap skipped', () => {
    // 2000 jumps past 1024 seqs after 900: 1025-1999 are lost; then 1990 fills one.
    const result = track([900, 2000, 1990]);
    expect(result.loss).toEqual(counts(1099 - 1, 0, 1, 0));
  });

  it('handles sender-seqs up to Number.MAX_SAFE_INTEGER', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const result = track([max - 2, max - 1, max, max]);
    expect(result.stored).toEqual([max - 2, max - 1, max]);
    expect(result.loss).toEqual(counts(0, 1, 0, 0));
  });
});

describe('LossTracker: save and load', () => {
  const zero = (): LossCounts => ({ lost: 0, duplicate: 0, late: 0, restarts: 0 });

  it('loads what it saved, adds the counters to the totals and decides the next seqs as before', () => {
    const a = new LossTracker(zero());
    for (const seq of [5, 6, 9, 7, 7, 40]) a.observe(seq);
    const totals = zero();
    const b = new LossTracker(totals);
    expect(b.load(a.save(4), 4)).toBe(true);
    expect(totals).toEqual({ lost: a.lost, duplicate: a.duplicate, late: a.late, restarts: a.restarts });
    for (const seq of [8, 9, 41, 3]) expect(b.observe(seq)).toBe(a.observe(seq));
    expect([b.lost, b.duplicate, b.late, b.restarts]).toEqual([a.lost, a.duplicate, a.late, a.restarts]);
  });

  it('catches up with the in-order readings stored after the save', () => {
    const a = new LossTracker(zero());
    a.observe(100);
    const saved = a.save(1);
    for (let seq = 101; seq <= 2000; seq++) a.observe(seq);
    const b = new LossTracker(zero());
    b.load(saved, 1901);
    expect(b.lastSenderSeq).toBe(2000);
    // 1999 arrived (a duplicate) and 1000 is far enough back to be a restart, for both.
    for (const seq of [1999, 2001, 1000]) expect(b.observe(seq)).toBe(a.observe(seq));
    expect([b.duplicate, b.restarts]).toEqual([a.duplicate, a.restarts]);
  });

  it('refuses bytes it does not know and changes nothing', () => {
    const totals = zero();
    const t = new LossTracker(totals);
    expect(t.load(new Uint8Array(10), 0)).toBe(false);
    const wrongVersion = new LossTracker(zero()).save(0);
    wrongVersion[0] = 9;
    expect(t.load(wrongVersion, 0)).toBe(false);
    expect(totals).toEqual(zero());
    expect(t.lastSenderSeq).toBe(-1);
  });
});
