/**
 * ISO 8601 date-times as devices write them in JSON (Tasmota's `Time`,
 * Zigbee2MQTT's `last_seen`): `2024-01-01T12:00:00`, with a fraction, with
 * `Z` or an offset. Internal: not exported from the package.
 */
import { DIGIT_0, DOT, MINUS, PLUS } from './chars.js';
import { MAX_TIMESTAMP_SECONDS } from './limits.js';
import { parseScaledDecimal } from './number.js';

const MAX_TIMESTAMP_MS = MAX_TIMESTAMP_SECONDS * 1000;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The `count` decimal digits at `bytes[i]`, or -1. */
function digits(bytes: Uint8Array, i: number, count: number, end: number): number {
  if (i + count > end) return -1;
  let v = 0;
  for (let k = 0; k < count; k++) {
    const d = (bytes[i + k] as number) - DIGIT_0;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * @internal Reads `YYYY-MM-DD(T|t| )HH:MM[:SS[.fraction]][Z|z|±HH[[:]MM]]`
 * in `bytes[start, end)` as Unix epoch milliseconds. A time without a zone
 * is read at `zonelessOffsetMinutes` east of UTC, or gives NaN ("unknown
 * zone: use the receive time") when that is undefined. Returns -1 when the
 * text is not such a time, or is before 1970 or at 1e14 ms or later.
 */
export function parseIsoTime(
  bytes: Uint8Array,
  start: number,
  end: number,
  zonelessOffsetMinutes: number | undefined,
): number {
  let i = start;
  const year = digits(bytes, i, 4, end);
  if (year < 1970 || bytes[i + 4] !== MINUS) return -1;
  const month = digits(bytes, i + 5, 2, end);
  if (month < 1 || month > 12 || bytes[i + 7] !== MINUS) return -1;
  const day = digits(bytes, i + 8, 2, end);
  const monthDays = month === 2 && isLeap(year) ? 29 : (DAYS[month - 1] as number);
  if (day < 1 || day > monthDays) return -1;
  const sep = bytes[i + 10];
  if (sep !== 0x54 && sep !== 0x74 && sep !== 0x20) return -1; // T, t or space
  const hour = digits(bytes, i + 11, 2, end);
  if (hour < 0 || hour > 23 || bytes[i + 13] !== 0x3a) return -1;
  const minute = digits(bytes, i + 14, 2, end);
  if (minute < 0 || minute > 59) return -1;
  i += 16;
  let second = 0;
  let fractionMs = 0;
  if (i < end && bytes[i] === 0x3a) {
    second = digits(bytes, i + 1, 2, end);
    if (second < 0 || second > 59) return -1;
    i += 3;
    if (i < end && bytes[i] === DOT) {
      const dot = i++;
      while (i < end && (bytes[i] as number) >= DIGIT_0 && (bytes[i] as number) <= DIGIT_0 + 9) i++;
      if (i === dot + 1) return -1;
      fractionMs = parseScaledDecimal(bytes, dot, i, 3);
    }
  }
  let offsetMinutes: number | undefined;
  if (i === end) {
    if (zonelessOffsetMinutes === undefined) return NaN;
    offsetMinutes = zonelessOffsetMinutes;
  } else {
    const z = bytes[i] as number;
    if ((z === 0x5a || z === 0x7a) && i + 1 === end) {
      offsetMinutes = 0; // Z
    } else if (z === PLUS || z === MINUS) {
      const oh = digits(bytes, i + 1, 2, end);
      if (oh < 0 || oh > 23) return -1;
      let om = 0;
      let k = i + 3;
      if (k < end && bytes[k] === 0x3a) k++;
      if (k < end) {
        om = digits(bytes, k, 2, end);
        if (om < 0 || om > 59 || k + 2 !== end) return -1;
      } else if (k !== end || bytes[k - 1] === 0x3a) {
        return -1; // `+01:` with nothing after it
      }
      offsetMinutes = (z === MINUS ? -1 : 1) * (oh * 60 + om);
    } else {
      return -1;
    }
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) + fractionMs - offsetMinutes * 60_000;
  return ms >= 0 && ms < MAX_TIMESTAMP_MS ? ms : -1;
}
