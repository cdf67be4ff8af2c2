/**
 * TCP commands (PROTOCOL.md "TCP commands and replies"): the client → server direction.
 *
 * How it works: {@link CommandDecoder} is a small state machine over bytes.
 * At a command boundary it skips CR and LF, answers the legacy `n` at once,
 * and otherwise starts a line. A line that arrives whole inside one chunk is
 * parsed in place; only a line split across chunks is copied into a buffer,
 * which never grows past `maxLineBytes`. A line over the limit is reported
 * once and the rest of it is skipped with `indexOf`, buffering nothing.
 */
import { CHAR_CLASS, CR, LF, NAME_BIT, PATTERN_BIT, SPACE, TAB, latin1 } from './chars.js';
import { LineBuffer } from './line-buffer.js';
import { parseUnsigned } from './number.js';
import { checkMaxLineBytes } from './ingest.js';
import { DEFAULT_MAX_LINE_BYTES, MAX_COUNT_ARG, MAX_NAME_BYTES, MAX_RANGE_POINTS, MAX_SEQ_ARG } from './limits.js';
import { isValidName, isValidPattern } from './names.js';
import { formatTimeArg, timeArgAt, type TimeArg } from './time-arg.js';

/**
 * One decoded command. `invalid` stands for a line the server must answer
 * with `ERR <code> <detail>`.
 *
 * @example
 * ```ts
 * const cmd: Command = { kind: 'hist', name: 'ramp', count: 20 };
 * ```
 */
export type Command =
  | { kind: 'poll' } // legacy `n`
  | { kind: 'ping' }
  | { kind: 'get'; name: string }
  | { kind: 'list'; pattern: string | undefined }
  | { kind: 'hist'; name: string; count: number | undefined }
  | { kind: 'sub'; pattern: string; backlog: number | undefined }
  | { kind: 'unsub'; pattern: string | undefined }
  /** v1.1: readings of `name` with `from <= ts <= to`, or `points` buckets over that span. Times kept as written. */
  | { kind: 'range'; name: string; from: TimeArg; to: TimeArg; points: number | undefined }
  /** v1.1: a resume point, used by the next `SUB` that matches `name`. */
  | { kind: 'after'; name: string; seq: number }
  | { kind: 'stats' }
  /** Presents a token (docs/SECURITY.md, "Tokens on TCP"); never echoed or logged. */
  | { kind: 'auth'; token: string }
  | { kind: 'quit' }
  | { kind: 'invalid'; code: 'unknown-command' | 'bad-args' | 'line-too-long'; detail: string };

/**
 * Options of {@link CommandDecoder}.
 *
 * @example
 * ```ts
 * const options: CommandDecoderOptions = { maxLineBytes: 1024 };
 * ```
 */
export interface CommandDecoderOptions {
  /** Longest command line, counting every byte before its LF (a CR included). Default {@link DEFAULT_MAX_LINE_BYTES}. */
  readonly maxLineBytes?: number;
}

const POLL: Command = Object.freeze({ kind: 'poll' });
const PING: Command = Object.freeze({ kind: 'ping' });
const STATS: Command = Object.freeze({ kind: 'stats' });
const QUIT: Command = Object.freeze({ kind: 'quit' });

const LOWER_N = 0x6e;
const UPPER_N = 0x4e;
const MAX_DETAIL_CHARS = 64;
/**
 * Longest token `AUTH` takes, in bytes (docs/SECURITY.md, "Tokens on TCP").
 *
 * @example
 * ```ts
 * MAX_TOKEN_BYTES; // 256
 * ```
 */
export const MAX_TOKEN_BYTES = 256;
/** One more than the most fields any command has (`RANGE <name> <from> <to> <points>`: five). */
const MAX_FIELDS = 6;

/** Printable ASCII only (anything else becomes `?`), at most 64 chars: safe to echo in an ERR line. */
function sanitize(bytes: Uint8Array, start: number, end: number): string {
  const stop = Math.min(end, start + MAX_DETAIL_CHARS);
  let out = '';
  for (let i = start; i < stop; i++) {
    const b = bytes[i] as number;
    out += b > 0x20 && b < 0x7f ? String.fromCharCode(b) : '?';
  }
  return out;
}

/** Case-insensitive comparison of ASCII letters with a lowercase verb. */
function verbIs(bytes: Uint8Array, start: number, end: number, verb: string): boolean {
  if (end - start !== verb.length) return false;
  for (let k = 0; k < verb.length; k++) {
    if (((bytes[start + k] as number) | 0x20) !== verb.charCodeAt(k)) return false;
  }
  return true;
}

function nameArg(bytes: Uint8Array, start: number, end: number, bit: number): string | undefined {
  if (end - start > MAX_NAME_BYTES) return undefined;
  for (let i = start; i < end; i++) if (((CHAR_CLASS[bytes[i] as number] as number) & bit) === 0) return undefined;
  return latin1(bytes, start, end);
}

/** A token: 1 to {@link MAX_TOKEN_BYTES} printable ASCII bytes other than the blank. */
function tokenArg(bytes: Uint8Array, start: number, end: number): string | undefined {
  if (end - start > MAX_TOKEN_BYTES) return undefined;
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if (b <= 0x20 || b >= 0x7f) return undefined;
  }
  return latin1(bytes, start, end);
}

/**
 * Tells whether a string can be sent as an `AUTH` token: 1 to
 * {@link MAX_TOKEN_BYTES} printable ASCII characters, no blank.
 *
 * @example
 * ```ts
 * isValidToken('s3cr3t-Token_1'); // true
 * isValidToken('two words'); // false
 * ```
 */
export function isValidToken(token: string): boolean {
  if (token.length === 0 || token.length > MAX_TOKEN_BYTES) return false;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** An unsigned decimal integer in [0, 2^31 − 1], else -1. */
const countArg = (bytes: Uint8Array, start: number, end: number): number =>
  parseUnsigned(bytes, start, end, MAX_COUNT_ARG);

function badArgs(detail: string): Command {
  return { kind: 'invalid', code: 'bad-args', detail };
}

/**
 * Parses one command line `bytes[start..end)` (without its LF; a trailing CR
 * is stripped here). Returns undefined for a blank line.
 */
function parseLine(bytes: Uint8Array, start: number, end: number): Command | undefined {
  if (end > start && bytes[end - 1] === CR) end--;
  // Fields: offsets of up to MAX_FIELDS fields, and how many there are in all.
  let nf = 0;
  let f0s = 0;
  let f0e = 0;
  let f1s = 0;
  let f1e = 0;
  let f2s = 0;
  let f2e = 0;
  let f3s = 0;
  let f3e = 0;
  let f4s = 0;
  let f4e = 0;
  let i = start;
  while (i < end) {
    let b = bytes[i] as number;
    if (b === SPACE || b === TAB) {
      i++;
      continue;
    }
    const fs = i;
    while (i < end && (b = bytes[i] as number) !== SPACE && b !== TAB) i++;
    if (nf === 0) {
      f0s = fs;
      f0e = i;
    } else if (nf === 1) {
      f1s = fs;
      f1e = i;
    } else if (nf === 2) {
      f2s = fs;
      f2e = i;
    } else if (nf === 3) {
      f3s = fs;
      f3e = i;
    } else if (nf === 4) {
      f4s = fs;
      f4e = i;
    }
    if (++nf === MAX_FIELDS) break; // more arguments than any verb takes: enough to say so
  }
  if (nf === 0) return undefined;
  const args = nf - 1;
  switch (f0e - f0s) {
    case 3:
      if (verbIs(bytes, f0s, f0e, 'get')) {
        if (args !== 1) return badArgs('usage: GET <name>');
        const name = nameArg(bytes, f1s, f1e, NAME_BIT);
        return name === undefined ? badArgs(`invalid name: ${sanitize(bytes, f1s, f1e)}`) : { kind: 'get', name };
      }
      if (verbIs(bytes, f0s, f0e, 'sub')) {
        if (args < 1 || args > 2) return badArgs('usage: SUB <pattern> [<backlog>]');
        const pattern = nameArg(bytes, f1s, f1e, PATTERN_BIT);
        if (pattern === undefined) return badArgs(`invalid pattern: ${sanitize(bytes, f1s, f1e)}`);
        let backlog: number | undefined;
        if (args === 2 && (backlog = countArg(bytes, f2s, f2e)) < 0) {
          return badArgs(`invalid backlog: ${sanitize(bytes, f2s, f2e)}`);
        }
        return { kind: 'sub', pattern, backlog };
      }
      break;
    case 4:
      if (verbIs(bytes, f0s, f0e, 'ping')) return args === 0 ? PING : badArgs('usage: PING');
      if (verbIs(bytes, f0s, f0e, 'quit')) return args === 0 ? QUIT : badArgs('usage: QUIT');
      if (verbIs(bytes, f0s, f0e, 'auth')) {
        // docs/SECURITY.md, "Tokens on TCP": AUTH <token>; the token is never echoed in a reply.
        if (args !== 1) return badArgs('usage: AUTH <token>');
        const token = tokenArg(bytes, f1s, f1e);
        return token === undefined ? badArgs('invalid token') : { kind: 'auth', token };
      }
      if (verbIs(bytes, f0s, f0e, 'list')) {
        if (args > 1) return badArgs('usage: LIST [<pattern>]');
        if (args === 0) return { kind: 'list', pattern: undefined };
        const pattern = nameArg(bytes, f1s, f1e, PATTERN_BIT);
        return pattern === undefined
          ? badArgs(`invalid pattern: ${sanitize(bytes, f1s, f1e)}`)
          : { kind: 'list', pattern };
      }
      if (verbIs(bytes, f0s, f0e, 'hist')) {
        if (args < 1 || args > 2) return badArgs('usage: HIST <name> [<count>]');
        const name = nameArg(bytes, f1s, f1e, NAME_BIT);
        if (name === undefined) return badArgs(`invalid name: ${sanitize(bytes, f1s, f1e)}`);
        let count: number | undefined;
        if (args === 2 && (count = countArg(bytes, f2s, f2e)) < 1) {
          return badArgs(`invalid count: ${sanitize(bytes, f2s, f2e)}`);
        }
        return { kind: 'hist', name, count };
      }
      break;
    case 5:
      if (verbIs(bytes, f0s, f0e, 'stats')) return args === 0 ? STATS : badArgs('usage: STATS');
      if (verbIs(bytes, f0s, f0e, 'range')) {
        // v1.1 (docs/PROTOCOL.md, "History: RANGE"): RANGE <name> <from> <to> [<points>]
        if (args < 3 || args > 4) return badArgs('usage: RANGE <name> <from> <to> [<points>]');
        const name = nameArg(bytes, f1s, f1e, NAME_BIT);
        if (name === undefined) return badArgs(`invalid name: ${sanitize(bytes, f1s, f1e)}`);
        const from = timeArgAt(bytes, f2s, f2e);
        if (from === undefined) return badArgs(`invalid time: ${sanitize(bytes, f2s, f2e)}`);
        const to = timeArgAt(bytes, f3s, f3e);
        if (to === undefined) return badArgs(`invalid time: ${sanitize(bytes, f3s, f3e)}`);
        let points: number | undefined;
        if (args === 4 && (points = parseUnsigned(bytes, f4s, f4e, MAX_RANGE_POINTS)) < 1) {
          return badArgs(`invalid points: ${sanitize(bytes, f4s, f4e)}`);
        }
        return { kind: 'range', name, from, to, points };
      }
      if (verbIs(bytes, f0s, f0e, 'after')) {
        // v1.1 (docs/PROTOCOL.md, "Resume: AFTER"): AFTER <name> <seq>
        if (args !== 2) return badArgs('usage: AFTER <name> <seq>');
        const name = nameArg(bytes, f1s, f1e, NAME_BIT);
        if (name === undefined) return badArgs(`invalid name: ${sanitize(bytes, f1s, f1e)}`);
        const seq = parseUnsigned(bytes, f2s, f2e, MAX_SEQ_ARG);
        if (seq < 0) return badArgs(`invalid seq: ${sanitize(bytes, f2s, f2e)}`);
        return { kind: 'after', name, seq };
      }
      if (verbIs(bytes, f0s, f0e, 'unsub')) {
        if (args > 1) return badArgs('usage: UNSUB [<pattern>]');
        if (args === 0) return { kind: 'unsub', pattern: undefined };
        const pattern = nameArg(bytes, f1s, f1e, PATTERN_BIT);
        return pattern === undefined
          ? badArgs(`invalid pattern: ${sanitize(bytes, f1s, f1e)}`)
          : { kind: 'unsub', pattern };
      }
      break;
  }
  return { kind: 'invalid', code: 'unknown-command', detail: sanitize(bytes, f0s, f0e) };
}

/**
 * Incremental decoder for the TCP command stream (PROTOCOL.md "TCP commands and replies"). Feed it the bytes as
 * they arrive; it returns the commands each chunk completed. The output is the
 * same however the stream is cut into chunks. Never throws on any bytes.
 *
 * - At a command boundary, CR and LF are skipped (empty lines are ignored) and
 *   an `n` or `N` byte is a `poll`, emitted at once without waiting for a line
 *   end (PROTOCOL.md "Legacy poll: n"; `nnn` is three polls, and a CR/LF after an `n` is
 *   skipped as part of the boundary).
 * - Any other byte starts a line that ends at LF; a CR before the LF is
 *   stripped, spaces and tabs separate fields, the verb is case-insensitive.
 * - A line longer than `maxLineBytes` yields one `line-too-long` as soon as the
 *   limit is passed; the rest of that line is discarded without buffering.
 *
 * @example
 * ```ts
 * const decoder = new CommandDecoder();
 * decoder.push(new TextEncoder().encode('n')); // [{ kind: 'poll' }]
 * decoder.push(new TextEncoder().encode('get ra')); // []
 * decoder.push(new TextEncoder().encode('mp\r\nPING\n')); // [{ kind: 'get', name: 'ramp' }, { kind: 'ping' }]
 * ```
 */
export class CommandDecoder {
  readonly #max: number;
  readonly #line: LineBuffer;
  /** Inside a line (its first byte has been seen, its LF not yet). */
  #inLine = false;
  /** Skipping the rest of an over-long line, up to its LF. */
  #discarding = false;

  constructor(options?: CommandDecoderOptions) {
    this.#max = checkMaxLineBytes(options?.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
    this.#line = new LineBuffer(this.#max);
  }

  /** Bytes of an unfinished line currently buffered (never more than `maxLineBytes`). */
  get pendingBytes(): number {
    return this.#line.length;
  }

  /**
   * Decodes the next chunk of the stream.
   *
   * @returns the commands completed by this chunk, in order (often empty).
   * @example
   * ```ts
   * socket.on('data', (chunk) => {
   *   for (const cmd of decoder.push(chunk)) session.handle(cmd);
   * });
   * ```
   */
  push(chunk: Uint8Array): Command[] {
    const out: Command[] = [];
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#discarding) {
        const lf = chunk.indexOf(LF, i);
        if (lf < 0) break;
        this.#discarding = false;
        i = lf + 1;
        continue;
      }
      if (!this.#inLine) {
        const b = chunk[i] as number;
        if (b === CR || b === LF) {
          i++;
          continue;
        }
        if (b === LOWER_N || b === UPPER_N) {
          // PROTOCOL.md "Legacy poll: n": answered at once, without waiting for a line end.
          out.push(POLL);
          i++;
          continue;
        }
        this.#inLine = true;
      }
      const lf = chunk.indexOf(LF, i);
      const segmentEnd = lf < 0 ? n : lf;
      if (this.#line.length + (segmentEnd - i) > this.#max) {
        out.push({ kind: 'invalid', code: 'line-too-long', detail: `line exceeds ${this.#max} bytes` });
        this.#line.length = 0;
        this.#inLine = false;
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
      let cmd: Command | undefined;
      if (this.#line.length === 0) {
        cmd = parseLine(chunk, i, lf); // whole line in this chunk: parse in place
      } else {
        this.#line.append(chunk, i, lf);
        cmd = parseLine(this.#line.bytes, 0, this.#line.length);
        this.#line.length = 0;
      }
      if (cmd !== undefined) out.push(cmd);
      this.#inLine = false;
      i = lf + 1;
    }
    return out;
  }
}

/**
 * Encodes a command as a client sends it (PROTOCOL.md "TCP commands and replies"): `poll` is the bare byte `n`
 * with no newline, as the original lector sends it; every other command is
 * one line ending in `\n`.
 *
 * @throws TypeError for an `invalid` command; RangeError for a bad name,
 *   pattern, count, time, points or seq.
 * @example
 * ```ts
 * encodeCommand({ kind: 'poll' }); // 'n'
 * encodeCommand({ kind: 'sub', pattern: 'plant1/*', backlog: 20 }); // 'SUB plant1/* 20\n'
 * encodeCommand({ kind: 'range', name: 'ramp', from: { kind: 'ago', amount: 15, unit: 'm' }, to: { kind: 'now' }, points: 60 });
 * // 'RANGE ramp -15m now 60\n'
 * ```
 */
export function encodeCommand(cmd: Command): string {
  switch (cmd.kind) {
    case 'poll':
      return 'n';
    case 'ping':
      return 'PING\n';
    case 'stats':
      return 'STATS\n';
    case 'quit':
      return 'QUIT\n';
    case 'auth':
      if (!isValidToken(cmd.token)) {
        throw new RangeError(`a token must be 1 to ${MAX_TOKEN_BYTES} printable ASCII characters without blanks`);
      }
      return `AUTH ${cmd.token}\n`;
    case 'get':
      return `GET ${checkName(cmd.name)}\n`;
    case 'list':
      return cmd.pattern === undefined ? 'LIST\n' : `LIST ${checkPattern(cmd.pattern)}\n`;
    case 'hist':
      return `HIST ${checkName(cmd.name)}${cmd.count === undefined ? '' : ` ${checkCount(cmd.count, 1)}`}\n`;
    case 'sub':
      return `SUB ${checkPattern(cmd.pattern)}${cmd.backlog === undefined ? '' : ` ${checkCount(cmd.backlog, 0)}`}\n`;
    case 'unsub':
      return cmd.pattern === undefined ? 'UNSUB\n' : `UNSUB ${checkPattern(cmd.pattern)}\n`;
    case 'range': {
      const points = cmd.points === undefined ? '' : ` ${checkPoints(cmd.points)}`;
      return `RANGE ${checkName(cmd.name)} ${formatTimeArg(cmd.from)} ${formatTimeArg(cmd.to)}${points}\n`;
    }
    case 'after':
      return `AFTER ${checkName(cmd.name)} ${checkSeq(cmd.seq)}\n`;
    case 'invalid':
      throw new TypeError(`cannot encode an invalid command (${cmd.code})`);
    default:
      throw new TypeError(`unknown command kind ${JSON.stringify((cmd as { kind: unknown }).kind)}`);
  }
}

function checkName(name: string): string {
  if (!isValidName(name)) throw new RangeError(`invalid sensor name ${JSON.stringify(name)}`);
  return name;
}

function checkPattern(pattern: string): string {
  if (!isValidPattern(pattern)) throw new RangeError(`invalid pattern ${JSON.stringify(pattern)}`);
  return pattern;
}

function checkCount(count: number, min: number): number {
  if (!Number.isInteger(count) || count < min || count > MAX_COUNT_ARG) {
    throw new RangeError(`count must be an integer in [${min}, ${MAX_COUNT_ARG}], got ${String(count)}`);
  }
  return count;
}

function checkPoints(points: number): number {
  if (!Number.isInteger(points) || points < 1 || points > MAX_RANGE_POINTS) {
    throw new RangeError(`points must be an integer in [1, ${MAX_RANGE_POINTS}], got ${String(points)}`);
  }
  return points;
}

function checkSeq(seq: number): number {
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ_ARG) {
    throw new RangeError(`seq must be an integer in [0, ${MAX_SEQ_ARG}], got ${String(seq)}`);
  }
  return seq;
}
