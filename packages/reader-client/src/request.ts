/**
 * One request waiting for its reply, and how replies complete it (docs/PROTOCOL.md,
 * "TCP commands and replies").
 *
 * The server answers commands in order, so the client keeps its requests in a
 * FIFO and hands every reply line that is not a `PUB` push to the oldest one.
 * A request knows which lines may answer it: one line for `n`, `PING`, `GET`,
 * `SUB`, `UNSUB`, `AFTER` and `QUIT`; a run of lines closed by `END` for
 * `LIST`, `HIST`, `RANGE` and `STATS`. An `ERR` line answers any request. A request that timed out or
 * was aborted stays in the FIFO, settled, and still consumes its reply, so the
 * requests behind it stay matched to theirs.
 */
import { isErrorCode, ProtocolError } from '@opc-lite/protocol';
import type { Bucket, Reading, Reply, SensorSummary } from '@opc-lite/protocol';
import { UnexpectedReplyError } from './errors.js';

/** The shape of reply a request waits for. */
export type Expect = 'value' | 'pong' | 'val' | 'sensors' | 'vals' | 'range' | 'buckets' | 'stats' | 'ok' | 'bye';

/**
 * The readings of a `RANGE` without points: in (timestamp, seq) order, and,
 * when the server cut the reply at its cap, where to continue.
 *
 * @example
 * ```ts
 * const { readings, more } = await client.range('ramp', '-15m', 'now');
 * if (more !== undefined) console.log(`cut: continue from ${more}`);
 * ```
 */
export interface RangeReadings {
  readonly readings: Reading[];
  /** The timestamp a `RANGE` from which continues the reply without repeating a reading; undefined when complete. */
  readonly more: number | undefined;
}

/**
 * The buckets of a `RANGE` with points: only those holding readings, in time order.
 *
 * @example
 * ```ts
 * const { buckets } = await client.range('ramp', '-1h', 'now', { points: 60 });
 * for (const b of buckets) console.log(new Date(b.startMs), b.mean);
 * ```
 */
export interface RangeBuckets {
  readonly buckets: Bucket[];
}

/** What a reply did to the request at the head of the FIFO. */
export type Step = 'more' | 'done' | 'mismatch';

/** Values of a STATS reply: numbers where the text is a decimal number, else the text. */
export type StatsRecord = Record<string, number | string>;

const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** The reply text, back as one line, for error messages. */
export function describeReply(reply: Reply): string {
  switch (reply.kind) {
    case 'value':
      return String(reply.value);
    case 'unknown':
      return reply.line;
    case 'err':
      return `ERR ${reply.code} ${reply.detail}`.trimEnd();
    case 'ok':
      return `OK ${reply.verb} ${reply.detail}`;
    case 'val':
    case 'pub':
      return `${reply.kind.toUpperCase()} ${reply.reading.name} ${reply.reading.value} ${reply.reading.timestampMs} ${reply.reading.seq}`;
    case 'sensor':
      return `SENSOR ${reply.summary.name}`;
    case 'bucket':
      return `BUCKET ${reply.bucket.name} ${reply.bucket.startMs}`;
    case 'more':
      return `MORE ${reply.timestampMs}`;
    case 'stat':
      return `STAT ${reply.key} ${reply.value}`;
    default:
      return reply.kind.toUpperCase();
  }
}

/**
 * The error for an `ERR <code> <detail>` reply: a {@link ProtocolError} with
 * the server's code, or an {@link UnexpectedReplyError} for a code outside the
 * documented list.
 */
export function errorFromReply(reply: Extract<Reply, { kind: 'err' }>): Error {
  if (isErrorCode(reply.code)) return new ProtocolError(reply.code, reply.detail);
  return new UnexpectedReplyError(`server error with an unknown code: ${reply.code}`, describeReply(reply));
}

export class PendingRequest<T = unknown> {
  /** The encoded command, as written to the socket. */
  readonly line: string;
  readonly expect: Expect;
  readonly promise: Promise<T>;
  /** Written on the current connection (its reply is due). */
  written = false;
  /** Resolved or rejected; a settled request may still be waiting to consume its reply. */
  settled = false;
  /** Called once when the request settles: clears its timer and abort listener. */
  cleanup: (() => void) | undefined;
  /** Called with the reply that completes a SUB/UNSUB, before the promise resolves. */
  onDone: ((reply: Reply) => void) | undefined;

  private items: unknown[] = [];
  private more: number | undefined;
  private resolveFn!: (value: T) => void;
  private rejectFn!: (reason: unknown) => void;

  constructor(line: string, expect: Expect) {
    this.line = line;
    this.expect = expect;
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup?.();
    this.resolveFn(value);
  }

  reject(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup?.();
    this.rejectFn(reason);
  }

  /**
   * Feeds one non-`PUB` reply line. Returns `'more'` while a multi-line reply
   * is still open, `'done'` when the request is complete (and settled), and
   * `'mismatch'` when the line cannot answer this request (the request is
   * rejected with an {@link UnexpectedReplyError}).
   */
  accept(reply: Reply): Step {
    if (reply.kind === 'err') {
      this.reject(errorFromReply(reply));
      return 'done';
    }
    switch (this.expect) {
      case 'value':
        return reply.kind === 'value' ? this.finish(reply, reply.value) : this.mismatch(reply);
      case 'pong':
        return reply.kind === 'pong' ? this.finish(reply, undefined) : this.mismatch(reply);
      case 'bye':
        return reply.kind === 'bye' ? this.finish(reply, undefined) : this.mismatch(reply);
      case 'val':
        return reply.kind === 'val' ? this.finish(reply, reply.reading) : this.mismatch(reply);
      case 'ok':
        return reply.kind === 'ok' ? this.finish(reply, reply.detail) : this.mismatch(reply);
      case 'sensors':
        return this.collect(reply, 'sensor', (r) => (r.kind === 'sensor' ? r.summary : undefined));
      case 'vals':
        return this.collect(reply, 'val', (r) => (r.kind === 'val' ? r.reading : undefined));
      case 'range':
        // MORE comes last before END: the reply was cut at the server's cap.
        if (reply.kind === 'more' && this.more === undefined) {
          this.more = reply.timestampMs;
          return 'more';
        }
        if (reply.kind === 'val' && this.more !== undefined) return this.mismatch(reply);
        return this.collect(reply, 'val', (r) => (r.kind === 'val' ? r.reading : undefined));
      case 'buckets':
        return this.collect(reply, 'bucket', (r) => (r.kind === 'bucket' ? r.bucket : undefined));
      case 'stats':
        return this.collect(reply, 'stat', (r) => (r.kind === 'stat' ? r : undefined));
    }
  }

  private collect(
    reply: Reply,
    kind: 'sensor' | 'val' | 'bucket' | 'stat',
    pick: (r: Reply) => SensorSummary | Reading | Bucket | Extract<Reply, { kind: 'stat' }> | undefined,
  ): Step {
    if (reply.kind === 'end') return this.finish(reply, this.result());
    if (reply.kind !== kind) return this.mismatch(reply);
    // A settled request only counts lines until END: nobody reads them.
    if (!this.settled) this.items.push(pick(reply));
    return 'more';
  }

  private result(): unknown {
    switch (this.expect) {
      case 'stats':
        return toStats(this.items);
      case 'range':
        return { readings: this.items as Reading[], more: this.more } satisfies RangeReadings;
      case 'buckets':
        return { buckets: this.items as Bucket[] } satisfies RangeBuckets;
      default:
        return this.items;
    }
  }

  private finish(reply: Reply, value: unknown): Step {
    this.onDone?.(reply);
    this.resolve(value as T);
    return 'done';
  }

  private mismatch(reply: Reply): Step {
    const line = describeReply(reply);
    this.reject(new UnexpectedReplyError(`unexpected reply to ${this.line.trim() || 'n'}: ${line}`, line));
    return 'mismatch';
  }
}

function toStats(items: unknown[]): StatsRecord {
  const record: StatsRecord = {};
  for (const item of items as Extract<Reply, { kind: 'stat' }>[]) {
    record[item.key] = DECIMAL.test(item.value) ? Number(item.value) : item.value;
  }
  return record;
}
