import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TIME_MS } from './limits.js';
import { formatTimeArg, parseTimeArg, resolveTime, type TimeArg, type TimeUnit } from './time-arg.js';

const NOW = 1_764_316_800_000;

describe('parseTimeArg (docs/PROTOCOL.md, "History: RANGE")', () => {
  it.each<[string, TimeArg]>([
    ['now', { kind: 'now' }],
    ['NOW', { kind: 'now' }],
    ['Now', { kind: 'now' }],
    ['-90s', { kind: 'ago', amount: 90, unit: 's' }],
    ['-15m', { kind: 'ago', amount: 15, unit: 'm' }],
    ['-6h', { kind: 'ago', amount: 6, unit: 'h' }],
    ['-7d', { kind: 'ago', amount: 7, unit: 'd' }],
    ['-250ms', { kind: 'ago', amount: 250, unit: 'ms' }],
    ['-0s', { kind: 'ago', amount: 0, unit: 's' }],
    ['-007s', { kind: 'ago', amount: 7, unit: 's' }],
    ['0', { kind: 'at', ms: 0 }],
    ['1764316800125', { kind: 'at', ms: 1764316800125 }],
    ['1764316800125.5', { kind: 'at', ms: 1764316800125.5 }],
    ['1e-7', { kind: 'at', ms: 1e-7 }],
    ['99999999999999', { kind: 'at', ms: 99999999999999 }],
  ])('reads %j', (text, expected) => {
    expect(parseTimeArg(text)).toEqual(expected);
  });

  it.each([
    '',
    'nan',
    'inf',
    '-1',
    '-1.5s',
    '-s',
    '15m',
    '-15M',
    '-15min',
    '-15w',
    '-1e3s',
    '-0',
    '100000000000000',
    `-${MAX_TIME_MS + 1}ms`,
    '-1157407408d',
    'now ',
    ' now',
    'yesterday',
    '0x10',
    '1_000',
    '-15 m',
    '\u00e9',
  ])('refuses %j', (text) => {
    expect(parseTimeArg(text)).toBeUndefined();
  });

  it('accepts an offset of exactly the largest time and nothing past it', () => {
    expect(parseTimeArg(`-${MAX_TIME_MS}ms`)).toEqual({ kind: 'ago', amount: MAX_TIME_MS, unit: 'ms' });
    expect(parseTimeArg(`-${MAX_TIME_MS + 1}ms`)).toBeUndefined();
    // 1e14 ms is 1157407.4 days.
    expect(parseTimeArg('-1157407d')).toEqual({ kind: 'ago', amount: 1157407, unit: 'd' });
    expect(parseTimeArg('-1157408d')).toBeUndefined();
  });
});

describe('resolveTime', () => {
  it('resolves relative times against the now it is given', () => {
    expect(resolveTime({ kind: 'now' }, NOW)).toBe(NOW);
    expect(resolveTime({ kind: 'ago', amount: 90, unit: 's' }, NOW)).toBe(NOW - 90_000);
    expect(resolveTime({ kind: 'ago', amount: 15, unit: 'm' }, NOW)).toBe(NOW - 900_000);
    expect(resolveTime({ kind: 'ago', amount: 6, unit: 'h' }, NOW)).toBe(NOW - 21_600_000);
    expect(resolveTime({ kind: 'ago', amount: 7, unit: 'd' }, NOW)).toBe(NOW - 604_800_000);
    expect(resolveTime({ kind: 'ago', amount: 5, unit: 'ms' }, NOW)).toBe(NOW - 5);
    expect(resolveTime({ kind: 'at', ms: 12.5 }, NOW)).toBe(12.5);
  });
});

describe('formatTimeArg', () => {
  const unitArb = fc.constantFrom<TimeUnit>('ms', 's', 'm', 'h', 'd');
  const UNIT_MS: Record<TimeUnit, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const timeArb: fc.Arbitrary<TimeArg> = fc.oneof(
    fc.constant<TimeArg>({ kind: 'now' }),
    fc
      .oneof(
        fc.integer({ min: 0, max: MAX_TIME_MS - 1 }),
        fc.double({ min: 0, max: MAX_TIME_MS, maxExcluded: true, noNaN: true }),
      )
      .map((ms): TimeArg => ({ kind: 'at', ms: Object.is(ms, -0) ? 0 : ms })),
    unitArb.chain((unit) =>
      fc
        .integer({ min: 0, max: Math.floor(MAX_TIME_MS / UNIT_MS[unit]) })
        .map((amount): TimeArg => ({ kind: 'ago', amount, unit })),
    ),
  );

  it('writes what parseTimeArg reads back to the same time', () => {
    fc.assert(
      fc.property(timeArb, (arg) => {
        expect(parseTimeArg(formatTimeArg(arg))).toEqual(arg);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses times the wire cannot carry', () => {
    expect(() => formatTimeArg({ kind: 'at', ms: -1 })).toThrow(RangeError);
    expect(() => formatTimeArg({ kind: 'at', ms: MAX_TIME_MS })).toThrow(RangeError);
    expect(() => formatTimeArg({ kind: 'at', ms: Number.NaN })).toThrow(RangeError);
    expect(() => formatTimeArg({ kind: 'ago', amount: 1.5, unit: 's' })).toThrow(RangeError);
    expect(() => formatTimeArg({ kind: 'ago', amount: -1, unit: 's' })).toThrow(RangeError);
    expect(() => formatTimeArg({ kind: 'ago', amount: 1, unit: 'w' as TimeUnit })).toThrow(RangeError);
    expect(() => formatTimeArg({ kind: 'soon' } as unknown as TimeArg)).toThrow(TypeError);
  });
});
