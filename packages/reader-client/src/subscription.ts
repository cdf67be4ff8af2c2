/**
 * A live subscription (`SUB <pattern> [<backlog>]`, docs/PROTOCOL.md,
 * "Commands") as an async iterable of readings.
 *
 * How it works: the client routes every `PUB` line whose sensor name matches
 * the pattern to {@link Subscription.deliver}. A reading goes straight to a
 * waiting `next()` when there is one, else into a bounded queue; when the
 * queue is full the oldest queued reading is dropped and counted in
 * {@link Subscription.dropped}, so a consumer slower than the stream costs a
 * fixed amount of memory and always sees the newest readings. Iteration ends
 * (`done`) on `unsubscribe()`, on the client's `close()` (queued readings are
 * still handed out first) and on abort (at once); it throws when the server
 * refuses the subscription or the connection is lost for good.
 *
 * Resume (docs/PROTOCOL.md, "Resume: AFTER"): the subscription remembers the
 * last seq it received of each sensor, across connections. After a reconnect
 * the client sends those as `AFTER` lines before the new `SUB`, and the
 * subscription takes no push until that `SUB` is confirmed: the server sends
 * what was missed first, and a reading at or below the last seq seen is
 * dropped, so the consumer sees each reading once and in order.
 */
import { compilePattern } from '@opc-lite/protocol';
import type { Reading } from '@opc-lite/protocol';
import { Fifo } from './fifo.js';

/**
 * Options of {@link OpcClient.subscribe}.
 *
 * @example
 * ```ts
 * const sub = client.subscribe('ramp*', { backlog: 20, signal: AbortSignal.timeout(60_000) });
 * ```
 */
export interface SubscribeOptions {
  /** Recent readings per matching sensor the server sends first. Default 0. */
  backlog?: number;
  /** Aborting it ends the subscription (iteration returns, `UNSUB` is sent). */
  signal?: AbortSignal;
  /** Readings queued for a slow consumer before the oldest are dropped. Default: the client's `subscriptionQueueCapacity`. */
  queueCapacity?: number;
}

/** What a subscription needs from its client. */
export interface SubscriptionHost {
  release(subscription: Subscription): Promise<void>;
}

interface Waiter {
  resolve: (result: IteratorResult<Reading, undefined>) => void;
  reject: (reason: Error) => void;
}

const DONE: IteratorResult<Reading, undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A subscription returned by {@link OpcClient.subscribe}: iterate it with
 * `for await`, or call {@link Subscription.unsubscribe}. One consumer at a
 * time; breaking out of the loop unsubscribes.
 *
 * @example
 * ```ts
 * const sub = client.subscribe('ramp*', { backlog: 10 });
 * for await (const r of sub) {
 *   console.log(r.name, r.value, r.seq);
 *   if (r.value > 0.9) break; // unsubscribes
 * }
 * console.log(`dropped by a slow consumer: ${sub.dropped}`);
 * ```
 */
export class Subscription implements AsyncIterableIterator<Reading, undefined> {
  /** The pattern given to `subscribe`. */
  readonly pattern: string;
  /** The backlog asked for on the first `SUB`. */
  readonly backlog: number;
  /** Readings queued at most before the oldest are dropped. */
  readonly queueCapacity: number;
  /**
   * Settles when the server confirmed the subscription (`OK SUB`), or rejects
   * when it refused it; resolves if the subscription ended before either.
   */
  readonly ready: Promise<void>;

  readonly #matches: (name: string) => boolean;
  readonly #queue = new Fifo<Reading>();
  readonly #waiters = new Fifo<Waiter>();
  readonly #host: SubscriptionHost;
  readonly #lastSeq = new Map<string, number>();
  #received = 0;
  #dropped = 0;
  #confirmed = false;
  /** Confirmed on the current connection: pushes are taken. */
  #live = false;
  #ended = false;
  #endError: Error | undefined;
  #releasing: Promise<void> | undefined;
  #readyResolve!: () => void;
  #readyReject!: (reason: unknown) => void;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /** @internal Created by the client. */
  constructor(host: SubscriptionHost, pattern: string, backlog: number, queueCapacity: number, signal?: AbortSignal) {
    this.#host = host;
    this.pattern = pattern;
    this.backlog = backlog;
    this.queueCapacity = queueCapacity;
    this.#matches = compilePattern(pattern);
    this.ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    // Whoever does not await `ready` learns of a refusal from the iterator.
    this.ready.catch(() => undefined);
    if (signal) {
      this.#signal = signal;
      this.#onAbort = () => {
        this.end({ drain: false });
        void this.#release();
      };
      if (signal.aborted) queueMicrotask(this.#onAbort);
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Readings received from the server for this subscription. */
  get received(): number {
    return this.#received;
  }

  /** Readings dropped because the consumer fell more than `queueCapacity` behind. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Readings waiting to be taken by `next()`. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Whether the server has confirmed the subscription at least once. */
  get confirmed(): boolean {
    return this.#confirmed;
  }

  /** Whether the subscription has ended (no more readings will be queued). */
  get ended(): boolean {
    return this.#ended;
  }

  /** @internal Whether the current connection's `SUB` is confirmed, so that pushes count for this subscription. */
  get live(): boolean {
    return this.#live;
  }

  /** @internal Whether a sensor name matches the pattern. */
  matches(name: string): boolean {
    return this.#matches(name);
  }

  /** @internal Forgets every last seq seen: the server's numbering may have started again from 1. */
  resetSeqs(): void {
    this.#lastSeq.clear();
  }

  /**
   * @internal Sets the last seq seen of one sensor: `undefined` forgets it
   * (the server does not know the sensor, or cannot resume), a lower seq
   * follows the server's answer to `AFTER` (0: it numbers from 1 again).
   */
  rewind(name: string, seq: number | undefined): void {
    if (seq === undefined) this.#lastSeq.delete(name);
    else this.#lastSeq.set(name, seq);
  }

  /** @internal The last seq received of each sensor: where to resume after a reconnect. */
  resumePoints(): [name: string, seq: number][] {
    return [...this.#lastSeq];
  }

  /** @internal A new connection: no push counts until its `SUB` is confirmed. */
  suspend(): void {
    this.#live = false;
  }

  /** @internal The server confirmed the subscription with `OK SUB`. */
  confirm(): void {
    this.#confirmed = true;
    this.#live = true;
    this.#readyResolve();
  }

  /**
   * @internal A reading for this subscription arrived. Readings at or below
   * the last seq seen for their sensor are skipped: they are the backlog or
   * the resumed readings another `SUB` of this client asked for (the server
   * sends each live reading once per client, whatever the number of its
   * patterns).
   */
  deliver(reading: Reading): void {
    if (this.#ended) return;
    const last = this.#lastSeq.get(reading.name);
    if (last !== undefined && reading.seq <= last) return;
    this.#lastSeq.set(reading.name, reading.seq);
    this.#received += 1;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ done: false, value: reading });
      return;
    }
    if (this.#queue.size >= this.queueCapacity) {
      this.#queue.shift();
      this.#dropped += 1;
    }
    this.#queue.push(reading);
  }

  /**
   * @internal Ends the subscription. With `drain`, queued readings are still
   * handed out before `done`; with an `error`, iteration throws it once
   * (after the queue) and `ready` rejects if still pending.
   */
  end(options: { drain: boolean; error?: Error }): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    if (!options.drain) this.#queue.drain();
    if (options.error) {
      this.#readyReject(options.error);
      this.#endError = options.error;
    } else {
      this.#readyResolve();
    }
    // Waiters exist only while the queue is empty.
    for (let waiter = this.#waiters.shift(); waiter; waiter = this.#waiters.shift()) {
      const error = this.#endError;
      this.#endError = undefined;
      if (error) waiter.reject(error);
      else waiter.resolve(DONE);
    }
  }

  /**
   * Ends the subscription: iteration finishes after the readings already
   * queued, and the server is sent `UNSUB` unless another live subscription
   * of this client uses the same pattern. Idempotent; never rejects.
   *
   * @example
   * ```ts
   * const sub = client.subscribe('ramp');
   * setTimeout(() => void sub.unsubscribe(), 5000);
   * for await (const r of sub) console.log(r.value);
   * ```
   */
  unsubscribe(): Promise<void> {
    this.end({ drain: true });
    return this.#release();
  }

  /** Takes the next reading, waiting for one if none is queued. */
  next(): Promise<IteratorResult<Reading, undefined>> {
    const reading = this.#queue.shift();
    if (reading) return Promise.resolve({ done: false, value: reading });
    if (this.#ended) {
      const error = this.#endError;
      if (error) {
        this.#endError = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve(DONE);
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Called by `break` in a `for await` loop: unsubscribes. */
  async return(): Promise<IteratorResult<Reading, undefined>> {
    this.end({ drain: false });
    await this.#release();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #release(): Promise<void> {
    this.#releasing ??= this.#host.release(this).catch(() => undefined);
    return this.#releasing;
  }
}
