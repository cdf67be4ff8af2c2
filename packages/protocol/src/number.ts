/**
 * Decimal numbers on the wire (PROTOCOL.md "UDP ingest", and the replies of PROTOCOL.md "TCP commands and replies").
 *
 * The grammar is `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`,
 * the decimal subset of what JavaScript's `Number()` and Python's `float()`
 * accept: no hex, no `_`, no `inf`/`nan`, no whitespace. Parsing is correctly
 * rounded: exact double arithmetic when the significand's digits form an
 * integer below 2^53 (every 15-digit significand, most 16-digit ones) and the
 * power of ten is at most 22 in magnitude (both operands are then exact
 * doubles, so one IEEE multiply or divide rounds once), and `Number()` on the
 * already-validated text otherwise.
 */
import { DIGIT_0, DOT, MINUS, PLUS, latin1 } from './chars.js';

const POW10 = new Float64Array(23);
for (let i = 0, p = 1; i < 23; i++, p *= 10) POW10[i] = p;

/** Significands at or above 2^53 may not be exact doubles: those take the slow path. */
const TWO_POW_53 = 9007199254740992;
const EXP_SATURATION = 1e9;

/**
 * @internal An unsigned decimal integer (digits only, no sign) in
 * `[0, max]` read from `bytes[start, end)`, or -1 when it is not one. An
 * empty field reads as 0: callers check for it.
 */
export function parseUnsigned(bytes: Uint8Array, start: number, end: number, max: number): number {
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = (bytes[i] as number) - DIGIT_0;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
    if (v > max) return -1;
  }
  return v;
}

/**
 * Parses the decimal at `bytes[start..end)` and returns its value times
 * 10^`shift`, correctly rounded; NaN when the text is not in the grammar.
 * `shift` lets a caller scale without a second rounding (seconds → ms).
 *
 * @internal
 */
export function parseScaledDecimal(bytes: Uint8Array, start: number, end: number, shift: number): number {
  let i = start;
  if (i >= end) return NaN;
  let c = bytes[i] as number;
  let neg = false;
  if (c === MINUS) {
    neg = true;
    i++;
  } else if (c === PLUS) {
    i++;
  }
  let mant = 0;
  let exp10 = 0;
  let digits = 0;
  let slow = false;
  // Integer part.
  for (; i < end; i++) {
    const d = (bytes[i] as number) - DIGIT_0;
    if (d < 0 || d > 9) break;
    digits++;
    if (slow) continue;
    // Exact while below 2^53; a result at or above it is seen as such even when rounded.
    mant = mant * 10 + d;
    if (mant >= TWO_POW_53) slow = true;
  }
  // Fraction.
  if (i < end && bytes[i] === DOT) {
    for (i++; i < end; i++) {
      const d = (bytes[i] as number) - DIGIT_0;
      if (d < 0 || d > 9) break;
      digits++;
      if (slow) continue;
      mant = mant * 10 + d;
      exp10--;
      if (mant >= TWO_POW_53) slow = true;
    }
  }
  if (digits === 0) return NaN;
  const mantEnd = i;
  let exp = 0;
  let hasExp = false;
  if (i < end) {
    c = bytes[i] as number;
    if ((c | 0x20) !== 0x65) return NaN; // not e/E
    hasExp = true;
    i++;
    let expNeg = false;
    if (i < end) {
      c = bytes[i] as number;
      if (c === MINUS) {
        expNeg = true;
        i++;
      } else if (c === PLUS) {
        i++;
      }
    }
    const expStart = i;
    for (; i < end; i++) {
      const d = (bytes[i] as number) - DIGIT_0;
      if (d < 0 || d > 9) return NaN;
      if (exp < EXP_SATURATION) exp = exp * 10 + d;
    }
    if (i === expStart) return NaN;
    if (expNeg) exp = -exp;
  }
  if (!slow) {
    if (mant === 0) return neg ? -0 : 0;
    const e = exp10 + exp + shift;
    if (e >= 0 && e <= 22) return neg ? -(mant * (POW10[e] as number)) : mant * (POW10[e] as number);
    if (e < 0 && e >= -22) return neg ? -(mant / (POW10[-e] as number)) : mant / (POW10[-e] as number);
  }
  // Slow path: the text is known to be in the grammar, and Number() rounds correctly.
  if (shift === 0) return Number(latin1(bytes, start, end));
  const scaled = latin1(bytes, start, mantEnd) + 'e' + String((hasExp ? exp : 0) + shift);
  return Number(scaled);
}

/**
 * Parses a strict decimal float from ASCII bytes `bytes[start..end)`: an
 * optional sign, digits with an optional fraction, an optional exponent.
 * Returns NaN for anything else (`0x10`, `--1`, `nan`, `inf`, `1_0`, empty,
 * spaces); callers treat any non-finite result as bad, so `1e400` (Infinity)
 * is rejected too. The result equals `Number(text)` for every text in the
 * grammar. Never throws, never allocates on the fast path.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode('ramp 1e-05');
 * parseNumber(bytes, 5, bytes.length); // 0.00001
 * parseNumber(bytes, 0, 4); // NaN
 * ```
 */
export function parseNumber(bytes: Uint8Array, start: number, end: number): number {
  return parseScaledDecimal(bytes, start, end, 0);
}

/**
 * Parses a string with the grammar of {@link parseNumber}; NaN when not a decimal.
 *
 * @internal
 */
export function parseNumberText(text: string): number {
  const n = text.length;
  let i = 0;
  let c = text.charCodeAt(0);
  if (c === MINUS || c === PLUS) i++;
  let digits = 0;
  while (i < n && (c = text.charCodeAt(i) - DIGIT_0) >= 0 && c <= 9) {
    i++;
    digits++;
  }
  if (i < n && text.charCodeAt(i) === DOT) {
    i++;
    while (i < n && (c = text.charCodeAt(i) - DIGIT_0) >= 0 && c <= 9) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return NaN;
  if (i < n) {
    if ((text.charCodeAt(i) | 0x20) !== 0x65) return NaN;
    i++;
    c = text.charCodeAt(i);
    if (c === MINUS || c === PLUS) i++;
    const expStart = i;
    while (i < n && (c = text.charCodeAt(i) - DIGIT_0) >= 0 && c <= 9) i++;
    if (i === expStart || i < n) return NaN;
  }
  return Number(text);
}

/**
 * Formats a value as the wire writes it (PROTOCOL.md "TCP commands and replies"): the shortest decimal that
 * reads back as the same double, exactly as JavaScript's `String(number)`
 * prints it (`0.35`, `1e-7`, `1e+21`, `-0` as `0`). NaN and `undefined` (no
 * reading yet) print as `nan`; the infinities, which a store never holds,
 * print as `inf` and `-inf` as Python does.
 *
 * @example
 * ```ts
 * formatValue(0.35); // '0.35'
 * formatValue(undefined); // 'nan'
 * ```
 */
export function formatValue(value: number | undefined): string {
  if (value === undefined || value !== value) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}
