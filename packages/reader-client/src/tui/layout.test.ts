import { describe, expect, it } from 'vitest';
import { layoutSeries, niceStep, timeLabel, yRange } from './layout.js';

function lay(points: [t: number, v: number, brk?: 1][], slots: number, tMin = 0, tMax = 100): number[] {
  const times = Float64Array.from(points.map((p) => p[0]));
  const values = Float64Array.from(points.map((p) => p[1]));
  const breaks = Float64Array.from(points.map((p) => p[2] ?? 0));
  return layoutSeries(times, values, breaks, points.length, tMin, tMax, slots, -Infinity, Infinity);
}

const drawn = (y: number[]): boolean[] => y.map((v) => !Number.isNaN(v));

describe('layoutSeries', () => {
  it('places readings by time and fills the slots between them by interpolation', () => {
    const y = lay(
      [
        [0, 0],
        [100, 10],
      ],
      11,
    );
    expect(y).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('leaves the slots of a break empty, so the chart draws a gap', () => {
    const y = lay(
      [
        [0, 1],
        [20, 1],
        [80, 2, 1],
        [100, 2],
      ],
      11,
    );
    expect(drawn(y)).toEqual([true, true, true, false, false, false, false, false, true, true, true]);
  });

  it('keeps a one-slot gap between adjacent slots across a break', () => {
    const y = lay(
      [
        [0, 1],
        [50, 1],
        [60, 2, 1],
        [100, 2],
      ],
      11,
    );
    expect(Number.isNaN(y[5])).toBe(true);
    expect(y[6]).toBe(2);
  });

  it('widens a lone reading to two slots so that it is drawn', () => {
    const y = lay(
      [
        [0, 1],
        [50, 5, 1],
        [100, 7, 1],
      ],
      11,
    );
    expect(y.filter((v) => v === 1)).toHaveLength(2);
    expect(y.filter((v) => v === 5)).toHaveLength(2);
    expect(y.filter((v) => v === 7)).toHaveLength(2);
    expect(drawn(y).filter(Boolean)).toHaveLength(6);
  });

  it('clamps values to the drawn range', () => {
    const times = Float64Array.of(0, 100);
    const values = Float64Array.of(-5, 5);
    expect(layoutSeries(times, values, new Float64Array(2), 2, 0, 100, 3, 0, 1)).toEqual([0, 0.5, 1]);
  });
});

describe('yRange', () => {
  it('splits a fixed range into the asked number of steps', () => {
    expect(yRange(0.2, 0.7, 0, 1, 4)).toEqual({ min: 0, max: 1, step: 0.25 });
  });

  it('rounds an automatic range outward to nice steps', () => {
    expect(yRange(103, 197, undefined, undefined, 5)).toEqual({ min: 100, max: 200, step: 20 });
    expect(yRange(-0.3, 0.9, undefined, undefined, 5)).toMatchObject({ step: 0.25 });
  });

  it('opens up a flat or empty range', () => {
    const flat = yRange(3, 3, undefined, undefined, 5);
    expect(flat.min).toBeLessThan(3);
    expect(flat.max).toBeGreaterThan(3);
    expect(yRange(Infinity, -Infinity, undefined, undefined, 5)).toMatchObject({ min: 0, max: 1 });
  });

  it('keeps a single fixed bound', () => {
    expect(yRange(2, 9, 0, undefined, 5)).toEqual({ min: 0, max: 10, step: 2 });
  });
});

describe('niceStep', () => {
  it('picks 1, 2, 2.5 or 5 times a power of ten', () => {
    expect([0.13, 0.2, 0.24, 3, 7, 1200].map(niceStep)).toEqual([0.2, 0.2, 0.25, 5, 10, 2000]);
  });
});

describe('timeLabel', () => {
  it('prints wall-clock time with milliseconds for short spans', () => {
    expect(timeLabel(Date.UTC(2025, 0, 1, 12, 0, 1, 250), 0, 5000, 'clock')).toMatch(/^\d\d:\d\d:01\.250$/);
    expect(timeLabel(Date.UTC(2025, 0, 1, 12, 0, 1, 250), 0, 120_000, 'clock')).toMatch(/^\d\d:\d\d:01$/);
  });

  it('prints seconds before the newest reading in relative mode', () => {
    expect(timeLabel(7500, 10_000, 10_000, 'relative')).toBe('-2.5s');
    expect(timeLabel(10_000, 10_000, 10_000, 'relative')).toBe('0.0s');
  });
});
