import { describe, expect, it } from 'vitest';
import { WAVEFORM_DEFAULTS, createWaveform, sawtooth, type WaveformOptions } from './waveform.js';

describe('sawtooth', () => {
  it('defaults to the seed Medidor ramp: period 1 s, amplitude 1, rising from 0', () => {
    expect(WAVEFORM_DEFAULTS).toEqual({ periodMs: 1000, amplitude: 1, offset: 0, phase: 0, width: 1 });
    expect(Object.isFrozen(WAVEFORM_DEFAULTS)).toBe(true);
    expect([0, 250, 500, 750, 999, 1000, 1250].map((t) => sawtooth(t))).toEqual([0, 0.25, 0.5, 0.75, 0.999, 0, 0.25]);
  });

  it.each([
    // width 1: rising ramp from offset to offset + amplitude, then wraps
    {
      options: { width: 1 },
      points: [
        [0, 0],
        [100, 0.1],
        [500, 0.5],
        [900, 0.9],
        [1000, 0],
        [1500, 0.5],
      ],
    },
    // width 0.5: triangle, peak at half the period
    {
      options: { width: 0.5 },
      points: [
        [0, 0],
        [250, 0.5],
        [500, 1],
        [750, 0.5],
        [1000, 0],
        [1250, 0.5],
      ],
    },
    // width 0: falling ramp from offset + amplitude down to offset
    {
      options: { width: 0 },
      points: [
        [0, 1],
        [250, 0.75],
        [500, 0.5],
        [750, 0.25],
        [1000, 1],
      ],
    },
    // an asymmetric width: up over the first quarter, down over the rest
    {
      options: { width: 0.25 },
      points: [
        [0, 0],
        [125, 0.5],
        [250, 1],
        [625, 0.5],
        [1000, 0],
      ],
    },
    // period, amplitude, offset
    {
      options: { periodMs: 200, amplitude: 10, offset: -5 },
      points: [
        [0, -5],
        [50, -2.5],
        [100, 0],
        [200, -5],
      ],
    },
    {
      options: { periodMs: 2000, amplitude: 4, offset: 1, width: 0.5 },
      points: [
        [0, 1],
        [500, 3],
        [1000, 5],
        [1500, 3],
        [2000, 1],
      ],
    },
    // a negative amplitude mirrors the wave below the offset
    {
      options: { amplitude: -2 },
      points: [
        [0, 0],
        [500, -1],
        [750, -1.5],
      ],
    },
    // phase shifts by a fraction of a period; whole periods wrap
    {
      options: { phase: 0.25 },
      points: [
        [0, 0.25],
        [500, 0.75],
        [750, 0],
        [1000, 0.25],
      ],
    },
    {
      options: { phase: 1.25 },
      points: [
        [0, 0.25],
        [750, 0],
      ],
    },
    {
      options: { phase: -0.25 },
      points: [
        [0, 0.75],
        [250, 0],
        [500, 0.25],
      ],
    },
    {
      options: { phase: 0.5, width: 0.5 },
      points: [
        [0, 1],
        [500, 0],
        [750, 0.5],
      ],
    },
    // negative times continue the same wave backwards
    {
      options: {},
      points: [
        [-250, 0.75],
        [-1000, 0],
        [-1, 0.999],
      ],
    },
    // Unix epoch milliseconds keep full precision
    {
      options: {},
      points: [
        [1764316800000, 0],
        [1764316800250, 0.25],
        [1764316800999, 0.999],
      ],
    },
  ] satisfies { options: WaveformOptions; points: [number, number][] }[])(
    'with $options takes the known value at each point',
    ({ options, points }) => {
      const waveform = createWaveform(options);
      for (const [timeMs, expected] of points) {
        expect(sawtooth(timeMs, options), `sawtooth(${timeMs})`).toBeCloseTo(expected, 12);
        expect(waveform(timeMs), `createWaveform(...)(${timeMs})`).toBe(sawtooth(timeMs, options));
      }
    },
  );

  it('stays within [offset, offset + amplitude] and below the peak for a rising ramp', () => {
    const waveform = createWaveform({ periodMs: 37, amplitude: 3, offset: 2 });
    for (let t = -500; t < 500; t += 0.37) {
      const value = waveform(t);
      expect(value).toBeGreaterThanOrEqual(2);
      expect(value).toBeLessThan(5);
    }
  });

  it('maps a time just before a period boundary to the end of the ramp, never past it', () => {
    // (-1e-14 % 1000) / 1000 is about -1e-17, whose fractional part rounds to exactly 1.
    const value = sawtooth(-1e-14);
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThan(1);
  });

  it('ignores options set to undefined at run time and uses the defaults', () => {
    const options = { periodMs: undefined, width: undefined } as unknown as WaveformOptions;
    expect(sawtooth(250, options)).toBe(0.25);
  });
});

describe('waveform option validation', () => {
  it.each([
    ['periodMs', { periodMs: 0 }],
    ['periodMs', { periodMs: -1000 }],
    ['periodMs', { periodMs: Number.NaN }],
    ['periodMs', { periodMs: Number.POSITIVE_INFINITY }],
    ['amplitude', { amplitude: Number.NaN }],
    ['amplitude', { amplitude: Number.NEGATIVE_INFINITY }],
    ['offset', { offset: Number.POSITIVE_INFINITY }],
    ['phase', { phase: Number.NaN }],
    ['width', { width: -0.1 }],
    ['width', { width: 1.01 }],
    ['width', { width: Number.NaN }],
  ] satisfies [string, WaveformOptions][])('rejects a bad %s with a RangeError naming it: %o', (name, options) => {
    for (const call of [() => createWaveform(options), () => sawtooth(0, options)]) {
      expect(call).toThrow(RangeError);
      expect(call).toThrow(new RegExp(`^${name} must be`));
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    }
  });

  it.each([
    ['periodMs', { periodMs: '1000' }],
    ['amplitude', { amplitude: null }],
    ['width', { width: true }],
  ])('rejects a %s that is not a number with a TypeError naming it', (name, options) => {
    const call = (): unknown => createWaveform(options as unknown as WaveformOptions);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(new RegExp(`^${name} must be a number`));
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('rejects options that are not an object', () => {
    expect(() => createWaveform(5 as unknown as WaveformOptions)).toThrow(/^options must be an object/);
  });

  it.each([{ width: 0 }, { width: 1 }, { amplitude: 0 }, { amplitude: -1 }, { phase: -3.5 }, { periodMs: 1e-3 }])(
    'accepts the edge value %o',
    (options) => {
      expect(Number.isFinite(createWaveform(options)(123))).toBe(true);
    },
  );
});
