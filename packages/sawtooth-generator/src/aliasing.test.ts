import { describe, expect, it } from 'vitest';
import { aliasingWarning } from './aliasing.js';

describe('aliasingWarning', () => {
  it('warns that the waveform aliases when Δt is above half the period', () => {
    expect(aliasingWarning(600, 1000)).toBe(
      'Δt = 600 ms samples a 1000 ms period only 1.7 times per period: the waveform aliases; ' +
        'use Δt < 500 ms (at least 10 samples per period, Δt <= 100 ms, to see its shape)',
    );
  });

  it.each([
    [500, 1000, '2 times'],
    [1000, 1000, 'once'],
    [4000, 1000, '0.25 times'],
    [5, 10, '2 times'],
  ])('warns that Δt = %d ms aliases a %d ms period (sampled %s per period)', (intervalMs, periodMs, times) => {
    const warning = aliasingWarning(intervalMs, periodMs);
    expect(warning).toContain(`only ${times} per period: the waveform aliases`);
    expect(warning).toContain(`use Δt < ${periodMs / 2} ms`);
  });

  it.each([
    [200, 1000, '5 times', 100],
    [499, 1000, '2 times', 100],
    [101, 1000, '9.9 times', 100],
    [1.5, 10, '6.7 times', 1],
    [0.4, 2, '5 times', 0.2],
  ])(
    'gives the milder shape warning for Δt = %d ms of a %d ms period (%s, below 10 samples per period)',
    (intervalMs, periodMs, times, fineMs) => {
      const warning = aliasingWarning(intervalMs, periodMs);
      expect(warning).toBe(
        `Δt = ${intervalMs} ms samples a ${periodMs} ms period only ${times} per period: ` +
          `too few to see its shape; use Δt <= ${fineMs} ms (at least 10 samples per period)`,
      );
      expect(warning).not.toContain('aliases');
    },
  );

  it.each([
    [100, 1000],
    [1, 1000],
    [10, 100],
    [100 / 3, 1000],
  ])('returns undefined for Δt = %d ms and a %d ms period (10 or more samples per period)', (intervalMs, periodMs) => {
    expect(aliasingWarning(intervalMs, periodMs)).toBeUndefined();
  });

  it('rounds fractional milliseconds in the sentence', () => {
    expect(aliasingWarning(2000 / 3, 1000)).toMatch(/^Δt = 666\.7 ms samples a 1000 ms period only 1\.5 times/);
  });

  it.each([
    ['intervalMs', 0, 1000],
    ['intervalMs', -1, 1000],
    ['intervalMs', Number.NaN, 1000],
    ['periodMs', 100, 0],
    ['periodMs', 100, Number.POSITIVE_INFINITY],
  ])('rejects a bad %s with a RangeError naming it', (name, intervalMs, periodMs) => {
    expect(() => aliasingWarning(intervalMs, periodMs)).toThrow(RangeError);
    expect(() => aliasingWarning(intervalMs, periodMs)).toThrow(new RegExp(`^${name} must be`));
  });
});
