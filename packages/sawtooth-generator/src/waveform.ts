// A pure waveform function of time. With x = frac(timeMs / periodMs + phase)
// in [0, 1) and width w, the value rises linearly from `offset` to
// `offset + amplitude` over [0, w) and falls back over [w, 1): scipy.signal's
// sawtooth(width=w) rescaled from [-1, 1] to [offset, offset + amplitude].
// w = 1 is the seed Medidor's rising ramp, 0.5 a triangle, 0 a falling ramp.

import { checkNumber, invalidType } from './validate.js';

/**
 * The shape of a sawtooth/triangle wave. Every field is optional; see
 * {@link WAVEFORM_DEFAULTS}.
 *
 * @example
 * ```ts
 * const triangle: WaveformOptions = { periodMs: 2000, width: 0.5 };
 * ```
 */
export interface WaveformOptions {
  /** Length of one period in milliseconds; finite and > 0. Default 1000. */
  periodMs?: number;
  /** Height of the wave from its lowest to its highest value; finite, may be negative. Default 1. */
  amplitude?: number;
  /** The lowest value (the value at the start of a rising ramp); finite. Default 0. */
  offset?: number;
  /** Shift as a fraction of a period (0..1; other finite values wrap). Default 0. */
  phase?: number;
  /** Fraction of the period spent rising, in [0, 1]: 1 rising ramp, 0.5 triangle, 0 falling ramp. Default 1. */
  width?: number;
}

/**
 * The defaults for {@link WaveformOptions}: the seed Medidor's ramp, period 1 s, amplitude 1.
 *
 * @example
 * ```ts
 * import { WAVEFORM_DEFAULTS } from '@opc-lite/sawtooth-generator';
 * WAVEFORM_DEFAULTS.periodMs; // 1000
 * ```
 */
export const WAVEFORM_DEFAULTS: Readonly<Required<WaveformOptions>> = Object.freeze({
  periodMs: 1000,
  amplitude: 1,
  offset: 0,
  phase: 0,
  width: 1,
});

/**
 * The waveform's value at `timeMs` (any time base, e.g. Unix epoch
 * milliseconds). Validates `options` on every call; for a hot loop use
 * {@link createWaveform}, which validates once.
 *
 * @throws {RangeError} Naming the option, when one is out of range (`code: 'ERR_OUT_OF_RANGE'`).
 * @throws {TypeError} Naming the option, when one is not a number (`code: 'ERR_INVALID_ARG_TYPE'`).
 *
 * @example
 * ```ts
 * import { sawtooth } from '@opc-lite/sawtooth-generator';
 *
 * sawtooth(250); // 0.25: a quarter into the default 1 s ramp
 * sawtooth(1000); // 0: the ramp wraps
 * sawtooth(500, { width: 0.5, amplitude: 2, offset: -1 }); // 1: the triangle's peak
 * ```
 */
export function sawtooth(timeMs: number, options?: WaveformOptions): number {
  const { periodMs, amplitude, offset, phase, width } = resolveWaveformOptions(options);
  return shape(timeMs, periodMs, amplitude, offset, phase, width);
}

/**
 * Validates `options` once and returns the waveform as a fast function of time.
 *
 * @throws {RangeError} Naming the option, when one is out of range (`code: 'ERR_OUT_OF_RANGE'`).
 * @throws {TypeError} Naming the option, when one is not a number (`code: 'ERR_INVALID_ARG_TYPE'`).
 *
 * @example
 * ```ts
 * import { createWaveform } from '@opc-lite/sawtooth-generator';
 *
 * const triangle = createWaveform({ periodMs: 2000, width: 0.5 });
 * triangle(0); // 0
 * triangle(1000); // 1
 * triangle(1500); // 0.5
 * ```
 */
export function createWaveform(options?: WaveformOptions): (timeMs: number) => number {
  const { periodMs, amplitude, offset, phase, width } = resolveWaveformOptions(options);
  return (timeMs: number): number => shape(timeMs, periodMs, amplitude, offset, phase, width);
}

/** Fills in the defaults and validates every field; errors name the option. */
export function resolveWaveformOptions(options: WaveformOptions = {}): Required<WaveformOptions> {
  if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
  // Only `undefined` means "use the default"; null and other values are checked.
  const given = options as Record<keyof WaveformOptions, unknown>;
  const d = WAVEFORM_DEFAULTS;
  return {
    periodMs: checkNumber('periodMs', given.periodMs === undefined ? d.periodMs : given.periodMs, {
      min: 0,
      minExclusive: true,
    }),
    amplitude: checkNumber('amplitude', given.amplitude === undefined ? d.amplitude : given.amplitude),
    offset: checkNumber('offset', given.offset === undefined ? d.offset : given.offset),
    phase: checkNumber('phase', given.phase === undefined ? d.phase : given.phase),
    width: checkNumber('width', given.width === undefined ? d.width : given.width, { min: 0, max: 1 }),
  };
}

function shape(timeMs: number, periodMs: number, amplitude: number, offset: number, phase: number, width: number) {
  // `%` is exact in floating point, so large epoch times keep full precision.
  const cycles = (timeMs % periodMs) / periodMs + phase;
  let x = cycles - Math.floor(cycles);
  if (x >= 1) x = 0; // a tiny negative `cycles` rounds up to 1; it is the start of the next period
  const rising = x < width ? x / width : (1 - x) / (1 - width);
  return offset + amplitude * rising;
}
