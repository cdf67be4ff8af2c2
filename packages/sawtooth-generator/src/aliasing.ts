// The seed's known problem: its Medidor always sends a 1 s period, so a
// coarse Δt draws nothing like a ramp. A signal sampled at or below twice its
// frequency aliases (Nyquist: Δt >= period / 2); below about 10 samples per
// period it no longer aliases but its shape is too coarse to recognise.

import { checkNumber } from './validate.js';

/** Fewer samples per period than this gets the milder warning. */
const SHAPE_SAMPLES_PER_PERIOD = 10;

/**
 * A sentence warning that sampling every `intervalMs` is too coarse for a
 * waveform of period `periodMs`, or `undefined` when it is fine (at least 10
 * samples per period).
 *
 * @throws {RangeError} Naming the argument, when one is not a finite number > 0 (`code: 'ERR_OUT_OF_RANGE'`).
 * @throws {TypeError} Naming the argument, when one is not a number (`code: 'ERR_INVALID_ARG_TYPE'`).
 *
 * @example
 * ```ts
 * import { aliasingWarning } from '@opc-lite/sawtooth-generator';
 *
 * aliasingWarning(600, 1000);
 * // 'Δt = 600 ms samples a 1000 ms period only 1.7 times per period: the waveform aliases;
 * //  use Δt < 500 ms (at least 10 samples per period, Δt <= 100 ms, to see its shape)'
 * aliasingWarning(100, 1000); // undefined
 * ```
 */
export function aliasingWarning(intervalMs: number, periodMs: number): string | undefined {
  checkNumber('intervalMs', intervalMs, { min: 0, minExclusive: true });
  checkNumber('periodMs', periodMs, { min: 0, minExclusive: true });
  const samplesPerPeriod = periodMs / intervalMs;
  const fineMs = periodMs / SHAPE_SAMPLES_PER_PERIOD;
  if (intervalMs <= fineMs) return undefined;
  const seen = `Δt = ${ms(intervalMs)} samples a ${ms(periodMs)} period only ${times(samplesPerPeriod)} per period`;
  if (intervalMs * 2 >= periodMs) {
    return (
      `${seen}: the waveform aliases; use Δt < ${ms(periodMs / 2)} ` +
      `(at least ${SHAPE_SAMPLES_PER_PERIOD} samples per period, Δt <= ${ms(fineMs)}, to see its shape)`
    );
  }
  return `${seen}: too few to see its shape; use Δt <= ${ms(fineMs)} (at least ${SHAPE_SAMPLES_PER_PERIOD} samples per period)`;
}

function ms(value: number): string {
  return `${Number.isInteger(value) ? value : Number(value.toPrecision(4))} ms`;
}

function times(count: number): string {
  let rounded = Number(count.toPrecision(2));
  // Never round up to the threshold the sentence asks for ("only 10 times ... use at least 10").
  if (count < SHAPE_SAMPLES_PER_PERIOD && rounded >= SHAPE_SAMPLES_PER_PERIOD) rounded = Math.floor(count * 10) / 10;
  return rounded === 1 ? 'once' : `${rounded} times`;
}
