/**
 * InfluxDB line protocol: `measurement[,tag=value...] field=value[,field=value...] [timestamp]`,
 * mapped to opc-lite readings (one per numeric field, named
 * `measurement/tagvalue1/.../field`; the package README, "InfluxDB line protocol").
 *
 * How it works: {@link parseInfluxLine} reads one line left to right, once.
 * While it reads the measurement and the tag values it writes the name prefix
 * into a {@link NameBuilder}; for each numeric field it parses the value,
 * appends `/field` to the prefix and interns the name, keeping names and
 * values in a scratch array. Only when the whole line has proved good (the
 * timestamp, which comes last, included) does it hand the readings to the
 * sink, so a line is taken whole or not at all, as InfluxDB takes a point.
 * The scratch is reused from line to line; a sink that parses again from
 * inside its callback gets a scratch of its own.
 */
import { BACKSLASH, COMMA, CR, DIGIT_0, EQUALS, HASH, LF, MINUS, QUOTE, SPACE, TAB } from './chars.js';
import type { RejectReason } from './errors.js';
import type { DatagramSink, NameCache } from './ingest.js';
import { DEFAULT_MAX_INFLUX_LINE_BYTES, MAX_NAME_BYTES, MAX_TIMESTAMP_SECONDS } from './limits.js';
import { NameBuilder, SLASH, UNDERSCORE } from './name-builder.js';
import { parseNumber } from './number.js';
import { PendingReadings } from './pending.js';

/**
 * The unit of InfluxDB timestamps: nanoseconds (InfluxDB's default),
 * microseconds, milliseconds or seconds, as InfluxDB's `precision` write
 * parameter names them.
 *
 * @example
 * ```ts
 * const precision: InfluxPrecision = 's'; // Telegraf with precision = "1s"
 * ```
 */
export type InfluxPrecision = 'ns' | 'us' | 'ms' | 's';

/**
 * Options of {@link parseInfluxLines}.
 *
 * @example
 * ```ts
 * const options: ParseInfluxOptions = { precision: 'ms', maxLineBytes: 4096, nameCache: new NameCache() };
 * ```
 */
export interface ParseInfluxOptions {
  /** The unit of the timestamps. Default `'ns'`. */
  readonly precision?: InfluxPrecision;
  /** Longest line, counting every byte before its LF (a CR included). Default {@link DEFAULT_MAX_INFLUX_LINE_BYTES}. */
  readonly maxLineBytes?: number;
  /** Reuse name strings across calls: pass the same {@link NameCache} to every call. */
  readonly nameCache?: NameCache;
}

/** @internal What {@link parseInfluxLine} returns for a line that is not line protocol (when asked to tell). */
export const NOT_INFLUX = 'not-influx';

const MAX_TIMESTAMP_MS = MAX_TIMESTAMP_SECONDS * 1000;
const POW10 = [1, 10, 100, 1000, 1e4, 1e5, 1e6];
const LOWER_I = 0x69;
const LOWER_U = 0x75;
const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';
const UINT64_MAX = '18446744073709551615';

/** @internal The decimal exponent that turns a timestamp in `precision` units into milliseconds. */
export function precisionShift(precision: unknown): number {
  switch (precision) {
    case undefined:
    case 'ns':
      return -6;
    case 'us':
      return -3;
    case 'ms':
      return 0;
    case 's':
      return 3;
  }
  if (typeof precision !== 'string') throw new TypeError(`precision must be a string, got ${typeof precision}`);
  throw new RangeError(`precision must be one of ns, us, ms, s, got ${JSON.stringify(precision)}`);
}

/** The line's readings, gathered before any is delivered. */
class Scratch extends PendingReadings {
  readonly name = new NameBuilder();
}

let spare: Scratch | undefined = new Scratch();

const isBlank = (b: number): boolean => b === SPACE || b === TAB;
/** Bytes a backslash escapes in tag keys, tag values and field keys; the measurement's are the same but `=`. */
const isKeyEscape = (b: number): boolean => b === COMMA || b === EQUALS || b === SPACE || b === TAB;

/** The value of the unsigned decimal digits `bytes[start, end)`, exact below 2^53. */
function digitsValue(bytes: Uint8Array, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) v = v * 10 + ((bytes[i] as number) - DIGIT_0);
  return v;
}

function allDigits(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const d = (bytes[i] as number) - DIGIT_0;
    if (d < 0 || d > 9) return false;
  }
  return true;
}

/** Whether the digits `bytes[start, end)` (no leading zeros) are at most the same-length decimal `limit`. */
function withinDigits(bytes: Uint8Array, start: number, end: number, limit: string): boolean {
  const n = end - start;
  if (n !== limit.length) return n < limit.length;
  for (let k = 0; k < n; k++) {
    const d = bytes[start + k] as number;
    const l = limit.charCodeAt(k);
    if (d !== l) return d < l;
  }
  return true;
}

/**
 * An InfluxDB integer (`-?digits`, the `i` already cut off) in the signed
 * 64-bit range, or an unsigned one (`digits`, `u` cut off) in the unsigned
 * 64-bit range, as the nearest float64; NaN when it is not one.
 */
function parseInteger(bytes: Uint8Array, start: number, end: number, signed: boolean): number {
  let i = start;
  const neg = signed && i < end && bytes[i] === MINUS;
  if (neg) i++;
  if (i === end || !allDigits(bytes, i, end)) return NaN;
  while (i < end - 1 && bytes[i] === DIGIT_0) i++;
  if (!withinDigits(bytes, i, end, signed ? (neg ? INT64_MIN_ABS : INT64_MAX) : UINT64_MAX)) return NaN;
  const v = end - i <= 15 ? digitsValue(bytes, i, end) : parseNumber(bytes, i, end);
  return neg ? -v + 0 : v; // + 0: `-0i` is 0
}

/** A field value that is not a string or a boolean: a float, an `i` integer or a `u` integer. NaN if bad. */
function parseFieldNumber(bytes: Uint8Array, start: number, end: number): number {
  const last = bytes[end - 1] as number;
  if (last === LOWER_I) return parseInteger(bytes, start, end - 1, true);
  if (last === LOWER_U) return parseInteger(bytes, start, end - 1, false);
  const v = parseNumber(bytes, start, end);
  return Number.isFinite(v) ? v : NaN;
}

const BOOLEANS = ['t', 'T', 'true', 'True', 'TRUE', 'f', 'F', 'false', 'False', 'FALSE'];

/** Whether `bytes[start, end)` is one of InfluxDB's boolean spellings. */
function isBoolean(bytes: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  outer: for (const word of BOOLEANS) {
    if (word.length !== n) continue;
    for (let k = 0; k < n; k++) if (word.charCodeAt(k) !== bytes[start + k]) continue outer;
    return true;
  }
  return false;
}

/**
 * @internal A timestamp: unsigned decimal digits in units of 10^-`shift`
 * ms, as milliseconds; -1 when not digits or not below 1e14 ms. Exact:
 * digits finer than a millisecond become a fraction without a second
 * rounding (the nearest float64 to the decimal value).
 */
export function parseInfluxTimestamp(bytes: Uint8Array, start: number, end: number, shift: number): number {
  if (start === end || !allDigits(bytes, start, end)) return -1;
  let i = start;
  while (i < end - 1 && bytes[i] === DIGIT_0) i++;
  const n = end - i;
  if (shift >= 0) {
    if (n > 15) return -1;
    const ms = digitsValue(bytes, i, end) * (POW10[shift] as number);
    return ms < MAX_TIMESTAMP_MS ? ms : -1;
  }
  const k = -shift;
  if (n - k > 14) return -1;
  // Below 2^53 the integer is exact and one division rounds once. Above it,
  // whole milliseconds are at least 1e9, where adding the correctly rounded
  // fraction k digits long cannot cross a rounding boundary of the sum.
  const ms =
    n <= 15
      ? digitsValue(bytes, i, end) / (POW10[k] as number)
      : digitsValue(bytes, i, end - k) + digitsValue(bytes, end - k, end) / (POW10[k] as number);
  return ms < MAX_TIMESTAMP_MS ? ms : -1;
}

/** Appends a field key's bytes `bytes[start, end)`, escapes undone, to the name. */
function mapKey(name: NameBuilder, bytes: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if (b === BACKSLASH && i + 1 < end && isKeyEscape(bytes[i + 1] as number)) {
      name.push(UNDERSCORE); // an escaped `,`, `=` or blank: outside the alphabet
      i++;
    } else {
      name.map(b);
    }
  }
}

/** From `i`, the end of the measurement-and-tags section: the first blank that no backslash escapes. */
function skipKeySection(bytes: Uint8Array, i: number, end: number): number {
  for (; i < end; i++) {
    const b = bytes[i] as number;
    if (b === BACKSLASH && i + 1 < end && isBlank(bytes[i + 1] as number)) i++;
    else if (isBlank(b)) break;
  }
  return i;
}

/**
 * @internal Parses the line `bytes[start, end)` (no LF; a trailing CR is
 * dropped; blanks around are ignored) and delivers its readings, or returns
 * why it was refused. With `tell`, returns {@link NOT_INFLUX} for a line
 * that is not line protocol — one whose second section (after the first
 * unescaped blank) does not begin with `key=` — before looking further;
 * without it, such a line is `bad-syntax`. Blank and `#` comment lines give
 * nothing (with `tell`, a `#` line is {@link NOT_INFLUX}).
 */
export function parseInfluxLine(
  bytes: Uint8Array,
  start: number,
  end: number,
  sink: DatagramSink,
  cache: NameCache | undefined,
  shift: number,
  tell: boolean,
): RejectReason | typeof NOT_INFLUX | undefined {
  let e = end > start && bytes[end - 1] === CR ? end - 1 : end;
  const viewEnd = e;
  let i = start;
  while (i < e && isBlank(bytes[i] as number)) i++;
  while (e > i && isBlank(bytes[e - 1] as number)) e--;
  if (i === e) return undefined;
  if (bytes[i] === HASH) return tell ? NOT_INFLUX : undefined;
  const scratch = spare ?? new Scratch();
  spare = undefined;
  try {
    return parseLine(bytes, start, i, e, viewEnd, sink, cache, shift, tell, scratch);
  } finally {
    spare = scratch;
  }
}

function parseLine(
  bytes: Uint8Array,
  lineStart: number,
  i: number,
  e: number,
  viewEnd: number,
  sink: DatagramSink,
  cache: NameCache | undefined,
  shift: number,
  tell: boolean,
  scratch: Scratch,
): RejectReason | typeof NOT_INFLUX | undefined {
  const name = scratch.name;
  name.reset();
  let b = 0;

  // Measurement: up to an unescaped `,` or blank; `\,` and `\ ` are escapes.
  const measurementStart = i;
  for (; i < e; i++) {
    b = bytes[i] as number;
    if (b === BACKSLASH && i + 1 < e) {
      const next = bytes[i + 1] as number;
      if (next === COMMA || isBlank(next)) {
        name.push(UNDERSCORE);
        i++;
        continue;
      }
    }
    if (b === COMMA || isBlank(b)) break;
    name.map(b);
  }
  if (i === measurementStart) return tell ? NOT_INFLUX : 'bad-syntax';

  // Tags: `,key=value` each; the values go into the name, the keys do not.
  let keyError = false;
  while (i < e && bytes[i] === COMMA) {
    i++;
    const keyStart = i;
    for (; i < e; i++) {
      b = bytes[i] as number;
      if (b === BACKSLASH && i + 1 < e && isKeyEscape(bytes[i + 1] as number)) i++;
      else if (b === EQUALS || b === COMMA || isBlank(b)) break;
    }
    if (i === keyStart || i === e || bytes[i] !== EQUALS) {
      keyError = true;
      break;
    }
    i++;
    name.push(SLASH);
    const valueStart = i;
    for (; i < e; i++) {
      b = bytes[i] as number;
      if (b === BACKSLASH && i + 1 < e && isKeyEscape(bytes[i + 1] as number)) {
        name.push(UNDERSCORE);
        i++;
      } else if (b === COMMA || b === EQUALS || isBlank(b)) {
        break;
      } else {
        name.map(b);
      }
    }
    if (i === valueStart || (i < e && bytes[i] === EQUALS)) {
      keyError = true;
      break;
    }
  }
  if (keyError) i = skipKeySection(bytes, i, e);
  if (i === e) return tell ? NOT_INFLUX : 'bad-syntax'; // no field set
  while (isBlank(bytes[i] as number)) i++; // the line ends in a non-blank, so this stops inside it

  // Fields: `key=value`, separated by `,`.
  const prefixLength = name.length;
  const prefixHash = name.hash;
  let count = 0;
  let ignored = 0;
  for (let first = true; ; first = false) {
    const keyStart = i;
    for (; i < e; i++) {
      b = bytes[i] as number;
      if (b === BACKSLASH && i + 1 < e && isKeyEscape(bytes[i + 1] as number)) i++;
      else if (b === EQUALS || b === COMMA || isBlank(b)) break;
    }
    const keyEnd = i;
    if (keyEnd === keyStart || i === e || bytes[i] !== EQUALS) return first && tell ? NOT_INFLUX : 'bad-syntax';
    if (first && keyError) return 'bad-syntax';
    i++;
    if (i === e) return 'bad-syntax'; // `key=` and nothing
    b = bytes[i] as number;
    if (b === QUOTE) {
      // A string: to the next quote no backslash escapes (`\"` and `\\` are escapes).
      for (i++; i < e; i++) {
        b = bytes[i] as number;
        if (b === BACKSLASH) i++;
        else if (b === QUOTE) break;
      }
      if (i >= e) return 'bad-syntax'; // unterminated
      i++;
      ignored++;
    } else {
      const valueStart = i;
      for (; i < e; i++) {
        b = bytes[i] as number;
        if (b === COMMA || isBlank(b)) break;
      }
      if (i === valueStart) return 'bad-syntax'; // `key=,`
      const c = bytes[valueStart] as number;
      if (c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46) {
        // t T f F: a boolean
        if (!isBoolean(bytes, valueStart, i)) return 'bad-syntax';
        ignored++;
      } else {
        const value = parseFieldNumber(bytes, valueStart, i);
        if (value !== value) return 'bad-number';
        name.rewind(prefixLength, prefixHash);
        name.push(SLASH);
        mapKey(name, bytes, keyStart, keyEnd);
        if (name.length > MAX_NAME_BYTES) return 'bad-name';
        scratch.add(count++, name.intern(cache), value);
      }
    }
    if (i === e) break;
    b = bytes[i] as number;
    if (b === COMMA) {
      i++;
      continue;
    }
    if (isBlank(b)) break;
    return 'bad-syntax'; // something glued to a string: `k="a"b`
  }

  // Timestamp, then nothing.
  let timestampMs = NaN;
  while (i < e && isBlank(bytes[i] as number)) i++;
  if (i < e) {
    const tsStart = i;
    while (i < e && !isBlank(bytes[i] as number)) i++;
    timestampMs = parseInfluxTimestamp(bytes, tsStart, i, shift);
    if (timestampMs === -1) return 'bad-timestamp';
    if (i < e) return 'bad-syntax';
  }

  if (count === 0) return 'unsupported-type'; // only strings and booleans: no reading
  const { names, values } = scratch;
  for (let k = 0; k < count; k++) sink.reading(names[k] as string, values[k] as number, timestampMs, -1);
  if (ignored > 0 && sink.ignored !== undefined) sink.ignored(ignored, bytes.subarray(lineStart, viewEnd));
  return undefined;
}

/** @internal Validates a `maxLineBytes` option (as the other parsers do). */
function checkMaxLine(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_INFLUX_LINE_BYTES;
  if (typeof value !== 'number') throw new TypeError(`maxLineBytes must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`maxLineBytes must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * @internal Parses the lines of `bytes` as line protocol with limits already
 * checked; shared by {@link parseInfluxLines} and the stream decoder.
 */
export function parseInfluxSpan(
  bytes: Uint8Array,
  sink: DatagramSink,
  max: number,
  shift: number,
  cache: NameCache | undefined,
): void {
  const n = bytes.length;
  let pos = 0;
  while (pos < n) {
    let lineEnd = bytes.indexOf(LF, pos);
    if (lineEnd < 0) lineEnd = n;
    if (lineEnd - pos > max) {
      sink.reject('line-too-long', bytes.subarray(pos, bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd));
    } else {
      const reason = parseInfluxLine(bytes, pos, lineEnd, sink, cache, shift, false);
      if (reason !== undefined && reason !== NOT_INFLUX) {
        sink.reject(reason, bytes.subarray(pos, lineEnd > pos && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd));
      }
    }
    pos = lineEnd + 1;
  }
}

/**
 * Parses InfluxDB line protocol (an HTTP `/write` or `/api/v2/write` body,
 * as Telegraf, rtl_433 or Grafana Live send it) and reports each line to
 * `sink`: one reading per numeric field, or one reject. Never throws for any
 * input. The mapping, in short (the package README, "InfluxDB line
 * protocol", has it all):
 *
 * - the name is `measurement/tagvalue1/tagvalue2/.../field`, tag values in the
 *   order of the line, tag keys left out; each character outside
 *   `A-Z a-z 0-9 _ . - /` becomes `_`, and a name over 128 bytes refuses the
 *   line as `bad-name`;
 * - floats, `i` integers and `u` integers are readings (integers as the
 *   nearest float64); strings and booleans are skipped and counted through
 *   `sink.ignored`; a line with no number is `unsupported-type`;
 * - the timestamp is in `precision` units (nanoseconds by default), turned
 *   into milliseconds exactly; none means the receive time;
 * - `#` lines and blank lines are skipped; a line is taken whole or refused
 *   whole, by the first check that fails, left to right.
 *
 * @example
 * ```ts
 * const body = new TextEncoder().encode(
 *   'weather,site=roof,sensor=a temp=21.5,hum=40i,ok=true,note="fine" 1764316800000000000\n',
 * );
 * parseInfluxLines(body, {
 *   reading: (name, value, timestampMs) => console.log(name, value, timestampMs),
 *   reject: (reason) => console.log(reason),
 *   ignored: (count) => console.log('ignored', count),
 * });
 * // weather/roof/a/temp 21.5 1764316800000
 * // weather/roof/a/hum 40 1764316800000
 * // ignored 2
 * ```
 */
export function parseInfluxLines(bytes: Uint8Array, sink: DatagramSink, options?: ParseInfluxOptions): void {
  const max = checkMaxLine(options?.maxLineBytes);
  const shift = precisionShift(options?.precision);
  parseInfluxSpan(bytes, sink, max, shift, options?.nameCache);
}
