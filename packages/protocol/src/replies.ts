/**
 * TCP replies (PROTOCOL.md "TCP commands and replies"): the server → client direction.
 *
 * Encoders return one complete line, `\n` included, ready to write. The
 * `*Fields` variants take plain arguments so the server's fan-out path builds
 * no object per reading. {@link ReplyDecoder} is the client side: an
 * incremental line splitter in front of {@link decodeReplyLine}.
 */
import { CR, LF, utf8Text } from './chars.js';
import type { ErrorCode } from './errors.js';
import { isErrorCode } from './errors.js';
import { checkMaxLineBytes } from './ingest.js';
import { DEFAULT_MAX_REPLY_LINE_BYTES } from './limits.js';
import { LineBuffer } from './line-buffer.js';
import { isValidName } from './names.js';
import { formatValue, parseNumberText } from './number.js';
import type { Bucket, Reading } from './types.js';

/**
 * One sensor as `LIST` reports it.
 *
 * @example
 * ```ts
 * const s: SensorSummary = { name: 'ramp', count: 1200, lastTimestampMs: 1764316800125, lastValue: 0.35 };
 * ```
 */
export interface SensorSummary {
  readonly name: string;
  /** Readings stored since the sensor appeared (its latest server seq). */
  readonly count: number;
  /** Timestamp of the latest reading, Unix epoch milliseconds. */
  readonly lastTimestampMs: number;
  /** Value of the latest reading. */
  readonly lastValue: number;
}

/**
 * One decoded reply line.
 *
 * @example
 * ```ts
 * const reply: Reply = { kind: 'err', code: 'not-found', detail: 'ramp' };
 * ```
 */
export type Reply =
  | { kind: 'value'; value: number } // a bare answer to `n`: a number, NaN for `nan`
  | { kind: 'pong' }
  | { kind: 'end' }
  | { kind: 'bye' }
  | { kind: 'val'; reading: Reading }
  | { kind: 'pub'; reading: Reading }
  | { kind: 'sensor'; summary: SensorSummary }
  | { kind: 'more'; timestampMs: number } // v1.1: a RANGE reply was cut; continue from this timestamp
  | { kind: 'bucket'; bucket: Bucket } // v1.1: one bucket of a RANGE with points
  | { kind: 'stat'; key: string; value: string }
  | { kind: 'ok'; verb: string; detail: string }
  | { kind: 'err'; code: string; detail: string } // code is usually an ErrorCode; unknown codes kept as strings
  | { kind: 'unknown'; line: string };

/**
 * Options of {@link ReplyDecoder}.
 *
 * @example
 * ```ts
 * const options: ReplyDecoderOptions = { maxLineBytes: 4096 };
 * ```
 */
export interface ReplyDecoderOptions {
  /** Longest reply line, counting every byte before its LF. Default {@link DEFAULT_MAX_REPLY_LINE_BYTES} (64 KiB). */
  readonly maxLineBytes?: number;
}

/** Replaces control characters (CR and LF included) by spaces, so text stays on one line. */
function oneLine(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      out += text.slice(from, i) + ' ';
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/** A token: non-empty printable ASCII without spaces (keys and verbs). */
function isToken(text: string): boolean {
  if (typeof text !== 'string' || text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/**
 * The answer to a legacy `n` poll (PROTOCOL.md "TCP commands and replies"): the latest value of sensor
 * `default` as `String(value)`, or `nan` when there is none, plus LF.
 *
 * @example
 * ```ts
 * encodePollReply(0.35); // '0.35\n'
 * encodePollReply(undefined); // 'nan\n'
 * ```
 */
export function encodePollReply(value: number | undefined): string {
  return `${formatValue(value)}\n`;
}

/**
 * `VAL <name> <value> <ts> <seq>\n` from plain fields (no object needed).
 * Fields are written as given: the caller passes a valid name.
 *
 * @example
 * ```ts
 * encodeValFields('ramp', 0.35, 1764316800125, 42); // 'VAL ramp 0.35 1764316800125 42\n'
 * ```
 */
export function encodeValFields(name: string, value: number, timestampMs: number, seq: number): string {
  return `VAL ${name} ${formatValue(value)} ${String(timestampMs)} ${String(seq)}\n`;
}

/**
 * `PUB <name> <value> <ts> <seq>\n` from plain fields: the subscription push,
 * encoded once and written to every subscriber.
 *
 * @example
 * ```ts
 * encodePubFields('ramp', 0.35, 1764316800125.5, 43); // 'PUB ramp 0.35 1764316800125.5 43\n'
 * ```
 */
export function encodePubFields(name: string, value: number, timestampMs: number, seq: number): string {
  return `PUB ${name} ${formatValue(value)} ${String(timestampMs)} ${String(seq)}\n`;
}

/**
 * `VAL <name> <value> <ts> <seq>\n`: the answer to `GET`, and each line of `HIST`.
 *
 * @example
 * ```ts
 * encodeVal({ name: 'ramp', value: 0.35, timestampMs: 1764316800125, seq: 42 });
 * // 'VAL ramp 0.35 1764316800125 42\n'
 * ```
 */
export function encodeVal(r: Reading): string {
  return encodeValFields(r.name, r.value, r.timestampMs, r.seq);
}

/**
 * `PUB <name> <value> <ts> <seq>\n`: a reading pushed to a subscriber.
 *
 * @example
 * ```ts
 * encodePub({ name: 'ramp', value: 0.35, timestampMs: 1764316800125, seq: 42 });
 * // 'PUB ramp 0.35 1764316800125 42\n'
 * ```
 */
export function encodePub(r: Reading): string {
  return encodePubFields(r.name, r.value, r.timestampMs, r.seq);
}

/**
 * `SENSOR <name> <count> <last-ts> <last-value>\n`: one line of `LIST`.
 *
 * @example
 * ```ts
 * encodeSensor({ name: 'ramp', count: 3, lastTimestampMs: 1764316800125, lastValue: 0.35 });
 * // 'SENSOR ramp 3 1764316800125 0.35\n'
 * ```
 */
export function encodeSensor(s: SensorSummary): string {
  return `SENSOR ${s.name} ${String(s.count)} ${String(s.lastTimestampMs)} ${formatValue(s.lastValue)}\n`;
}

/**
 * `MORE <ts>\n` (v1.1): the `RANGE` reply before it was cut by the server's
 * cap; a `RANGE` from `<ts>` continues it without repeating a reading. It
 * comes just before the `END`.
 *
 * @example
 * ```ts
 * encodeMore(1764316800125.5); // 'MORE 1764316800125.5\n'
 * ```
 */
export function encodeMore(timestampMs: number): string {
  return `MORE ${String(timestampMs)}\n`;
}

/**
 * `BUCKET <name> <start-ts> <count> <min> <max> <mean> <first> <last>\n` from
 * plain fields (v1.1): one line of a `RANGE` with points. Fields are written
 * as given: the caller passes a valid name.
 *
 * @example
 * ```ts
 * encodeBucketFields('ramp', 1764316800000, 3, 0.1, 0.3, 0.2, 0.1, 0.3);
 * // 'BUCKET ramp 1764316800000 3 0.1 0.3 0.2 0.1 0.3\n'
 * ```
 */
export function encodeBucketFields(
  name: string,
  startMs: number,
  count: number,
  min: number,
  max: number,
  mean: number,
  first: number,
  last: number,
): string {
  return `BUCKET ${name} ${String(startMs)} ${String(count)} ${formatValue(min)} ${formatValue(max)} ${formatValue(mean)} ${formatValue(first)} ${formatValue(last)}\n`;
}

/**
 * `BUCKET …\n` from a {@link Bucket} (v1.1).
 *
 * @example
 * ```ts
 * encodeBucket({ name: 'ramp', startMs: 0, count: 1, min: 2, max: 2, mean: 2, first: 2, last: 2 });
 * // 'BUCKET ramp 0 1 2 2 2 2 2\n'
 * ```
 */
export function encodeBucket(b: Bucket): string {
  return encodeBucketFields(b.name, b.startMs, b.count, b.min, b.max, b.mean, b.first, b.last);
}

/**
 * `STAT <key> <value>\n`: one line of `STATS`. A number is written as
 * {@link formatValue} writes it; a string is kept on one line.
 *
 * @throws RangeError when the key is empty or holds spaces or control characters.
 * @example
 * ```ts
 * encodeStat('udp.datagrams', 1200); // 'STAT udp.datagrams 1200\n'
 * encodeStat('version', '1.0.0'); // 'STAT version 1.0.0\n'
 * ```
 */
export function encodeStat(key: string, value: number | string): string {
  if (!isToken(key)) throw new RangeError(`invalid STAT key ${JSON.stringify(key)}`);
  return `STAT ${key} ${typeof value === 'number' ? formatValue(value) : oneLine(String(value))}\n`;
}

/**
 * `END\n`: closes the reply of `LIST`, `HIST` and `STATS`.
 *
 * @example
 * ```ts
 * encodeEnd(); // 'END\n'
 * ```
 */
export function encodeEnd(): string {
  return 'END\n';
}

/**
 * `PONG\n`: the answer to `PING`.
 *
 * @example
 * ```ts
 * encodePong(); // 'PONG\n'
 * ```
 */
export function encodePong(): string {
  return 'PONG\n';
}

/**
 * `BYE\n`: the answer to `QUIT`, after which the server closes.
 *
 * @example
 * ```ts
 * encodeBye(); // 'BYE\n'
 * ```
 */
export function encodeBye(): string {
  return 'BYE\n';
}

/**
 * `OK <VERB> <detail>\n`: the acknowledgement of `SUB`, `UNSUB` and `AFTER`. The verb
 * is upper-cased; the detail is kept on one line and omitted, with its space,
 * when empty.
 *
 * @throws RangeError when the verb is empty or holds spaces or control characters.
 * @example
 * ```ts
 * encodeOk('sub', 'ramp*'); // 'OK SUB ramp*\n'
 * encodeOk('UNSUB', 2); // 'OK UNSUB 2\n'
 * ```
 */
export function encodeOk(verb: string, detail: string | number): string {
  if (!isToken(verb)) throw new RangeError(`invalid verb ${JSON.stringify(verb)}`);
  const text = typeof detail === 'number' ? formatValue(detail) : oneLine(String(detail));
  return text === '' ? `OK ${verb.toUpperCase()}\n` : `OK ${verb.toUpperCase()} ${text}\n`;
}

/**
 * `ERR <code> <detail>\n`. The detail is kept on one line (control
 * characters become spaces) and omitted, with its space, when empty. Codes in
 * {@link CLOSING_ERROR_CODES} mean the server closes after this line.
 *
 * @throws TypeError when the code is not one of {@link ERROR_CODES}.
 * @example
 * ```ts
 * encodeError('not-found', 'ramp'); // 'ERR not-found ramp\n'
 * encodeError('slow-consumer', ''); // 'ERR slow-consumer\n'
 * ```
 */
export function encodeError(code: ErrorCode, detail: string): string {
  if (!isErrorCode(code)) throw new TypeError(`unknown error code ${JSON.stringify(code)}`);
  const text = oneLine(String(detail));
  return text === '' ? `ERR ${code}\n` : `ERR ${code} ${text}\n`;
}

// ---------------------------------------------------------------------------
// Decoding

/** A value field: a decimal, or `nan`/`inf`/`-inf` as {@link formatValue} writes them; undefined if neither. */
function valueField(text: string): number | undefined {
  const v = parseNumberText(text);
  if (v === v) return v;
  if (text === 'nan') return NaN;
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  return undefined;
}

/** A finite decimal field, or undefined. */
function numberField(text: string): number | undefined {
  const v = parseNumberText(text);
  return Number.isFinite(v) ? v : undefined;
}

/** Splits `rest` into exactly four fields separated by single spaces, or undefined. */
function fourFields(rest: string): [string, string, string, string] | undefined {
  const a = rest.indexOf(' ');
  if (a < 0) return undefined;
  const b = rest.indexOf(' ', a + 1);
  if (b < 0) return undefined;
  const c = rest.indexOf(' ', b + 1);
  if (c < 0 || rest.indexOf(' ', c + 1) >= 0) return undefined;
  return [rest.slice(0, a), rest.slice(a + 1, b), rest.slice(b + 1, c), rest.slice(c + 1)];
}

/** The first word of `rest` and everything after the space that ends it. */
function wordAndTail(rest: string): [string, string] {
  const sp = rest.indexOf(' ');
  return sp < 0 ? [rest, ''] : [rest.slice(0, sp), rest.slice(sp + 1)];
}

function bucketOf(rest: string): Bucket | undefined {
  const f = rest.split(' ');
  if (f.length !== 8 || !isValidName(f[0] as string)) return undefined;
  const startMs = numberField(f[1] as string);
  const count = numberField(f[2] as string);
  const min = valueField(f[3] as string);
  const max = valueField(f[4] as string);
  const mean = valueField(f[5] as string);
  const first = valueField(f[6] as string);
  const last = valueField(f[7] as string);
  if (
    startMs === undefined ||
    count === undefined ||
    min === undefined ||
    max === undefined ||
    mean === undefined ||
    first === undefined ||
    last === undefined
  ) {
    return undefined;
  }
  return { name: f[0] as string, startMs, count, min, max, mean, first, last };
}

function readingOf(rest: string): Reading | undefined {
  const f = fourFields(rest);
  if (f === undefined || !isValidName(f[0])) return undefined;
  const value = valueField(f[1]);
  const timestampMs = numberField(f[2]);
  const seq = numberField(f[3]);
  if (value === undefined || timestampMs === undefined || seq === undefined) return undefined;
  return { name: f[0], value, timestampMs, seq };
}

/**
 * Decodes one reply line, given without its LF (a trailing CR is ignored).
 * Never throws: a line that fits no reply is `{ kind: 'unknown', line }`
 * (the line without its CR).
 *
 * @example
 * ```ts
 * decodeReplyLine('0.35'); // { kind: 'value', value: 0.35 }
 * decodeReplyLine('PUB ramp 0.35 1764316800125 42');
 * // { kind: 'pub', reading: { name: 'ramp', value: 0.35, timestampMs: 1764316800125, seq: 42 } }
 * decodeReplyLine('ERR not-found ramp'); // { kind: 'err', code: 'not-found', detail: 'ramp' }
 * ```
 */
export function decodeReplyLine(line: string): Reply {
  const text = line.length > 0 && line.charCodeAt(line.length - 1) === CR ? line.slice(0, -1) : line;
  const sp = text.indexOf(' ');
  if (sp < 0) {
    switch (text) {
      case 'PONG':
        return { kind: 'pong' };
      case 'END':
        return { kind: 'end' };
      case 'BYE':
        return { kind: 'bye' };
    }
    const value = valueField(text);
    return value === undefined ? { kind: 'unknown', line: text } : { kind: 'value', value };
  }
  const rest = text.slice(sp + 1);
  switch (text.slice(0, sp)) {
    case 'PUB': {
      const reading = readingOf(rest);
      if (reading !== undefined) return { kind: 'pub', reading };
      break;
    }
    case 'VAL': {
      const reading = readingOf(rest);
      if (reading !== undefined) return { kind: 'val', reading };
      break;
    }
    case 'SENSOR': {
      const f = fourFields(rest);
      if (f === undefined || !isValidName(f[0])) break;
      const count = numberField(f[1]);
      const lastTimestampMs = numberField(f[2]);
      const lastValue = valueField(f[3]);
      if (count === undefined || lastTimestampMs === undefined || lastValue === undefined) break;
      return { kind: 'sensor', summary: { name: f[0], count, lastTimestampMs, lastValue } };
    }
    case 'MORE': {
      const timestampMs = numberField(rest);
      if (timestampMs !== undefined) return { kind: 'more', timestampMs };
      break;
    }
    case 'BUCKET': {
      const bucket = bucketOf(rest);
      if (bucket !== undefined) return { kind: 'bucket', bucket };
      break;
    }
    case 'STAT': {
      const [key, value] = wordAndTail(rest);
      if (key !== '') return { kind: 'stat', key, value };
      break;
    }
    case 'OK': {
      const [verb, detail] = wordAndTail(rest);
      if (verb !== '') return { kind: 'ok', verb, detail };
      break;
    }
    case 'ERR': {
      const [code, detail] = wordAndTail(rest);
      if (code !== '') return { kind: 'err', code, detail };
      break;
    }
  }
  return { kind: 'unknown', line: text };
}

/**
 * Incremental decoder for the reply stream, the client side of PROTOCOL.md "TCP commands and replies". Feed it
 * the bytes as they arrive; it returns the replies each chunk completed,
 * whatever the chunking. Lines end at LF (a CR before it is stripped); empty
 * lines are skipped; text is UTF-8 (invalid bytes become U+FFFD). A line
 * longer than `maxLineBytes` yields `{ kind: 'unknown' }` holding its first
 * `maxLineBytes` bytes, and the rest of it is skipped. Never throws.
 *
 * @example
 * ```ts
 * const decoder = new ReplyDecoder();
 * decoder.push(new TextEncoder().encode('OK SUB ramp\nPUB ramp 0.3')); // [{ kind: 'ok', verb: 'SUB', detail: 'ramp' }]
 * decoder.push(new TextEncoder().encode('5 1764316800125 42\n')); // [{ kind: 'pub', reading: { ... } }]
 * ```
 */
export class ReplyDecoder {
  readonly #max: number;
  readonly #line: LineBuffer;
  #discarding = false;

  constructor(options?: ReplyDecoderOptions) {
    this.#max = checkMaxLineBytes(options?.maxLineBytes, DEFAULT_MAX_REPLY_LINE_BYTES);
    this.#line = new LineBuffer(this.#max);
  }

  /** Bytes of an unfinished line currently buffered (never more than `maxLineBytes`). */
  get pendingBytes(): number {
    return this.#line.length;
  }

  /**
   * Decodes the next chunk of the stream.
   *
   * @returns the replies completed by this chunk, in order (often empty).
   * @example
   * ```ts
   * socket.on('data', (chunk) => {
   *   for (const reply of decoder.push(chunk)) client.dispatch(reply);
   * });
   * ```
   */
  push(chunk: Uint8Array): Reply[] {
    const out: Reply[] = [];
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const lf = chunk.indexOf(LF, i);
      if (this.#discarding) {
        if (lf < 0) break;
        this.#discarding = false;
        i = lf + 1;
        continue;
      }
      const end = lf < 0 ? n : lf;
      if (this.#line.length + (end - i) > this.#max) {
        const take = this.#max - this.#line.length;
        this.#line.append(chunk, i, i + take);
        out.push({ kind: 'unknown', line: utf8Text(this.#line.bytes, 0, this.#line.length) });
        this.#line.length = 0;
        if (lf < 0) {
          this.#discarding = true;
          break;
        }
        i = lf + 1;
        continue;
      }
      if (lf < 0) {
        this.#line.append(chunk, i, n);
        break;
      }
      let line: string;
      if (this.#line.length === 0) {
        line = utf8Text(chunk, i, lf > i && chunk[lf - 1] === CR ? lf - 1 : lf);
      } else {
        this.#line.append(chunk, i, lf);
        const len = this.#line.length;
        line = utf8Text(this.#line.bytes, 0, len > 0 && this.#line.bytes[len - 1] === CR ? len - 1 : len);
        this.#line.length = 0;
      }
      if (line !== '') out.push(decodeReplyLine(line));
      i = lf + 1;
    }
    return out;
  }
}
