/**
 * Times in `RANGE` commands (docs/PROTOCOL.md, "History: RANGE"): an absolute
 * Unix epoch millisecond, an offset back from now (`-15m`), or `now`.
 *
 * How it works: the decoder keeps a relative time as written (amount and
 * unit), unresolved, so that the server resolves it with its own clock, at
 * the moment it answers; {@link resolveTime} does that. The same scanner reads
 * command bytes (the server) and strings (a client's or a CLI's arguments).
 */
import { DIGIT_0, MINUS, latin1 } from './chars.js';
import { MAX_TIME_MS } from './limits.js';
import { parseNumber } from './number.js';

/**
 * The units of a relative time: milliseconds, seconds, minutes, hours, days.
 *
 * @example
 * ```ts
 * const unit: TimeUnit = 'm'; // minutes
 * ```
 */
export type TimeUnit = 'ms' | 's' | 'm' | 'h' | 'd';

/**
 * A `RANGE` time as written: `at` an absolute Unix epoch millisecond (it may
 * carry a fraction), `ago` an offset back from the server's now, or `now`.
 *
 * @example
 * ```ts
 * const from: TimeArg = { kind: 'ago', amount: 15, unit: 'm' }; // -15m
 * const to: TimeArg = { kind: 'now' };
 * const at: TimeArg = { kind: 'at', ms: 1764316800125.5 };
 * ```
 */
export type TimeArg =
  | { readonly kind: 'at'; readonly ms: number }
  | { readonly kind: 'ago'; readonly amount: number; readonly unit: TimeUnit }
  | { readonly kind: 'now' };

const NOW: TimeArg = Object.freeze({ kind: 'now' });

/** Milliseconds in one `unit`, or 0 when `unit` is not one. */
function unitMs(unit: string): number {
  switch (unit) {
    case 'ms':
      return 1;
    case 's':
      return 1000;
    case 'm':
      return 60_000;
    case 'h':
      return 3_600_000;
    case 'd':
      return 86_400_000;
    default:
      return 0;
  }
}

/**
 * @internal Reads a time from `bytes[start, end)` (one field, no blanks), or
 * undefined when it is not one. Never throws.
 */
export function timeArgAt(bytes: Uint8Array, start: number, end: number): TimeArg | undefined {
  if (end <= start) return undefined;
  if (
    end - start === 3 &&
    ((bytes[start] as number) | 0x20) === 0x6e &&
    ((bytes[start + 1] as number) | 0x20) === 0x6f &&
    ((bytes[start + 2] as number) | 0x20) === 0x77
  ) {
    return NOW;
  }
  if (bytes[start] === MINUS) {
    let i = start + 1;
    let amount = 0;
    for (; i < end; i++) {
      const d = (bytes[i] as number) - DIGIT_0;
      if (d < 0 || d > 9) break;
      amount = amount * 10 + d;
      if (amount > MAX_TIME_MS) return undefined;
    }
    if (i === start + 1 || end - i > 2) return undefined;
    const unit = latin1(bytes, i, end);
    const ms = unitMs(unit);
    if (ms === 0 || amount * ms > MAX_TIME_MS) return undefined;
    return { kind: 'ago', amount, unit: unit as TimeUnit };
  }
  const ms = parseNumber(bytes, start, end);
  if (!(ms >= 0 && ms < MAX_TIME_MS)) return undefined; // NaN fails too
  return { kind: 'at', ms: ms === 0 ? 0 : ms };
}

/**
 * Parses a time as a `RANGE` command writes it: `now`, `-<n><unit>` with a
 * unit of `ms`, `s`, `m`, `h` or `d` (`-90s`, `-7d`), or a Unix epoch
 * millisecond (`1764316800125`, `1764316800125.5`). Returns undefined for
 * anything else (an offset or a time of 1e14 ms or more included).
 *
 * @example
 * ```ts
 * parseTimeArg('-15m'); // { kind: 'ago', amount: 15, unit: 'm' }
 * parseTimeArg('now'); // { kind: 'now' }
 * parseTimeArg('1764316800125'); // { kind: 'at', ms: 1764316800125 }
 * parseTimeArg('15m'); // undefined: a relative time starts with '-'
 * ```
 */
export function parseTimeArg(text: string): TimeArg | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return undefined;
    bytes[i] = c;
  }
  return timeArgAt(bytes, 0, bytes.length);
}

/**
 * Writes a time as a `RANGE` command carries it; the inverse of
 * {@link parseTimeArg}.
 *
 * @throws RangeError for a time the wire cannot carry (negative, 1e14 ms or
 *   more, a fractional or negative amount, an unknown unit).
 * @example
 * ```ts
 * formatTimeArg({ kind: 'ago', amount: 6, unit: 'h' }); // '-6h'
 * formatTimeArg({ kind: 'at', ms: 1764316800125.5 }); // '1764316800125.5'
 * ```
 */
export function formatTimeArg(arg: TimeArg): string {
  switch (arg?.kind) {
    case 'now':
      return 'now';
    case 'at':
      if (typeof arg.ms !== 'number' || !(arg.ms >= 0 && arg.ms < MAX_TIME_MS)) {
        throw new RangeError(`a time must be a number of ms in [0, ${MAX_TIME_MS}), got ${String(arg.ms)}`);
      }
      return String(arg.ms);
    case 'ago': {
      const ms = unitMs(String(arg.unit));
      if (ms === 0) throw new RangeError(`unknown time unit ${JSON.stringify(arg.unit)} (ms, s, m, h or d)`);
      if (!Number.isInteger(arg.amount) || arg.amount < 0 || arg.amount * ms > MAX_TIME_MS) {
        throw new RangeError(
          `a relative time must be a whole number of ${arg.unit} from 0 to ${MAX_TIME_MS} ms, got ${String(arg.amount)}`,
        );
      }
      return `-${String(arg.amount)}${arg.unit}`;
    }
    default:
      throw new TypeError(`unknown time kind ${JSON.stringify((arg as { kind?: unknown } | undefined)?.kind)}`);
  }
}

/**
 * The Unix epoch millisecond a time stands for, given the server's now.
 * A relative time far enough back may come out negative: it then starts
 * before every reading.
 *
 * @example
 * ```ts
 * resolveTime({ kind: 'ago', amount: 90, unit: 's' }, 1764316800000); // 1764316710000
 * resolveTime({ kind: 'now' }, 1764316800000); // 1764316800000
 * ```
 */
export function resolveTime(arg: TimeArg, nowMs: number): number {
  switch (arg.kind) {
    case 'at':
      return arg.ms;
    case 'now':
      return nowMs;
    case 'ago':
      return nowMs - arg.amount * unitMs(arg.unit);
  }
}
