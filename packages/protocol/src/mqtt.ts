/**
 * MQTT messages as readings (the package README, "MQTT"): a bare number
 * payload is one reading named after the topic; a JSON payload is one
 * reading per numeric leaf, named `topic/key/key/index`. Sans-I/O: the
 * server's MQTT client hands each message's topic and payload here.
 *
 * How it works: {@link mapMqttMessage} reads the JSON once, left to right,
 * with an explicit stack (no recursion, so no nesting can overflow the call
 * stack, and `maxDepth` bounds the stack). The stack keeps, per open
 * container, whether it is an object or an array, the array index, and the
 * length and hash of its name, so each leaf's name is the container's name
 * plus one segment, built in place by a {@link NameBuilder} and interned. The
 * leaves' names and values are kept in a scratch array and delivered only
 * once the whole payload has proved good (its time field may come last), so
 * a message is taken whole or refused whole. Work is linear in the payload.
 */
import { BACKSLASH, COMMA, CR, DIGIT_0, DOT, LF, MINUS, PLUS, QUOTE, SPACE, TAB } from './chars.js';
import type { RejectReason } from './errors.js';
import type { DatagramSink, NameCache } from './ingest.js';
import { parseIsoTime } from './iso-time.js';
import { MAX_NAME_BYTES, MAX_TIMESTAMP_SECONDS } from './limits.js';
import { NameBuilder, SLASH, UNDERSCORE } from './name-builder.js';
import { parseNumber, parseScaledDecimal } from './number.js';
import { PendingReadings } from './pending.js';

/**
 * Options of {@link mapMqttMessage}; the defaults are {@link MQTT_MAP_DEFAULTS}.
 *
 * @example
 * ```ts
 * const options: MqttMapOptions = { maxPayloadBytes: 16_384, nameCache: new NameCache(), zonelessTimeOffsetMinutes: 60 };
 * ```
 */
export interface MqttMapOptions {
  /** A larger payload is refused as `too-large` without being read. */
  readonly maxPayloadBytes?: number;
  /** JSON nested deeper than this (objects and arrays) is refused as `too-deep`. */
  readonly maxDepth?: number;
  /** A JSON payload with more numeric leaves than this is refused as `too-large`. */
  readonly maxLeaves?: number;
  /** Reuse name strings across messages: pass the same {@link NameCache} to every call. */
  readonly nameCache?: NameCache;
  /**
   * How to read a time field without a zone (Tasmota's `"Time":"2024-01-01T12:00:00"`
   * is the device's local time): at this many minutes east of UTC (60 for
   * CET, -300 for EST; -1440 to 1440). When absent (the default), such a
   * time is not trusted and the readings get the receive time.
   */
  readonly zonelessTimeOffsetMinutes?: number;
}

/**
 * The defaults of {@link MqttMapOptions}: 64 KiB payloads, JSON 32 levels
 * deep, 256 numeric leaves.
 *
 * @example
 * ```ts
 * mapMqttMessage(topic, payload, sink, { ...MQTT_MAP_DEFAULTS, maxLeaves: 1024 });
 * ```
 */
export const MQTT_MAP_DEFAULTS = Object.freeze({ maxPayloadBytes: 65_536, maxDepth: 32, maxLeaves: 256 });

interface Resolved {
  readonly maxPayloadBytes: number;
  readonly maxDepth: number;
  readonly maxLeaves: number;
  readonly nameCache: NameCache | undefined;
  readonly zonelessOffset: number | undefined;
}

const MAX_TIMESTAMP_MS = MAX_TIMESTAMP_SECONDS * 1000;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON_BYTE = 0x3a;
const OBJECT = 0;
const ARRAY = 1;

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

let lastOptions: MqttMapOptions | undefined;
let lastResolved: Resolved | undefined;

function resolve(options: MqttMapOptions | undefined): Resolved {
  if (options !== undefined && options === lastOptions && lastResolved !== undefined) return lastResolved;
  const offset = options?.zonelessTimeOffsetMinutes;
  if (offset !== undefined) {
    if (typeof offset !== 'number')
      throw new TypeError(`zonelessTimeOffsetMinutes must be a number, got ${typeof offset}`);
    if (!Number.isInteger(offset) || offset < -1440 || offset > 1440) {
      throw new RangeError(`zonelessTimeOffsetMinutes must be an integer from -1440 to 1440, got ${String(offset)}`);
    }
  }
  const resolved: Resolved = {
    maxPayloadBytes: positiveInt('maxPayloadBytes', options?.maxPayloadBytes, MQTT_MAP_DEFAULTS.maxPayloadBytes),
    maxDepth: positiveInt('maxDepth', options?.maxDepth, MQTT_MAP_DEFAULTS.maxDepth),
    maxLeaves: positiveInt('maxLeaves', options?.maxLeaves, MQTT_MAP_DEFAULTS.maxLeaves),
    nameCache: options?.nameCache,
    zonelessOffset: offset,
  };
  if (options !== undefined) {
    lastOptions = options;
    lastResolved = resolved;
  }
  return resolved;
}

/** One message's state: the name, the open containers, and the leaves found. */
class Scratch extends PendingReadings {
  readonly name = new NameBuilder();
  kinds = new Uint8Array(34);
  indexes = new Float64Array(34);
  lengths = new Int32Array(34);
  hashes = new Int32Array(34);

  /** Room for `depth` open containers (1-based). */
  reserve(depth: number): void {
    if (depth < this.kinds.length) return;
    const size = depth + 2;
    this.kinds = new Uint8Array(size);
    this.indexes = new Float64Array(size);
    this.lengths = new Int32Array(size);
    this.hashes = new Int32Array(size);
  }
}

let spare: Scratch | undefined = new Scratch();

const isJsonBlank = (b: number): boolean => b === SPACE || b === TAB || b === LF || b === CR;

function skipBlanks(bytes: Uint8Array, i: number, end: number): number {
  while (i < end && isJsonBlank(bytes[i] as number)) i++;
  return i;
}

/** Whether `bytes[i, …)` spells `word` (ASCII) before `end`. */
function spells(bytes: Uint8Array, i: number, end: number, word: string): boolean {
  if (i + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if (bytes[i + k] !== word.charCodeAt(k)) return false;
  return true;
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/**
 * Reads the JSON string whose opening quote is at `i`; with `name`, appends
 * its text mapped to name characters. Returns the index after the closing
 * quote, or -1 when the string is not valid JSON.
 */
function scanString(bytes: Uint8Array, i: number, end: number, name: NameBuilder | undefined): number {
  let high = false; // the previous character was a `\uD800`–`\uDBFF` escape
  for (i++; i < end;) {
    const b = bytes[i] as number;
    if (b === QUOTE) return i + 1;
    if (b < 0x20) return -1; // control characters must be escaped
    if (b !== BACKSLASH) {
      name?.map(b);
      high = false;
      i++;
      continue;
    }
    if (i + 1 >= end) return -1;
    const e = bytes[i + 1] as number;
    if (e === 0x75) {
      // \uXXXX
      if (i + 6 > end) return -1;
      let code = 0;
      for (let k = 2; k < 6; k++) {
        const h = hexDigit(bytes[i + k] as number);
        if (h < 0) return -1;
        code = code * 16 + h;
      }
      if (name !== undefined) {
        if (code < 0x80) name.map(code);
        else if (!(high && code >= 0xdc00 && code <= 0xdfff)) name.push(UNDERSCORE);
      }
      high = code >= 0xd800 && code <= 0xdbff;
      i += 6;
      continue;
    }
    // \" \\ \/ \b \f \n \r \t
    if (e === QUOTE || e === BACKSLASH || e === SLASH) name?.map(e);
    else if (e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) name?.push(UNDERSCORE);
    else return -1;
    high = false;
    i += 2;
  }
  return -1;
}

/** The end of the JSON number at `i` (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`), or -1. */
function scanNumber(bytes: Uint8Array, i: number, end: number): number {
  const isDigit = (k: number): boolean => k < end && (bytes[k] as number) >= DIGIT_0 && (bytes[k] as number) <= 0x39;
  if (i < end && bytes[i] === MINUS) i++;
  if (!isDigit(i)) return -1;
  if (bytes[i] === DIGIT_0) i++;
  else while (isDigit(i)) i++;
  if (i < end && bytes[i] === DOT) {
    i++;
    if (!isDigit(i)) return -1;
    while (isDigit(i)) i++;
  }
  if (i < end && ((bytes[i] as number) | 0x20) === 0x65) {
    i++;
    if (i < end && (bytes[i] === PLUS || bytes[i] === MINUS)) i++;
    if (!isDigit(i)) return -1;
    while (isDigit(i)) i++;
  }
  return i;
}

/**
 * A numeric time field as epoch ms, by magnitude: below 1e11 seconds, below
 * 1e14 milliseconds, below 1e17 microseconds, below 1e20 nanoseconds; -1
 * otherwise. Scaled from the decimal digits, so `1764316800.125` is exactly
 * 1764316800125.
 */
function numericTime(bytes: Uint8Array, start: number, end: number): number {
  const v = parseNumber(bytes, start, end);
  if (!(v >= 0)) return -1;
  const shift = v < 1e11 ? 3 : v < 1e14 ? 0 : v < 1e17 ? -3 : v < 1e20 ? -6 : NaN;
  if (shift !== shift) return -1;
  const ms = shift === 0 ? v : parseScaledDecimal(bytes, start, end, shift);
  return ms >= 0 && ms < MAX_TIMESTAMP_MS ? ms + 0 : -1;
}

/** Whether the key between `start` and `end` (quotes excluded) names the time field: `Time`, `time` or `ts`. */
function isTimeKey(bytes: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  if (n === 2) return bytes[start] === 0x74 && bytes[start + 1] === 0x73;
  if (n !== 4) return false;
  const t = bytes[start];
  return (t === 0x54 || t === 0x74) && spells(bytes, start + 1, end, 'ime');
}

/** What the walk reads next: a value, an object member's key, or what follows a value. */
const VALUE = 0;
const KEY = 1;
const AFTER = 2;

/**
 * Walks the JSON container at `bytes[start]` with the topic's name in
 * `scratch.name`. Returns the reject reason, or undefined with the leaves in
 * the scratch; `out[0]` gets the leaf count, `out[1]` the ignored count,
 * `out[2]` the timestamp (NaN for none).
 */
function walk(
  bytes: Uint8Array,
  start: number,
  end: number,
  o: Resolved,
  scratch: Scratch,
  out: Float64Array,
): RejectReason | undefined {
  const name = scratch.name;
  scratch.reserve(o.maxDepth);
  const { kinds, indexes, lengths, hashes } = scratch;
  let depth = 0;
  let count = 0;
  let ignored = 0;
  let timestampMs = NaN;
  let timeSeen = false;
  let timeValue = false; // the value about to be read is the top-level time field
  let i = start;
  let state: number = VALUE;
  for (;;) {
    if (state === KEY) {
      i = skipBlanks(bytes, i, end);
      if (i >= end || bytes[i] !== QUOTE) return 'bad-syntax';
      name.rewind(lengths[depth] as number, hashes[depth] as number);
      name.push(SLASH);
      const keyStart = i + 1;
      i = scanString(bytes, i, end, name);
      if (i < 0) return 'bad-syntax';
      timeValue = depth === 1 && !timeSeen && kinds[1] === OBJECT && isTimeKey(bytes, keyStart, i - 1);
      i = skipBlanks(bytes, i, end);
      if (i >= end || bytes[i] !== COLON_BYTE) return 'bad-syntax';
      i++;
      state = VALUE;
      continue;
    }
    if (state === VALUE) {
      i = skipBlanks(bytes, i, end);
      if (i >= end) return 'bad-syntax';
      const b = bytes[i] as number;
      const isTime = timeValue;
      timeValue = false;
      if (b === LBRACE || b === LBRACKET) {
        if (depth === o.maxDepth) return 'too-deep';
        depth++;
        kinds[depth] = b === LBRACE ? OBJECT : ARRAY;
        lengths[depth] = name.length;
        hashes[depth] = name.hash;
        i = skipBlanks(bytes, i + 1, end);
        if (i < end && bytes[i] === (b === LBRACE ? RBRACE : RBRACKET)) {
          i++;
          depth--;
          state = AFTER;
        } else if (b === LBRACE) {
          state = KEY;
        } else {
          indexes[depth] = 0;
          name.push(SLASH);
          name.push(DIGIT_0);
        }
        continue;
      }
      state = AFTER;
      if (b === QUOTE) {
        const stringEnd = scanString(bytes, i, end, undefined);
        if (stringEnd < 0) return 'bad-syntax';
        if (isTime) {
          timeSeen = true;
          timestampMs = bytes.subarray(i + 1, stringEnd - 1).includes(BACKSLASH)
            ? -1
            : parseIsoTime(bytes, i + 1, stringEnd - 1, o.zonelessOffset);
          if (timestampMs === -1) return 'bad-timestamp';
        } else {
          ignored++;
        }
        i = stringEnd;
      } else if (b === MINUS || (b >= DIGIT_0 && b <= 0x39)) {
        const numberEnd = scanNumber(bytes, i, end);
        if (numberEnd < 0) {
          if (!spells(bytes, i, end, '-Infinity')) return 'bad-syntax';
          ignored++;
          i += 9;
          continue;
        }
        if (isTime) {
          timeSeen = true;
          timestampMs = numericTime(bytes, i, numberEnd);
          if (timestampMs === -1) return 'bad-timestamp';
        } else {
          const value = parseNumber(bytes, i, numberEnd);
          if (Number.isFinite(value)) {
            if (count === o.maxLeaves) return 'too-large';
            if (name.length > MAX_NAME_BYTES) return 'bad-name';
            scratch.add(count++, name.intern(o.nameCache), value);
          } else {
            ignored++; // 1e400
          }
        }
        i = numberEnd;
      } else {
        // true, false, null, and NaN / Infinity as Python's json.dumps writes them
        const word = b === 0x74 ? 'true' : b === 0x66 ? 'false' : b === 0x6e ? 'null' : b === 0x4e ? 'NaN' : 'Infinity';
        if (!spells(bytes, i, end, word)) return 'bad-syntax';
        ignored++;
        i += word.length;
      }
      continue;
    }
    // AFTER: a value has ended.
    i = skipBlanks(bytes, i, end);
    if (depth === 0) {
      if (i !== end) return 'bad-syntax';
      break;
    }
    if (i >= end) return 'bad-syntax';
    const b = bytes[i++] as number;
    if (b === COMMA) {
      if (kinds[depth] === OBJECT) {
        state = KEY;
      } else {
        const index = (indexes[depth] as number) + 1;
        indexes[depth] = index;
        name.rewind(lengths[depth] as number, hashes[depth] as number);
        name.push(SLASH);
        name.pushDecimal(index);
        state = VALUE;
      }
    } else if (b === (kinds[depth] === OBJECT ? RBRACE : RBRACKET)) {
      depth--;
    } else {
      return 'bad-syntax';
    }
  }
  out[0] = count;
  out[1] = ignored;
  out[2] = timestampMs;
  return undefined;
}

/** What a payload that is neither a number nor JSON is refused as: `bad-number` if it looks like one. */
function notNumberReason(bytes: Uint8Array, start: number, end: number): RejectReason {
  const b = bytes[start] as number;
  if (b === PLUS || b === MINUS || b === DOT || (b >= DIGIT_0 && b <= 0x39)) return 'bad-number';
  const n = end - start;
  if (n !== 3 && n !== 8) return 'unsupported-type';
  let word = '';
  for (let k = start; k < end; k++) word += String.fromCharCode((bytes[k] as number) | 0x20);
  return word === 'nan' || word === 'inf' || word === 'infinity' ? 'bad-number' : 'unsupported-type';
}

const results = new Float64Array(3);

function mapWith(
  topic: string,
  payload: Uint8Array,
  sink: DatagramSink,
  o: Resolved,
  scratch: Scratch,
): RejectReason | undefined {
  if (payload.length > o.maxPayloadBytes) return 'too-large';
  let end = payload.length;
  const start = skipBlanks(payload, 0, end);
  while (end > start && isJsonBlank(payload[end - 1] as number)) end--;
  if (start === end) return undefined; // an empty payload (a retained message being cleared) holds nothing
  const name = scratch.name;
  name.reset();
  if (topic.length === 0 || topic.includes('+') || topic.includes('#')) return 'bad-name';
  name.mapString(topic);
  if (name.length > MAX_NAME_BYTES) return 'bad-name';
  const first = payload[start] as number;
  if (first !== LBRACE && first !== LBRACKET) {
    const value = parseNumber(payload, start, end);
    if (!Number.isFinite(value)) return notNumberReason(payload, start, end);
    sink.reading(name.intern(o.nameCache), value, NaN, -1);
    return undefined;
  }
  const reason = walk(payload, start, end, o, scratch, results);
  if (reason !== undefined) return reason;
  const count = results[0] as number;
  const ignored = results[1] as number;
  const timestampMs = results[2] as number;
  if (count === 0) return 'unsupported-type';
  const { names, values } = scratch;
  for (let k = 0; k < count; k++) sink.reading(names[k] as string, values[k] as number, timestampMs, -1);
  if (ignored > 0 && sink.ignored !== undefined) sink.ignored(ignored, payload);
  return undefined;
}

/**
 * Maps one MQTT message to readings (the package README, "MQTT", has the
 * rules in full) and reports them to `sink`; a message it cannot map is one
 * `sink.reject(reason, payload)`. Never throws for any topic or payload
 * (only for options or argument types that are wrong).
 *
 * - The topic is the name, each character outside `A-Z a-z 0-9 _ . - /` as
 *   `_`; a topic that is empty, holds `+` or `#` (a filter, not a topic), or
 *   comes out over 128 bytes is `bad-name`.
 * - A bare number (`21.5`, as ESPHome and Shelly Gen1 publish) is one reading
 *   at the receive time; `nan`, `12ms` are `bad-number`; text such as `ON`
 *   or `online` is `unsupported-type`; an empty payload is nothing.
 * - JSON gives one reading per numeric leaf, named `topic/key/key/index`.
 *   Strings, booleans, nulls and non-finite numbers (`NaN`, `Infinity`,
 *   `1e400`) are skipped and counted through `sink.ignored`; JSON with no
 *   number is `unsupported-type`; broken JSON is `bad-syntax`.
 * - A top-level `Time`, `time` or `ts` member that is a string or a number is
 *   the readings' timestamp, not a reading: an ISO 8601 time (with a zone; a
 *   zoneless one only with `zonelessTimeOffsetMinutes`, else the receive
 *   time), or epoch seconds, ms, µs or ns told apart by magnitude.
 *
 * @example
 * ```ts
 * const utf8 = new TextEncoder();
 * const sink: DatagramSink = {
 *   reading: (name, value, timestampMs) => console.log(name, value, timestampMs),
 *   reject: (reason) => console.log('reject', reason),
 *   ignored: (count) => console.log('ignored', count),
 * };
 * mapMqttMessage('tele/kitchen/SENSOR',
 *   utf8.encode('{"Time":"2024-01-01T12:00:00Z","AM2301":{"Temperature":21.5,"Humidity":40},"TempUnit":"C"}'), sink);
 * // tele/kitchen/SENSOR/AM2301/Temperature 21.5 1704110400000
 * // tele/kitchen/SENSOR/AM2301/Humidity 40 1704110400000
 * // ignored 1
 * mapMqttMessage('esphome/sensor/temp/state', utf8.encode('21.5'), sink);
 * // esphome/sensor/temp/state 21.5 NaN
 * ```
 */
export function mapMqttMessage(topic: string, payload: Uint8Array, sink: DatagramSink, options?: MqttMapOptions): void {
  if (typeof topic !== 'string') throw new TypeError(`topic must be a string, got ${typeof topic}`);
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  const o = resolve(options);
  const scratch = spare ?? new Scratch();
  spare = undefined;
  let reason: RejectReason | undefined;
  try {
    reason = mapWith(topic, payload, sink, o, scratch);
  } finally {
    spare = scratch;
  }
  if (reason !== undefined) sink.reject(reason, payload);
}
