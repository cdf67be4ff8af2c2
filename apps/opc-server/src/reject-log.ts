/**
 * Turns the server's `reject` events into a few log lines a person can act
 * on, never one per datagram.
 *
 * How it works: the first line dropped for each reason is logged at once at
 * `warn`, with a printable sample, its sender and a hint (the line forms are
 * in docs/PROTOCOL.md, 'UDP ingest'). Later drops for a reason already
 * reported are only counted; the first of them starts one timer, and when it
 * fires every reason counted since is logged as one line with its count and
 * a sample, and the counts start again. So a sensor that sends nothing but
 * bad lines costs one log line per reason per interval.
 */
import type { OpcServerEvents } from '@opc-lite/opc-server';

/** What the server's `reject` event carries: the reason, the line, and the sender (`address:port`). */
export type RejectInfo = Readonly<OpcServerEvents['reject'][0]>;
type RejectReason = RejectInfo['reason'];

/** The one logger method used, with pino's shape. */
export interface WarnLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface RejectLogOptions {
  /** How often counts of further rejects are logged. Default 60 000 (a minute). */
  readonly intervalMs?: number;
  /** Longest sample, in characters of the line, before it is cut with `…`. Default 80. */
  readonly sampleChars?: number;
}

export const REJECT_LOG_DEFAULTS = Object.freeze({ intervalMs: 60_000, sampleChars: 80 });

interface Pending {
  count: number;
  /** The first line of the interval, kept as the example. */
  line: string;
  remote: string | undefined;
}

/**
 * Rate-limited logging of rejected UDP lines.
 *
 * @example
 * ```ts
 * const rejects = new RejectLog(log);
 * server.on('reject', (info) => rejects.record(info));
 * // on shutdown, so that the last counts are not lost:
 * rejects.close();
 * ```
 */
export class RejectLog {
  readonly #logger: WarnLogger;
  readonly #intervalMs: number;
  readonly #sampleChars: number;
  readonly #reported = new Set<RejectReason>();
  readonly #pending = new Map<RejectReason, Pending>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(logger: WarnLogger, options: RejectLogOptions = {}) {
    const intervalMs = options.intervalMs ?? REJECT_LOG_DEFAULTS.intervalMs;
    const sampleChars = options.sampleChars ?? REJECT_LOG_DEFAULTS.sampleChars;
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
      throw new RangeError(`intervalMs must be a positive integer (got ${String(intervalMs)})`);
    }
    if (!Number.isSafeInteger(sampleChars) || sampleChars < 1) {
      throw new RangeError(`sampleChars must be a positive integer (got ${String(sampleChars)})`);
    }
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#sampleChars = sampleChars;
  }

  /** One dropped line. Logs at most one line now (the first of its reason); otherwise only counts. */
  record(info: RejectInfo): void {
    if (this.#closed) return;
    const { reason, line, remote } = info;
    if (!this.#reported.has(reason)) {
      this.#reported.add(reason);
      const sample = printableSample(line, this.#sampleChars);
      const hint = rejectHint(reason, line);
      this.#logger.warn(
        { reason, sample, from: remote, hint },
        `UDP line rejected for ${reason}: ${sample}${from(remote)}` +
          `${hint === undefined ? '' : `: ${hint}`}` +
          ` (further ${reason} lines are counted and logged every ${describeInterval(this.#intervalMs)})`,
      );
      return;
    }
    const pending = this.#pending.get(reason);
    if (pending !== undefined) {
      pending.count++;
      return;
    }
    this.#pending.set(reason, { count: 1, line, remote });
    if (this.#timer === undefined) {
      this.#timer = setTimeout(
        () => this.#flush(`in the last ${describeInterval(this.#intervalMs)}`),
        this.#intervalMs,
      );
      this.#timer.unref();
    }
  }

  /** Logs what is still counted (one line per reason) and stops: later records are ignored. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#flush('since the last report');
    this.#closed = true;
  }

  /** Logs the counts gathered since the last flush, one line per reason, and starts counting afresh. */
  #flush(when: string): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [reason, { count, line, remote }] of this.#pending) {
      const sample = printableSample(line, this.#sampleChars);
      const hint = rejectHint(reason, line);
      this.#logger.warn(
        { reason, count, sample, from: remote, hint },
        `${count} more UDP ${count === 1 ? 'line' : 'lines'} rejected for ${reason} ${when}, ` +
          `e.g. ${sample}${from(remote)}${hint === undefined ? '' : `: ${hint}`}`,
      );
    }
    this.#pending.clear();
  }
}

const from = (remote: string | undefined): string => (remote === undefined ? '' : ` from ${remote}`);

const describeInterval = (ms: number): string =>
  ms === 60_000 ? 'minute' : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;

/**
 * The line quoted, with anything outside printable ASCII escaped (`\t`,
 * `\x00`, `\xf1`: the line is latin1 text, one character per byte) and cut
 * after `maxChars` characters of the line.
 *
 * @example
 * ```ts
 * printableSample('temp=21.5', 80); // '"temp=21.5"'
 * printableSample('a\tb\u0000', 80); // '"a\\tb\\x00"'
 * ```
 */
export function printableSample(line: string, maxChars: number): string {
  const cut = line.length > maxChars;
  let out = '"';
  for (const ch of cut ? line.slice(0, maxChars) : line) {
    const code = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code >= 0x20 && code <= 0x7e) out += ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else out += code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  out += '"';
  return cut ? `${out}… (${line.length} characters)` : out;
}

/** docs/PROTOCOL.md, 'Readings, names and numbers': a decimal number, as the parser reads it. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NAME = /^[A-Za-z0-9_./-]{1,128}$/;

/**
 * What the sender probably meant, for a line dropped for `reason`, or
 * undefined when there is nothing more to say than the reason. The forms and
 * their rules are in docs/PROTOCOL.md, 'UDP ingest' and 'Rejects'.
 *
 * @example
 * ```ts
 * rejectHint('bad-number', 'temp=21.5');
 * // 'this looks like key=value; send "temp 21.5" (name, space, value), or InfluxDB line protocol with a measurement before the fields, e.g. "temp value=21.5"'
 * rejectHint('bad-timestamp', 'temp 21.5 1764316800125');
 * // 'timestamps are Unix seconds; 1764316800125 looks like milliseconds (send 1764316800.125)'
 * ```
 */
export function rejectHint(reason: RejectReason, line: string): string | undefined {
  const fields = line.trim().split(/[ \t]+/);
  switch (reason) {
    case 'bad-number':
    case 'bad-name': {
      if (line.includes('=')) {
        const pair = /^([^=\s]+)=(\S+)$/.exec(fields[0] ?? '');
        const example =
          fields.length === 1 && pair !== null && NAME.test(pair[1]!) && DECIMAL.test(pair[2]!)
            ? `"${pair[1]} ${pair[2]}"`
            : '"<name> <value>", e.g. "temp 21.5"';
        return `this looks like key=value; send ${example} (name, space, value), or InfluxDB line protocol with a measurement before the fields, e.g. "temp value=21.5"`;
      }
      if (reason === 'bad-name') return 'sensor names are 1 to 128 characters of A-Z a-z 0-9 _ . - /';
      const value = fields.length === 1 ? fields[0]! : (fields[1] ?? '');
      if (value.includes(',') && DECIMAL.test(value.replace(',', '.'))) {
        return `the decimal separator is a point: ${value.replace(',', '.')}, not ${value}`;
      }
      if (fields.length === 1 && !line.includes(':')) {
        return (
          'a line of one field is a bare value for the sensor "default"; ' +
          'for a named sensor send "<name> <value>", e.g. "temp 21.5"'
        );
      }
      return 'the value must be a decimal number such as 21.5, -0.3 or 1e-5 (no units, hex, nan or inf)';
    }
    case 'bad-timestamp': {
      const statsd = /\|T([^|]*)/.exec(line);
      const text = statsd === null ? (fields[2] ?? '') : (statsd[1] ?? '');
      const seconds = DECIMAL.test(text) ? Number(text) : Number.NaN;
      if (seconds >= 1e11 && seconds < 1e14 && /^\d+$/.test(text)) {
        const fixed = `${text.slice(0, -3)}.${text.slice(-3)}`;
        return `timestamps are Unix seconds; ${text} looks like milliseconds (send ${fixed})`;
      }
      if (seconds >= 1e14) return `timestamps are Unix seconds; ${text} looks like micro- or nanoseconds`;
      return 'timestamps are Unix seconds (a fraction is allowed), or -1 for the time the server receives the line';
    }
    case 'bad-sequence':
      return 'the fourth field, the sender-seq, must be a whole number from 0 up to 2^53-1';
    case 'bad-syntax':
      if (fields.length > 4) return 'a native line has 2 to 4 fields: <name> <value> [<unix-seconds> [<sender-seq>]]';
      if (line.includes(':')) {
        return 'a line with ":" is read as a StatsD gauge, <name>:<value>|g with no blanks; for time of day use Unix seconds';
      }
      return undefined;
    case 'unsupported-type':
      return 'only StatsD gauges (|g) are stored; counters, timers and sets are not readings';
    case 'line-too-long':
      return 'the line is longer than --max-line-bytes';
    case 'too-many-sensors':
      return 'the server holds --max-sensors sensors already; readings of new sensors are dropped (the sample is the sensor name)';
  }
}
