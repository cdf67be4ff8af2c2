/**
 * UDP ingest (PROTOCOL.md "UDP ingest"): one datagram holds one or more lines; each line is one
 * reading in the legacy, native (Graphite plaintext) or StatsD gauge form, or
 * a line of InfluxDB line protocol with one reading per numeric field.
 *
 * How it works: {@link parseDatagram} walks the datagram once, left to right.
 * For each line it records up to four fields (start/end offsets in locals),
 * the first `:`, and, for the first field, whether its leading run is a valid
 * name and a hash of it — all in that one pass, with a 256-entry byte class
 * table. It then tells the form apart from what it saw and parses the
 * numbers from the recorded offsets. A line with a `=` in it and more than
 * one field may be line protocol: it goes to the InfluxDB parser, which says
 * so or hands it back. Readings go to a sink callback as plain
 * arguments with sentinels (NaN timestamp = "now", -1 seq = none), so a
 * reading allocates nothing but, for a name not seen recently, its string.
 */
import {
  BREAK_BIT,
  CHAR_CLASS,
  COLON,
  COMMA,
  CR,
  DIGIT_0,
  EQUALS,
  LF,
  NAME_BIT,
  PIPE,
  SPACE,
  TAB,
  latin1,
  utf8Text,
} from './chars.js';
import type { RejectReason } from './errors.js';
import { NOT_INFLUX, parseInfluxLine, precisionShift, type InfluxPrecision } from './influx.js';
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_SENSOR, MAX_NAME_BYTES, MAX_TIMESTAMP_SECONDS } from './limits.js';
import { NameBuilder } from './name-builder.js';
import { isValidName } from './names.js';
import { formatValue, parseNumber, parseScaledDecimal, parseUnsigned } from './number.js';
import type { IngestReading } from './types.js';

/**
 * Receives what {@link parseDatagram} finds, one call per reading or refused
 * line; the other parsers ({@link parseInfluxLines}, {@link IngestDecoder},
 * {@link mapMqttMessage}) report to the same interface. The arguments are
 * plain values with sentinels so that the hot path allocates no object per
 * reading.
 *
 * @example
 * ```ts
 * const sink: DatagramSink = {
 *   reading(name, value, timestampMs, senderSeq) {
 *     store.add(name, value, Number.isNaN(timestampMs) ? Date.now() : timestampMs, senderSeq);
 *   },
 *   reject(reason) {
 *     counters[reason]++;
 *   },
 * };
 * ```
 */
export interface DatagramSink {
  /**
   * One valid reading. `timestampMs` is Unix epoch milliseconds (may carry a
   * fraction), or NaN when the server's receive time must be used (absent or
   * `-1`). `senderSeq` is the sender's sequence number, or -1 when absent.
   */
  reading(name: string, value: number, timestampMs: number, senderSeq: number): void;
  /**
   * One dropped line. `line` is a view into the datagram (no copy) without
   * its LF and trailing CR, valid only during the call: copy it to keep it.
   */
  reject(reason: RejectReason, line: Uint8Array): void;
  /**
   * Optional: `count` parts of an accepted line or message held no number
   * and were skipped — InfluxDB string and boolean fields, MQTT JSON
   * strings, booleans, nulls and non-finite numbers. Called once per line or
   * message, after its readings, with the same kind of view as `reject`. A
   * line or message in which nothing is a number is a reject
   * (`unsupported-type`) instead, never both.
   */
  ignored?(count: number, line: Uint8Array): void;
}

/**
 * Options of {@link parseDatagram}.
 *
 * @example
 * ```ts
 * const options: ParseDatagramOptions = { maxLineBytes: 512 };
 * ```
 */
export interface ParseDatagramOptions {
  /** Longest line, counting every byte before its LF (a CR included). Default {@link DEFAULT_MAX_LINE_BYTES}. */
  readonly maxLineBytes?: number;
  /** Reuse name strings across datagrams: pass the same {@link NameCache} to every call. */
  readonly nameCache?: NameCache;
  /**
   * Read lines of InfluxDB line protocol (see {@link parseInfluxLines}).
   * Default `true`. With `false`, such a line is refused as it was before
   * (`bad-name`, `bad-number`, …); no line of the other forms is read
   * differently either way.
   */
  readonly influx?: boolean;
  /** The unit of InfluxDB timestamps. Default `'ns'`, as InfluxDB and Telegraf's UDP output use. */
  readonly influxPrecision?: InfluxPrecision;
  /**
   * Graphite paths: in a native line, map each character of the name outside
   * `A-Z a-z 0-9 _ . - /` to `_` (one per character) instead of refusing the
   * line as `bad-name`. For collectd 6's `name.key=value` paths and Graphite
   * tags (`path;tag=value`). A name that comes out over 128 bytes is still
   * `bad-name`. Default `false`.
   */
  readonly sanitizeNames?: boolean;
}

const MAX_TIMESTAMP_MS = MAX_TIMESTAMP_SECONDS * 1000;
const LOWER_G = 0x67;
const UPPER_T = 0x54;

/** @internal Validates a `maxLineBytes` option; shared by the decoders. */
export function checkMaxLineBytes(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`maxLineBytes must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`maxLineBytes must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * A direct-mapped cache from name bytes to name strings. Sensors repeat their
 * names in every datagram; a caller that keeps one cache across datagrams
 * (as the server does) gets the same string back for the same name, so ingest
 * allocates nothing per reading. It only ever returns a string equal to the
 * bytes, so it changes no result; without one, each name is decoded afresh.
 *
 * @example
 * ```ts
 * const nameCache = new NameCache();
 * parseDatagram(datagram, sink, { nameCache }); // reuse nameCache for every datagram
 * ```
 */
export class NameCache {
  readonly #slots: (string | undefined)[];
  readonly #mask: number;

  /** `size` is rounded up to a power of two (default 1024 slots). */
  constructor(size = 1024) {
    if (!Number.isSafeInteger(size) || size < 1 || size > 1 << 20) {
      throw new RangeError(`NameCache size must be an integer from 1 to ${1 << 20}, got ${String(size)}`);
    }
    let slots = 1;
    while (slots < size) slots <<= 1;
    this.#slots = new Array<string | undefined>(slots).fill(undefined);
    this.#mask = slots - 1;
  }

  /** @internal The name spelled by `bytes[start, end)`, whose running hash is `hash`. */
  intern(bytes: Uint8Array, start: number, end: number, hash: number): string {
    const slot = (hash ^ (hash >>> 13)) & this.#mask;
    const cached = this.#slots[slot];
    const len = end - start;
    if (cached !== undefined && cached.length === len) {
      let k = 0;
      while (k < len && cached.charCodeAt(k) === bytes[start + k]) k++;
      if (k === len) return cached;
    }
    const name = latin1(bytes, start, end);
    this.#slots[slot] = name;
    return name;
  }
}

function internName(cache: NameCache | undefined, bytes: Uint8Array, start: number, end: number, hash: number): string {
  return cache === undefined ? latin1(bytes, start, end) : cache.intern(bytes, start, end, hash);
}

/** For `sanitizeNames`. Its state is not needed once the name is interned, so one is shared. */
const sanitizer = new NameBuilder();

/** The name of `bytes[start, end)` with each character outside the alphabet as `_`; undefined if over 128 bytes. */
function sanitizedName(
  cache: NameCache | undefined,
  bytes: Uint8Array,
  start: number,
  end: number,
): string | undefined {
  sanitizer.reset();
  sanitizer.mapBytes(bytes, start, end);
  return sanitizer.fits ? sanitizer.intern(cache) : undefined;
}

/** The line without its LF and one trailing CR, as a view. */
function lineView(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return bytes.subarray(start, end > start && bytes[end - 1] === CR ? end - 1 : end);
}

/**
 * PROTOCOL.md "UDP ingest", timestamp: Unix seconds, integer or fractional, `-1` = now. Returns ms
 * (scaled from the decimal digits, so `1764316800.125` is exactly
 * 1764316800125), NaN for "now", or -1 when out of range or not a number.
 */
function parseTimestampMs(bytes: Uint8Array, start: number, end: number): number {
  const ms = parseScaledDecimal(bytes, start, end, 3);
  if (ms === -1000) return NaN;
  if (ms >= 0 && ms < MAX_TIMESTAMP_MS) return ms + 0; // + 0 turns -0 into 0
  return -1;
}

/** PROTOCOL.md "UDP ingest", sender-seq: an unsigned decimal integer up to MAX_SAFE_INTEGER; -1 if not. */
const parseSequence = (bytes: Uint8Array, start: number, end: number): number =>
  parseUnsigned(bytes, start, end, Number.MAX_SAFE_INTEGER);

/** Index of the next `|` in `[from, end)`, or `end`. */
function nextPipe(bytes: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end && bytes[i] !== PIPE) i++;
  return i;
}

/**
 * PROTOCOL.md "UDP ingest", StatsD gauge: `name:value|g[|@rate][|#tags][|T<seconds>][|c:...]`.
 * The field is `[start, end)`, its first `:` at `colon`. Returns the reject
 * reason, or undefined after delivering the reading.
 */
function parseStatsd(
  bytes: Uint8Array,
  start: number,
  end: number,
  colon: number,
  nameOk: boolean,
  hash: number,
  sink: DatagramSink,
  cache: NameCache | undefined,
): RejectReason | undefined {
  const nameLen = colon - start;
  if (!nameOk || nameLen === 0 || nameLen > MAX_NAME_BYTES) return 'bad-name';
  const pipe = nextPipe(bytes, colon + 1, end);
  if (pipe === end) return 'bad-syntax'; // no `|type`
  let sectionEnd = nextPipe(bytes, pipe + 1, end);
  if (sectionEnd === pipe + 1) return 'bad-syntax'; // empty type
  if (sectionEnd !== pipe + 2 || bytes[pipe + 1] !== LOWER_G) return 'unsupported-type';
  const value = parseNumber(bytes, colon + 1, pipe);
  if (!Number.isFinite(value)) return 'bad-number';
  let timestampMs = NaN;
  while (sectionEnd < end) {
    const sectionStart = sectionEnd + 1;
    sectionEnd = nextPipe(bytes, sectionStart, end);
    // DogStatsD `|T<unix-seconds>`; `|@rate`, `|#tags`, `|c:container` and unknown sections are ignored.
    if (sectionEnd > sectionStart && bytes[sectionStart] === UPPER_T) {
      timestampMs = parseTimestampMs(bytes, sectionStart + 1, sectionEnd);
      if (timestampMs === -1) return 'bad-timestamp';
    }
  }
  sink.reading(internName(cache, bytes, start, colon, hash), value, timestampMs, -1);
  return undefined;
}

/**
 * Parses one UDP datagram (PROTOCOL.md "UDP ingest") and reports each line to `sink`: a reading
 * or a reject reason. Lines are split on LF; one trailing CR is stripped;
 * empty and blank lines are ignored; spaces and tabs around and between
 * fields are ignored. Never throws for any input, whatever its size or bytes.
 *
 * The form of each line:
 * - its second section (after the first blank no backslash escapes) begins
 *   with `key=` → InfluxDB line protocol, one reading per numeric field
 *   (see {@link parseInfluxLines}; off with `influx: false`);
 * - contains `:` → StatsD gauge `name:value|g[|@rate][|#tags][|T<seconds>]`;
 * - 2 to 4 fields → native `name value [timestamp [sender-seq]]`;
 * - 1 field → legacy bare number for sensor `default` at the server's time.
 *
 * No valid line of the last three forms can be line protocol: their names
 * and numbers hold no `=`.
 *
 * @example
 * ```ts
 * const datagram = new TextEncoder().encode('0.35\nramp 1.5 1764316800.125 42\nbad name!\n');
 * parseDatagram(datagram, {
 *   reading: (name, value, timestampMs, senderSeq) => console.log(name, value, timestampMs, senderSeq),
 *   reject: (reason, line) => console.log(reason, new TextDecoder().decode(line)),
 * });
 * // default 0.35 NaN -1
 * // ramp 1.5 1764316800125 42
 * // bad-name bad name!
 * ```
 */
export function parseDatagram(datagram: Uint8Array, sink: DatagramSink, options?: ParseDatagramOptions): void {
  const max = checkMaxLineBytes(options?.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
  const cache = options?.nameCache;
  const influx = options?.influx !== false;
  const shift = precisionShift(options?.influxPrecision);
  const sanitize = options?.sanitizeNames === true;
  const bytes = datagram;
  const n = bytes.length;
  let pos = 0;
  let influxTriedAt = -1; // the line at this offset is not line protocol: scan it as the other forms
  while (pos < n) {
    // Scan one line, at most max + 1 bytes: that is enough to know it is too long.
    const limit = n - pos > max ? pos + max + 1 : n;
    let i = pos;
    let nf = 0;
    let f0s = 0;
    let f0e = 0;
    let f1s = 0;
    let f1e = 0;
    let f2s = 0;
    let f2e = 0;
    let f3s = 0;
    let f3e = 0;
    let colon = -1;
    let equals = false;
    let nameOk = true;
    let hash = 0;
    let tagged = false; // the first field's name bytes end at a `,`: likely `measurement,tag=value …`
    scan: while (i < limit) {
      let b = bytes[i] as number;
      if (((CHAR_CLASS[b] as number) & BREAK_BIT) !== 0 && b !== COLON) {
        if (b === LF) break;
        if (b === SPACE || b === TAB || (b === CR && (i + 1 === n || bytes[i + 1] === LF))) {
          i++;
          continue;
        }
      }
      const fieldStart = i;
      if (nf === 0) {
        // PROTOCOL.md "Readings, names and numbers": validate and hash the first field's leading run of name bytes in this same pass.
        for (; i < limit; i++) {
          b = bytes[i] as number;
          if (((CHAR_CLASS[b] as number) & NAME_BIT) === 0) break;
          hash = (Math.imul(hash, 31) + b) | 0;
        }
        if (i < limit) {
          b = bytes[i] as number;
          if (b === COLON) colon = i++;
          else if (!(b === SPACE || b === TAB || b === LF || (b === CR && (i + 1 === n || bytes[i + 1] === LF)))) {
            nameOk = false;
            if (b === COMMA && influx && influxTriedAt !== pos) {
              tagged = true;
              break scan;
            }
          }
        }
      }
      for (; i < limit; i++) {
        const b2 = bytes[i] as number;
        if (((CHAR_CLASS[b2] as number) & BREAK_BIT) !== 0) {
          if (b2 === SPACE || b2 === TAB || b2 === LF) break;
          if (b2 === CR && (i + 1 === n || bytes[i + 1] === LF)) break;
          if (b2 === COLON && colon < 0) colon = i;
          else if (b2 === EQUALS) equals = true;
        }
      }
      switch (nf) {
        case 0:
          f0s = fieldStart;
          f0e = i;
          break;
        case 1:
          f1s = fieldStart;
          f1e = i;
          break;
        case 2:
          f2s = fieldStart;
          f2e = i;
          break;
        case 3:
          f3s = fieldStart;
          f3e = i;
          break;
      }
      nf++;
    }

    if (tagged) {
      // Line protocol with tags, told apart without scanning the line twice; else scanned again as before.
      let end = bytes.indexOf(LF, i);
      if (end < 0) end = n;
      if (end - pos <= max) {
        const result = parseInfluxLine(bytes, pos, end, sink, cache, shift, true);
        if (result !== NOT_INFLUX) {
          if (result !== undefined) sink.reject(result, lineView(bytes, pos, end));
          pos = end + 1;
          continue;
        }
      }
      influxTriedAt = pos;
      continue;
    }

    let lineEnd: number;
    let reason: RejectReason | undefined;
    if (i - pos > max) {
      lineEnd = bytes.indexOf(LF, i);
      if (lineEnd < 0) lineEnd = n;
      reason = 'line-too-long';
    } else {
      lineEnd = i; // at an LF or at the end of the datagram
      let influxResult: RejectReason | typeof NOT_INFLUX | undefined = NOT_INFLUX;
      if (nf === 0) {
        // empty or blank line: ignored
      } else if (
        equals &&
        nf > 1 &&
        influx &&
        influxTriedAt !== pos &&
        (influxResult = parseInfluxLine(bytes, pos, i, sink, cache, shift, true)) !== NOT_INFLUX
      ) {
        reason = influxResult;
      } else if (colon >= 0) {
        reason = nf === 1 ? parseStatsd(bytes, f0s, f0e, colon, nameOk, hash, sink, cache) : 'bad-syntax';
      } else if (nf === 1) {
        // PROTOCOL.md "UDP ingest", legacy: a bare number (Python's str(float)) for sensor `default`, server time.
        const value = parseNumber(bytes, f0s, f0e);
        if (Number.isFinite(value)) sink.reading(DEFAULT_SENSOR, value, NaN, -1);
        else reason = 'bad-number';
      } else if (nf > 4) {
        reason = 'bad-syntax';
      } else {
        // PROTOCOL.md "UDP ingest", native: name value [timestamp [sender-seq]]
        const valid = nameOk && f0e - f0s <= MAX_NAME_BYTES;
        const name = valid ? undefined : sanitize ? sanitizedName(cache, bytes, f0s, f0e) : undefined;
        const value = parseNumber(bytes, f1s, f1e);
        let timestampMs = NaN;
        let senderSeq = -1;
        if (!valid && name === undefined) reason = 'bad-name';
        else if (!Number.isFinite(value)) reason = 'bad-number';
        else if (nf >= 3 && (timestampMs = parseTimestampMs(bytes, f2s, f2e)) === -1) reason = 'bad-timestamp';
        else if (nf === 4 && (senderSeq = parseSequence(bytes, f3s, f3e)) === -1) reason = 'bad-sequence';
        else sink.reading(name ?? internName(cache, bytes, f0s, f0e, hash), value, timestampMs, senderSeq);
      }
    }
    if (reason !== undefined) sink.reject(reason, lineView(bytes, pos, lineEnd));
    pos = lineEnd + 1;
  }
}

/**
 * Parses a datagram like {@link parseDatagram} and collects the results in
 * arrays: `undefined` replaces the sentinels, reject lines are decoded as
 * UTF-8. Convenient for tests and tools; allocates.
 *
 * @example
 * ```ts
 * const { readings, rejects } = parseDatagramToArray(new TextEncoder().encode('ramp:0.5|g\nx:1|c'));
 * // readings: [{ name: 'ramp', value: 0.5, timestampMs: undefined, senderSeq: undefined }]
 * // rejects: [{ reason: 'unsupported-type', line: 'x:1|c' }]
 * ```
 */
export function parseDatagramToArray(
  datagram: Uint8Array,
  options?: ParseDatagramOptions,
): { readings: IngestReading[]; rejects: { reason: RejectReason; line: string }[] } {
  const readings: IngestReading[] = [];
  const rejects: { reason: RejectReason; line: string }[] = [];
  parseDatagram(
    datagram,
    {
      reading(name, value, timestampMs, senderSeq) {
        readings.push({
          name,
          value,
          timestampMs: Number.isNaN(timestampMs) ? undefined : timestampMs,
          senderSeq: senderSeq < 0 ? undefined : senderSeq,
        });
      },
      reject(reason, line) {
        rejects.push({ reason, line: utf8Text(line, 0, line.length) });
      },
    },
    options,
  );
  return { readings, rejects };
}

// ---------------------------------------------------------------------------
// Encoders: the sender side. No trailing newline; join lines with '\n'.

function checkValue(value: number): string {
  if (typeof value !== 'number') throw new TypeError(`value must be a number, got ${typeof value}`);
  if (!Number.isFinite(value)) throw new RangeError(`value must be finite, got ${String(value)}`);
  return formatValue(value);
}

function checkName(name: string): string {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${typeof name}`);
  if (!isValidName(name)) {
    throw new RangeError(`invalid sensor name ${JSON.stringify(name)}: 1 to 128 bytes of A-Z a-z 0-9 _ . - /`);
  }
  return name;
}

/**
 * Writes milliseconds as Unix seconds by moving the decimal point of
 * `String(ms)` three places, so that parsing the text back yields exactly
 * `ms` again (no float division).
 */
function msToSecondsText(ms: number): string {
  const text = String(ms);
  const e = text.indexOf('e');
  if (e >= 0) return `${text.slice(0, e)}e${Number(text.slice(e + 1)) - 3}`; // tiny values: 1e-7 → 1e-10
  const dot = text.indexOf('.');
  let int = dot < 0 ? text : text.slice(0, dot);
  const frac = dot < 0 ? '' : text.slice(dot + 1);
  if (int.length < 4) int = int.padStart(4, '0');
  const whole = int.slice(0, -3);
  let fraction = int.slice(-3) + frac;
  let k = fraction.length;
  while (k > 0 && fraction.charCodeAt(k - 1) === DIGIT_0) k--;
  fraction = fraction.slice(0, k);
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

/**
 * Encodes a reading as the legacy datagram (PROTOCOL.md "UDP ingest"): the bare value, exactly
 * `String(value)`, as the original Medidor sends it. The server stores it as
 * sensor `default` at its receive time.
 *
 * @throws RangeError when the value is not finite.
 * @example
 * ```ts
 * socket.send(encodeLegacy(0.35), 7330, '127.0.0.1'); // sends `0.35`
 * ```
 */
export function encodeLegacy(value: number): string {
  return checkValue(value);
}

/**
 * A reading to send in the native form; see {@link encodeNative}.
 *
 * @example
 * ```ts
 * const r: NativeReadingInput = { name: 'ramp', value: 0.35, timestampMs: Date.now(), senderSeq: 1 };
 * ```
 */
export interface NativeReadingInput {
  readonly name: string;
  readonly value: number;
  /** Unix epoch milliseconds, `0 <= ms < 1e14`; absent means "the server's receive time". */
  readonly timestampMs?: number | undefined;
  /** An unsigned safe integer, for loss accounting. */
  readonly senderSeq?: number | undefined;
}

/**
 * Encodes a reading as a native line (PROTOCOL.md "UDP ingest"): `name value [ts-seconds [seq]]`.
 * The timestamp is written in seconds with as many decimals as the
 * milliseconds need, and reads back exactly; with a `senderSeq` but no
 * timestamp, the timestamp is written as `-1` (now).
 *
 * @throws TypeError/RangeError for a bad name, a non-finite value, a timestamp
 *   out of range or a sequence that is not an unsigned safe integer.
 * @example
 * ```ts
 * encodeNative({ name: 'ramp', value: 0.35, timestampMs: 1764316800125, senderSeq: 42 });
 * // 'ramp 0.35 1764316800.125 42'
 * encodeNative({ name: 'ramp', value: 0.35, senderSeq: 7 }); // 'ramp 0.35 -1 7'
 * ```
 */
export function encodeNative(reading: NativeReadingInput): string {
  const { timestampMs, senderSeq } = reading;
  let line = `${checkName(reading.name)} ${checkValue(reading.value)}`;
  if (timestampMs !== undefined) {
    if (typeof timestampMs !== 'number' || !(timestampMs >= 0 && timestampMs < MAX_TIMESTAMP_MS)) {
      throw new RangeError(`timestampMs must be in [0, 1e14), got ${String(timestampMs)}`);
    }
    line += ` ${msToSecondsText(timestampMs + 0)}`;
  } else if (senderSeq !== undefined) {
    line += ' -1';
  }
  if (senderSeq !== undefined) {
    if (typeof senderSeq !== 'number' || !Number.isSafeInteger(senderSeq) || senderSeq < 0) {
      throw new RangeError(`senderSeq must be an unsigned safe integer, got ${String(senderSeq)}`);
    }
    line += ` ${senderSeq}`;
  }
  return line;
}

/**
 * Encodes a StatsD gauge line (PROTOCOL.md "UDP ingest"): `name:value|g`. The value is absolute,
 * a negative value included.
 *
 * @throws TypeError/RangeError for a bad name or a non-finite value.
 * @example
 * ```ts
 * encodeStatsdGauge('ramp', -0.5); // 'ramp:-0.5|g'
 * ```
 */
export function encodeStatsdGauge(name: string, value: number): string {
  return `${checkName(name)}:${checkValue(value)}|g`;
}
