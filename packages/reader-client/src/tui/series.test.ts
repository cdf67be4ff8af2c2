import { describe, expect, it } from 'vitest';
import { Series } from './series.js';

describe('Series', () => {
  it('counts readings lost from seq jumps and ignores a repeated seq', () => {
    const s = new Series('ramp', 'yellow', 10, true);
    for (const seq of [1, 2, 5, 5, 6, 9]) s.push({ value: seq, timestampMs: seq * 100, seq });
    expect(s.lost).toBe(4);
    expect(s.size).toBe(5);
    const times = new Float64Array(10);
    const values = new Float64Array(10);
    const breaks = new Float64Array(10);
    const n = s.copyLast(10, times, values, breaks);
    expect([...breaks.subarray(0, n)]).toEqual([0, 0, 1, 0, 1]);
  });

  it('breaks without counting loss when the seq goes back (a server restart)', () => {
    const s = new Series('ramp', 'yellow', 10, true);
    for (const seq of [7, 8, 1, 2]) s.push({ value: seq, timestampMs: 0, seq });
    expect(s.lost).toBe(0);
    expect(s.stats(10).lost).toBe(0);
  });

  it('breaks the line where a gap was marked', () => {
    const s = new Series('p', 'cyan', 4, false);
    s.push({ value: 1, timestampMs: 0 });
    s.markGap();
    s.push({ value: 2, timestampMs: 1 });
    const breaks = new Float64Array(4);
    s.copyLast(4, new Float64Array(4), new Float64Array(4), breaks);
    expect([...breaks.subarray(0, 2)]).toEqual([0, 1]);
    expect(s.stats(4).lost).toBeNaN();
  });

  it('reports last, min, max and rate over the window only', () => {
    const s = new Series('ramp', 'yellow', 100, true);
    [5, 1, 9, 3, 4].forEach((value, i) => s.push({ value, timestampMs: 1000 + i * 250, seq: i + 1 }));
    expect(s.stats(3)).toMatchObject({ last: 4, min: 3, max: 9, ratePerSec: 4, size: 3, count: 5 });
    expect(s.stats(10)).toMatchObject({ min: 1, max: 9 });
  });

  it('keeps the newest readings when its buffers grow', () => {
    const s = new Series('ramp', 'yellow', 2, true);
    [1, 2, 3].forEach((seq) => s.push({ value: seq, timestampMs: seq, seq }));
    s.ensureCapacity(5);
    expect(s.capacity).toBe(5);
    expect(s.stats(5)).toMatchObject({ min: 2, max: 3, size: 2 });
  });
});
