/**
 * The TCP client (docs/PROTOCOL.md, "TCP commands and replies").
 *
 * How it works: one socket; every request is encoded and written at once
 * (pipelined, writes of one tick coalesced with cork/uncork) and appended to a
 * FIFO of {@link PendingRequest}s. Reply lines are decoded incrementally;
 * `PUB` lines go to the subscriptions whose pattern matches the sensor name,
 * every other line to the oldest pending request, which completes on its one
 * line or on `END` for multi-line replies. When the connection drops, the
 * requests written on it are rejected with a {@link ConnectionError}; with
 * `reconnect`, the client waits an exponential, jittered backoff, connects
 * again, writes the requests issued meanwhile and subscribes again every live
 * subscription, resuming each from the last seq it saw of each sensor
 * (`AFTER` lines before the `SUB`, docs/PROTOCOL.md "Resume: AFTER"), so that
 * nothing the server still holds is missed and nothing is repeated.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  encodeCommand,
  formatTimeArg,
  isValidName,
  isValidPattern,
  MAX_RANGE_POINTS,
  parseTimeArg,
  ProtocolError,
  ReplyDecoder,
} from '@opc-lite/protocol';
import type { Command, Reading, Reply, SensorSummary, TimeArg } from '@opc-lite/protocol';
import { abortReason, ConnectionError, TimeoutError, toError, UnexpectedReplyError } from './errors.js';
import { Fifo } from './fifo.js';
import { backoffDelayMs, checkNumber, resolveOptions } from './options.js';
import type { ConnectOptions, ResolvedOptions } from './options.js';
import { describeReply, errorFromReply, PendingRequest } from './request.js';
import type { Expect, RangeBuckets, RangeReadings, StatsRecord } from './request.js';
import { Subscription } from './subscription.js';
import { isLastingTlsError, openSocket, TlsError, tlsErrorOf } from './tls.js';
import type { SubscribeOptions, SubscriptionHost } from './subscription.js';

/**
 * Per-call options of every request method.
 *
 * @example
 * ```ts
 * await client.get('ramp', { signal: AbortSignal.timeout(500) });
 * await client.list('*', { timeoutMs: 2000 });
 * ```
 */
export interface RequestOptions {
  /** Aborting it rejects the call with the signal's reason. */
  signal?: AbortSignal;
  /** Overrides the client's `requestTimeoutMs` for this call. */
  timeoutMs?: number;
}

/**
 * A time for {@link OpcClient.range}: a Unix epoch millisecond or a `Date`;
 * a string as `RANGE` writes it (`'-15m'`, `'-7d'`, `'now'`, `'1764316800125'`);
 * or a `TimeArg`. Relative times are resolved by the server, with its clock.
 *
 * @example
 * ```ts
 * const from: TimeInput = '-6h';
 * const to: TimeInput = new Date();
 * ```
 */
export type TimeInput = number | Date | string | TimeArg;

/**
 * Options of {@link OpcClient.range}: with `points`, the server answers
 * buckets instead of readings.
 *
 * @example
 * ```ts
 * const { buckets } = await client.range('ramp', '-1h', 'now', { points: 60, timeoutMs: 5000 });
 * ```
 */
export interface RangeOptions extends RequestOptions {
  /** Equal-width buckets over the span, 1 to 100 000 (and at most the server's `maxRangeReply`). */
  points?: number | undefined;
}

/**
 * Where the client's connection stands.
 * `connecting` (first connect), `connected`, `reconnecting` (waiting or
 * trying again after a drop), `closed` (for good).
 *
 * @example
 * ```ts
 * if (client.state === 'reconnecting') showBanner('server unreachable, retrying');
 * ```
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * Events of {@link OpcClient}. `disconnect` carries why the connection ended:
 * the `ERR` the server sent before closing (a `ProtocolError` such as
 * `shutting-down` or `idle-timeout`), the socket error, or nothing for a
 * plain close. `error` is only emitted when someone listens to it (an
 * unlistened `error` would otherwise throw): it reports what no call is
 * waiting for, such as a line that fits no request, or the final failure to
 * reconnect.
 *
 * @example
 * ```ts
 * client.on('reconnecting', ({ attempt, delayMs }) => console.log(`retry #${attempt} in ${delayMs} ms`));
 * ```
 */
export interface OpcClientEvents {
  connect: [info: { host: string; port: number }];
  disconnect: [info: { error: Error | undefined }];
  reconnecting: [info: { attempt: number; delayMs: number }];
  error: [error: Error];
  close: [];
}

const MAX_COUNT = 2 ** 31 - 1;

/**
 * A connected client. Create one with {@link connect}.
 *
 * @example
 * ```ts
 * const client = await connect({ port: 7330 });
 * const reading = await client.get('ramp');
 * await client.close();
 * ```
 */
export class OpcClient extends EventEmitter<OpcClientEvents> implements SubscriptionHost, AsyncDisposable {
  /** The server's host, as given. */
  readonly host: string;
  /** The server's TCP port. */
  readonly port: number;

  readonly #options: ResolvedOptions;
  readonly #pending = new Fifo<PendingRequest>();
  readonly #subscriptions = new Set<Subscription>();
  /** Subscriptions whose UNSUB has been sent. */
  readonly #unsubscribed = new WeakSet<Subscription>();
  #state: ConnectionState = 'connecting';
  /** The answer to this connection's `AUTH`, when the client has a token. */
  #authReply: Promise<unknown> | undefined;
  #socket: net.Socket | undefined;
  #decoder = new ReplyDecoder();
  #corked = false;
  #closing: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** An `ERR` the server sent unasked on the current connection (it closes after it). */
  #serverReason: Error | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /** @internal Use {@link connect}. */
  constructor(options: ConnectOptions = {}) {
    super();
    this.#options = resolveOptions(options);
    this.host = this.#options.host;
    this.port = this.#options.port;
    if (options.signal) {
      this.#signal = options.signal;
      this.#onAbort = () => void this.close();
      options.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Where the connection stands. */
  get state(): ConnectionState {
    return this.#state;
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** Whether a connection is up right now. */
  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** Requests written and awaiting a reply, or waiting for a connection. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /** The live subscriptions. */
  get subscriptions(): readonly Subscription[] {
    return [...this.#subscriptions];
  }

  /**
   * @internal Makes the first connection (retrying with backoff when
   * `reconnect` is on). Rejects and closes the client when it gives up.
   */
  async open(): Promise<void> {
    if (this.#signal?.aborted) {
      await this.close();
      throw abortReason(this.#signal);
    }
    try {
      await this.#connectLoop(false);
      // A refused token fails the first connect rather than the first request.
      await this.#authReply?.catch((error: unknown) => {
        if (error instanceof ProtocolError) throw error;
      });
    } catch (error) {
      const reason = this.#signal?.aborted ? abortReason(this.#signal) : toError(error);
      // Whatever was issued meanwhile (createClient) learns why.
      this.#fail(reason);
      await this.close();
      throw reason;
    }
  }

  /**
   * The legacy poll (docs/PROTOCOL.md, "Legacy poll"): sends `n`, resolves
   * with the latest value of sensor `default` — `NaN` when the server answers
   * `nan` (no reading yet).
   *
   * @example
   * ```ts
   * const value = await client.poll();
   * if (!Number.isNaN(value)) console.log(value);
   * ```
   */
  poll(options?: RequestOptions): Promise<number> {
    return this.#request<number>({ kind: 'poll' }, 'value', options);
  }

  /**
   * Round trip to the server (`PING` → `PONG`); resolves with the time it
   * took, in ms.
   *
   * @example
   * ```ts
   * console.log(`rtt ${(await client.ping()).toFixed(2)} ms`);
   * ```
   */
  async ping(options?: RequestOptions): Promise<number> {
    const start = performance.now();
    await this.#request<undefined>({ kind: 'ping' }, 'pong', options);
    return performance.now() - start;
  }

  /**
   * The latest reading of a sensor (`GET`). Rejects with a `ProtocolError`
   * whose code is `'not-found'` when the server has no such sensor.
   *
   * @example
   * ```ts
   * const { value, timestampMs, seq } = await client.get('ramp');
   * ```
   */
  get(name: string, options?: RequestOptions): Promise<Reading> {
    const bad = checkName(name);
    if (bad) return Promise.reject(bad);
    return this.#request<Reading>({ kind: 'get', name }, 'val', options);
  }

  /**
   * The sensors the server knows (`LIST`), optionally only those matching a
   * pattern (`*` matches any run of characters).
   *
   * @example
   * ```ts
   * for (const s of await client.list('ramp*')) console.log(s.name, s.count, s.lastValue);
   * ```
   */
  list(pattern?: string, options?: RequestOptions): Promise<SensorSummary[]> {
    if (pattern !== undefined) {
      const bad = checkPattern(pattern);
      if (bad) return Promise.reject(bad);
    }
    return this.#request<SensorSummary[]>({ kind: 'list', pattern }, 'sensors', options);
  }

  /**
   * Up to `count` recent readings of a sensor, oldest first (`HIST`); the
   * server's default count when omitted.
   *
   * @example
   * ```ts
   * const last20 = await client.history('ramp', 20);
   * ```
   */
  history(name: string, count?: number, options?: RequestOptions): Promise<Reading[]> {
    const bad = checkName(name) ?? (count === undefined ? undefined : checkCount('count', count, 1));
    if (bad) return Promise.reject(bad);
    return this.#request<Reading[]>({ kind: 'hist', name, count }, 'vals', options);
  }

  /**
   * The readings of a sensor between two times, inclusive, in (timestamp,
   * seq) order (`RANGE`, protocol v1.1). The server caps one reply (its
   * `maxRangeReply`): then `more` is the timestamp to continue from, and
   * {@link rangeAll} follows it for you. With `points`, the span is cut into
   * that many equal buckets and the non-empty ones are returned, each with
   * count, min, max, mean, first and last value. Rejects with a RangeError
   * for a bad name, time or points, and with a `ProtocolError` (`not-found`,
   * or `bad-args` when `from` is after `to` on the server's clock).
   *
   * @example
   * ```ts
   * const { readings, more } = await client.range('ramp', '-15m', 'now');
   * const { buckets } = await client.range('ramp', Date.now() - 86_400_000, Date.now(), { points: 24 });
   * ```
   */
  range(
    name: string,
    from: TimeInput,
    to: TimeInput,
    options?: RequestOptions & { points?: undefined },
  ): Promise<RangeReadings>;
  range(
    name: string,
    from: TimeInput,
    to: TimeInput,
    options: RequestOptions & { points: number },
  ): Promise<RangeBuckets>;
  range(name: string, from: TimeInput, to: TimeInput, options?: RangeOptions): Promise<RangeReadings | RangeBuckets>;
  range(
    name: string,
    from: TimeInput,
    to: TimeInput,
    options: RangeOptions = {},
  ): Promise<RangeReadings | RangeBuckets> {
    let command: Command;
    try {
      const bad = checkName(name) ?? (options.points === undefined ? undefined : checkPoints(options.points));
      if (bad) throw bad;
      command = { kind: 'range', name, from: toTimeArg('from', from), to: toTimeArg('to', to), points: options.points };
    } catch (error) {
      return Promise.reject(toError(error));
    }
    return this.#request<RangeReadings | RangeBuckets>(
      command,
      options.points === undefined ? 'range' : 'buckets',
      options,
    );
  }

  /**
   * Every reading of a sensor between two times, as an async iterable: one
   * `RANGE` after another, each continuing where the server cut the last
   * (its `MORE`), so that nothing is repeated or skipped. Each request has
   * its own timeout; the signal stops the whole walk. A relative `to` is
   * resolved again by every request, so the end moves with the server's
   * clock; give an absolute time for a fixed one.
   *
   * @example
   * ```ts
   * for await (const r of client.rangeAll('ramp', '-7d', 'now')) console.log(r.timestampMs, r.value);
   * ```
   */
  async *rangeAll(
    name: string,
    from: TimeInput,
    to: TimeInput,
    options: RequestOptions = {},
  ): AsyncGenerator<Reading, void, undefined> {
    const end = toTimeArg('to', to);
    let start = toTimeArg('from', from);
    for (;;) {
      const { readings, more } = await this.range(name, start, end, { ...options, points: undefined });
      yield* readings;
      if (more === undefined) return;
      start = { kind: 'at', ms: more };
    }
  }

  /**
   * The server's counters (`STATS`): numbers where the value is numeric,
   * else strings.
   *
   * @example
   * ```ts
   * const { readings_accepted, clients } = await client.stats();
   * ```
   */
  stats(options?: RequestOptions): Promise<StatsRecord> {
    return this.#request<StatsRecord>({ kind: 'stats' }, 'stats', options);
  }

  /**
   * Subscribes to the sensors matching `pattern` (`SUB`), including sensors
   * that appear later. Returns at once; iterate the subscription with
   * `for await`. After a reconnect the client subscribes again by itself.
   * Throws a RangeError for an invalid pattern or backlog.
   *
   * @example
   * ```ts
   * for await (const r of client.subscribe('ramp*', { backlog: 20 })) {
   *   console.log(r.name, r.value);
   * }
   * ```
   */
  subscribe(pattern: string, options: SubscribeOptions = {}): Subscription {
    const bad =
      checkPattern(pattern) ?? (options.backlog === undefined ? undefined : checkCount('backlog', options.backlog, 0));
    if (bad) throw bad;
    const capacity = checkNumber(
      'queueCapacity',
      options.queueCapacity ?? this.#options.subscriptionQueueCapacity,
      (v) => Number.isInteger(v) && v >= 1,
      'an integer >= 1',
    );
    const sub = new Subscription(this, pattern, options.backlog ?? 0, capacity, options.signal);
    if (this.#isClosed()) {
      sub.end({ drain: false, error: new ConnectionError('the client is closed', { code: 'ECLOSED' }) });
      return sub;
    }
    if (sub.ended) return sub;
    this.#subscriptions.add(sub);
    if (this.#state === 'connected') this.#sendSub(sub, sub.backlog);
    return sub;
  }

  /** @internal Called by a subscription that ended: forget it, and `UNSUB` when no other uses its pattern. */
  async release(sub: Subscription): Promise<void> {
    this.#subscriptions.delete(sub);
    if (this.#state !== 'connected' || this.#patternInUse(sub.pattern) || this.#unsubscribed.has(sub)) return;
    this.#unsubscribed.add(sub);
    await this.#internal({ kind: 'unsub', pattern: sub.pattern }, 'ok');
  }

  /**
   * Closes the client: ends every subscription, lets the requests already
   * written finish, sends `QUIT` and waits for the server to close the
   * connection (at most `closeTimeoutMs`, then the socket is destroyed). Requests not yet written are
   * rejected with a {@link ConnectionError} (`code: 'ECLOSED'`). Idempotent:
   * every call returns the same promise.
   *
   * @example
   * ```ts
   * await client.close();
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  /** `await using client = await connect()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #doClose(): Promise<void> {
    const wasConnected = this.#state === 'connected';
    this.#state = 'closed';
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#wake?.();
    for (const sub of this.#subscriptions) sub.end({ drain: true });
    this.#subscriptions.clear();
    const closed = new ConnectionError('the client is closed', { code: 'ECLOSED' });
    this.#rejectPending(closed, (request) => !request.written);
    const socket = this.#socket;
    if (socket && !socket.destroyed) {
      const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      if (wasConnected) {
        const timer = setTimeout(() => socket.destroy(), this.#options.closeTimeoutMs);
        const quit = this.#internal({ kind: 'quit' }, 'bye');
        quit.then(
          () => socket.end(),
          () => socket.destroy(),
        );
        await gone;
        clearTimeout(timer);
      } else {
        socket.destroy();
        await gone;
      }
    }
    this.#rejectPending(closed, () => true);
    this.emit('close');
  }

  #request<T>(command: Command, expect: Expect, options: RequestOptions = {}): Promise<T> {
    if (this.#isClosed()) {
      return Promise.reject(new ConnectionError('the client is closed', { code: 'ECLOSED' }));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.#pending.size >= this.#options.maxPendingRequests) {
      return Promise.reject(
        new RangeError(`too many pending requests (maxPendingRequests = ${this.#options.maxPendingRequests})`),
      );
    }
    let timeoutMs = this.#options.requestTimeoutMs;
    if (options.timeoutMs !== undefined) {
      try {
        timeoutMs = checkNumber('timeoutMs', options.timeoutMs, (v) => v > 0, 'a number > 0');
      } catch (error) {
        return Promise.reject(toError(error));
      }
    }
    const request = new PendingRequest<T>(encodeCommand(command), expect);
    const timer = setTimeout(() => {
      request.reject(new TimeoutError(`no reply to ${command.kind.toUpperCase()} within ${timeoutMs} ms`, timeoutMs));
    }, timeoutMs);
    const onAbort = (): void => request.reject(abortReason(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    request.cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    this.#enqueue(request as unknown as PendingRequest);
    return request.promise;
  }

  /** A request of the client's own (SUB after reconnect, UNSUB, QUIT): no limit on pending, nobody to reject to. */
  #internal(command: Command, expect: Expect, onDone?: (reply: Reply) => void): Promise<unknown> {
    const request = new PendingRequest(encodeCommand(command), expect);
    request.onDone = onDone;
    const timeoutMs = this.#options.requestTimeoutMs;
    const timer = setTimeout(() => {
      request.reject(new TimeoutError(`no reply to ${command.kind.toUpperCase()} within ${timeoutMs} ms`, timeoutMs));
    }, timeoutMs);
    request.cleanup = () => clearTimeout(timer);
    this.#enqueue(request);
    return request.promise;
  }

  #enqueue(request: PendingRequest): void {
    this.#pending.push(request);
    if (this.#state === 'connected' || (this.#isClosed() && this.#socket && !this.#socket.destroyed)) {
      this.#write(request);
    }
  }

  #write(request: PendingRequest): void {
    const socket = this.#socket;
    if (!socket) return;
    request.written = true;
    if (!this.#corked) {
      // One write syscall for the requests of one tick.
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    socket.write(request.line);
  }

  #sendSub(sub: Subscription, backlog: number): void {
    const command: Command = { kind: 'sub', pattern: sub.pattern, backlog: backlog > 0 ? backlog : undefined };
    const onDone = (reply: Reply): void => {
      if (reply.kind !== 'ok') return;
      if (sub.ended) {
        // Ended while the SUB was on its way: the server must not keep serving it.
        if (this.#state === 'connected' && !this.#patternInUse(sub.pattern) && !this.#unsubscribed.has(sub)) {
          this.#unsubscribed.add(sub);
          this.#internal({ kind: 'unsub', pattern: sub.pattern }, 'ok').catch(() => undefined);
        }
        return;
      }
      sub.confirm();
    };
    this.#internal(command, 'ok', onDone).catch((error: unknown) => {
      // A dropped connection is mended by the resubscription after reconnect.
      if (error instanceof ConnectionError && this.#state === 'reconnecting') return;
      if (error instanceof ConnectionError && this.#isClosed()) return;
      this.#subscriptions.delete(sub);
      sub.end({ drain: true, error: toError(error) });
    });
  }

  /** `AUTH <token>`; a refusal closes the client: the same token again would only get this address refused. */
  #sendAuth(token: string): Promise<unknown> {
    const reply = this.#internal({ kind: 'auth', token }, 'ok').catch((error: unknown) => {
      if (!(error instanceof ProtocolError)) throw error;
      throw new ProtocolError(error.code, `${this.host}:${this.port} refused the token: ${error.detail}`, {
        cause: error,
      });
    });
    reply.catch((error: unknown) => {
      if (error instanceof ProtocolError) this.#fail(error);
      // Anything else (a dropped connection): the next connection sends the token again.
    });
    return reply;
  }

  /** One `AFTER <name> <seq>` per sensor the subscription has seen (docs/PROTOCOL.md, "Resume: AFTER"). */
  #sendResume(sub: Subscription): void {
    for (const [name, seq] of sub.resumePoints()) {
      const onDone = (reply: Reply): void => {
        if (reply.kind !== 'ok') return;
        // `OK AFTER <name> <seq>`: a lower seq (0) means the server numbers this sensor from 1 again.
        const given = Number(reply.detail.slice(reply.detail.lastIndexOf(' ') + 1));
        if (Number.isInteger(given) && given < seq) sub.rewind(name, given);
      };
      this.#internal({ kind: 'after', name, seq }, 'ok', onDone).catch((error: unknown) => {
        // The server has no such sensor (it restarted), or no AFTER (a v1 server): its seqs start afresh.
        if (error instanceof ProtocolError && (error.code === 'not-found' || error.code === 'unknown-command')) {
          sub.rewind(name, undefined);
        }
        // Anything else (a dropped connection, a server's limit): keep the seq; duplicates are still dropped.
      });
    }
  }

  #patternInUse(pattern: string): boolean {
    for (const other of this.#subscriptions) if (other.pattern === pattern && !other.ended) return true;
    return false;
  }

  async #connectLoop(afterDrop: boolean): Promise<void> {
    const reconnect = this.#options.reconnect;
    let attempt = 0;
    let lastError: unknown;
    let retry = afterDrop;
    for (;;) {
      if (retry) {
        attempt += 1;
        if (!reconnect || attempt > reconnect.maxAttempts) {
          throw new ConnectionError(`cannot connect to ${this.host}:${this.port} after ${attempt - 1} attempts`, {
            cause: lastError,
          });
        }
        const delayMs = backoffDelayMs(attempt, reconnect);
        this.#state = 'reconnecting';
        this.emit('reconnecting', { attempt, delayMs });
        await this.#sleep(delayMs);
      }
      retry = true;
      if (this.#isClosed()) throw new ConnectionError('the client is closed', { code: 'ECLOSED' });
      try {
        await this.#openSocket();
        return;
      } catch (error) {
        if (this.#isClosed()) {
          throw new ConnectionError('the client is closed', { code: 'ECLOSED', cause: error });
        }
        // A certificate that is refused stays refused: retrying would only hide why (docs/SECURITY.md, "TLS").
        if (!reconnect || isLastingTlsError(error)) throw error;
        lastError = error;
      }
    }
  }

  /** Waits `ms`, or less when `close()` wakes it. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #openSocket(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { socket, ready } = openSocket(this.host, this.port, this.#options.tls);
      this.#socket = socket;
      const timeoutMs = this.#options.connectTimeoutMs;
      const timer = setTimeout(() => {
        socket.destroy(
          new TimeoutError(`connect to ${this.host}:${this.port} timed out after ${timeoutMs} ms`, timeoutMs),
        );
      }, timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.off(ready, onConnect);
        if (this.#socket === socket) this.#socket = undefined;
      };
      const onError = (error: Error): void => {
        settle();
        socket.destroy();
        reject(
          error instanceof TimeoutError
            ? error
            : (this.#tlsError(error, true) ??
                new ConnectionError(`cannot connect to ${this.host}:${this.port}: ${error.message}`, { cause: error })),
        );
      };
      const onClose = (): void => {
        settle();
        reject(new ConnectionError('the client is closed', { code: 'ECLOSED' }));
      };
      const onConnect = (): void => {
        settle();
        if (this.#isClosed()) {
          socket.destroy();
          reject(new ConnectionError('the client is closed', { code: 'ECLOSED' }));
          return;
        }
        this.#socket = socket;
        this.#attach(socket);
        resolve();
      };
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.on(ready, onConnect);
    });
  }

  /** What a socket error means for TLS (docs/SECURITY.md, "TLS"), or undefined without TLS or when it is not about TLS. */
  #tlsError(error: Error, handshaking: boolean): TlsError | undefined {
    const options = this.#options.tls;
    if (options === undefined) return undefined;
    return tlsErrorOf(error, { host: this.host, port: this.port, handshaking, hasCert: options.cert !== undefined });
  }

  #attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    // A subscriber may hear nothing for long: let the OS notice a peer that vanished.
    socket.setKeepAlive(true, KEEPALIVE_MS);
    this.#decoder = new ReplyDecoder();
    this.#serverReason = undefined;
    let lastError: Error | undefined;
    let lastByte = LF_BYTE;
    socket.on('data', (chunk: Buffer) => {
      if (chunk.length > 0) lastByte = chunk[chunk.length - 1] ?? LF_BYTE;
      this.#onData(socket, chunk);
    });
    socket.on('end', () => {
      // A peer that hangs up after an unterminated line (the original Python
      // server answers `n` that way): that line is complete too.
      if (lastByte !== LF_BYTE) this.#onData(socket, Uint8Array.of(LF_BYTE));
    });
    socket.on('error', (error) => {
      // With TLS 1.3, a server that refuses this client's certificate says so after the handshake.
      lastError = this.#tlsError(error, false) ?? error;
    });
    socket.on('close', () => this.#onClose(socket, lastError));
    this.#state = 'connected';
    this.emit('connect', { host: this.host, port: this.port });
    // Requests issued while disconnected, in order; aborted or timed out ones are dropped.
    const waiting = this.#pending.drain();
    // The token first, so that every request after it has its rights (docs/SECURITY.md, "Tokens on TCP").
    if (this.#options.token !== undefined) this.#authReply = this.#sendAuth(this.#options.token);
    for (const request of waiting) {
      if (request.settled) continue;
      this.#pending.push(request);
      this.#write(request);
    }
    for (const sub of this.#subscriptions) {
      sub.suspend();
      if (sub.ended) continue;
      // Resume each sensor from the last seq seen, then subscribe: the server sends what was missed first.
      this.#sendResume(sub);
      this.#sendSub(sub, sub.confirmed ? 0 : sub.backlog);
    }
  }

  #onData(socket: net.Socket, chunk: Uint8Array): void {
    if (socket !== this.#socket || socket.destroyed) return;
    for (const reply of this.#decoder.push(chunk)) {
      this.#dispatch(reply);
      if (socket.destroyed) return;
    }
  }

  #dispatch(reply: Reply): void {
    if (reply.kind === 'pub') {
      const reading = reply.reading;
      for (const sub of this.#subscriptions) {
        if (sub.live && sub.matches(reading.name)) sub.deliver(reading);
      }
      return;
    }
    const head = this.#pending.peek();
    if (!head?.written) {
      this.#unsolicited(reply);
      return;
    }
    const unheard = head.settled;
    const step = head.accept(reply);
    if (step === 'more') return;
    this.#pending.shift();
    if (step === 'mismatch') {
      // The reply stream is out of step with the requests: nothing after this can be trusted.
      if (unheard) {
        const line = describeReply(reply);
        this.#report(new UnexpectedReplyError(`unexpected reply from the server: ${line}`, line));
      }
      this.#socket?.destroy();
    }
  }

  /**
   * A line no request waits for: an `ERR` the server sends before closing
   * (idle-timeout, shutting-down, slow-consumer, server-busy) becomes the
   * reason given with the `disconnect` that follows; anything else is
   * garbage and drops the connection.
   */
  #unsolicited(reply: Reply): void {
    if (reply.kind === 'err') {
      this.#serverReason = errorFromReply(reply);
      return;
    }
    const line = reply.kind === 'unknown' ? reply.line : reply.kind;
    this.#report(new UnexpectedReplyError(`unexpected line from the server: ${line}`, line));
    this.#socket?.destroy();
  }

  #onClose(socket: net.Socket, socketError: Error | undefined): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    const error = this.#serverReason ?? socketError;
    this.#serverReason = undefined;
    const closing = this.#isClosed();
    const lost = closing
      ? new ConnectionError('the client is closed', { code: 'ECLOSED', cause: error })
      : error instanceof TlsError
        ? error
        : new ConnectionError(`connection to ${this.host}:${this.port} lost`, { cause: error });
    this.#rejectPending(lost, (request) => request.written);
    this.emit('disconnect', { error });
    if (closing) return;
    // `ERR auth-failed` before the close: the token was withdrawn (docs/SECURITY.md, "Reloading the file"), and
    // reconnecting with it would only be refused, and count against this address. Final, reconnect or not.
    if (error instanceof ProtocolError && error.code === 'auth-failed') {
      this.#fail(error);
      return;
    }
    if (!this.#options.reconnect || isLastingTlsError(lost)) {
      this.#fail(lost);
      return;
    }
    this.#state = 'reconnecting';
    this.#connectLoop(true).catch((failure: unknown) => this.#fail(toError(failure)));
  }

  /** Gives up for good: everything waiting learns why, then the client closes. */
  #fail(error: Error): void {
    if (this.#isClosed()) return;
    for (const sub of this.#subscriptions) sub.end({ drain: true, error });
    this.#subscriptions.clear();
    this.#rejectPending(error, () => true);
    void this.close();
  }

  #rejectPending(error: unknown, which: (request: PendingRequest) => boolean): void {
    const keep: PendingRequest[] = [];
    for (const request of this.#pending.drain()) {
      if (which(request)) request.reject(error);
      else keep.push(request);
    }
    for (const request of keep) this.#pending.push(request);
  }

  #report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

const LF_BYTE = 0x0a;
const KEEPALIVE_MS = 30_000;

function checkName(name: unknown): Error | undefined {
  if (typeof name !== 'string') return new TypeError(`sensor name must be a string, got ${typeof name}`);
  if (!isValidName(name))
    return new RangeError(`invalid sensor name ${JSON.stringify(name)}: 1 to 128 of A-Z a-z 0-9 _ . - /`);
  return undefined;
}

function checkPattern(pattern: unknown): Error | undefined {
  if (typeof pattern !== 'string') return new TypeError(`pattern must be a string, got ${typeof pattern}`);
  if (!isValidPattern(pattern)) {
    return new RangeError(`invalid pattern ${JSON.stringify(pattern)}: 1 to 128 of A-Z a-z 0-9 _ . - / *`);
  }
  return undefined;
}

function checkPoints(value: unknown): Error | undefined {
  if (typeof value !== 'number') return new TypeError(`points must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 1 || value > MAX_RANGE_POINTS) {
    return new RangeError(`points must be an integer in 1..${MAX_RANGE_POINTS}, got ${value}`);
  }
  return undefined;
}

/** A {@link TimeInput} as the wire's `TimeArg`; throws a TypeError or RangeError naming the argument. */
function toTimeArg(what: string, input: TimeInput): TimeArg {
  let arg: TimeArg | undefined;
  if (typeof input === 'number') arg = { kind: 'at', ms: input };
  else if (input instanceof Date) arg = { kind: 'at', ms: input.getTime() };
  else if (typeof input === 'string') {
    arg = parseTimeArg(input);
    if (arg === undefined) {
      throw new RangeError(
        `${what} ${JSON.stringify(input)} is not a time: epoch ms, 'now', or -<n><unit> with unit ms, s, m, h or d`,
      );
    }
  } else if (typeof input === 'object' && input !== null) arg = input;
  else throw new TypeError(`${what} must be a number, a Date, a string or a TimeArg, got ${typeof input}`);
  try {
    formatTimeArg(arg); // the same checks the encoder makes, with the argument's name
  } catch (error) {
    throw new RangeError(`${what}: ${(error as Error).message}`, { cause: error });
  }
  return arg;
}

function checkCount(name: string, value: unknown, min: number): Error | undefined {
  if (typeof value !== 'number') return new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > MAX_COUNT) {
    return new RangeError(`${name} must be an integer in ${min}..${MAX_COUNT}, got ${value}`);
  }
  return undefined;
}

/**
 * Creates a client that connects in the background: it returns at once, in
 * state `connecting`. Requests and subscriptions made before the connection
 * is up wait for it (requests within their timeout). Useful for a UI that
 * shows "connecting" rather than nothing while the server is not up yet
 * (with `reconnect`, the first connect is retried with backoff). If the
 * first connect fails for good, waiting calls reject, subscriptions end
 * with the error, and the client emits `close`.
 *
 * @example
 * ```ts
 * import { createClient } from '@opc-lite/reader-client';
 *
 * const client = createClient({ port: 7330, reconnect: true });
 * client.on('connect', () => console.log('connected'));
 * console.log(await client.get('ramp')); // waits for the connection
 * ```
 */
export function createClient(options: ConnectOptions = {}): OpcClient {
  const client = new OpcClient(options);
  client.open().catch(() => undefined);
  return client;
}

/**
 * Connects to an opc-lite server and resolves with a client once the
 * connection is up. With `reconnect`, a failing first connect is retried with
 * backoff too; without it, the first failure rejects (a
 * {@link ConnectionError}, or a {@link TimeoutError} after
 * `connectTimeoutMs`).
 *
 * @example
 * ```ts
 * import { connect } from '@opc-lite/reader-client';
 *
 * const client = await connect({ host: '127.0.0.1', port: 7330, reconnect: true });
 * client.on('reconnecting', ({ attempt, delayMs }) => console.error(`reconnecting #${attempt} in ${delayMs} ms`));
 * console.log(await client.poll());
 * await client.close();
 * ```
 */
export async function connect(options: ConnectOptions = {}): Promise<OpcClient> {
  const client = new OpcClient(options);
  await client.open();
  return client;
}
