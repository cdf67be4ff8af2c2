// A drift-free sample clock. Sample k is due at t0 + k·intervalMs, computed
// from k every time, never by adding intervals to the time a timer fired, so
// timer lateness never accumulates. Each `next()` reads the clock: if sample k
// is due it is yielded at once, otherwise one timer is armed for its due time
// (and re-armed if the timer fires early). After a late wake-up every overdue
// sample is due, so consecutive `next()` calls yield them all without waiting,
// each with its own dueTime and lateMs: late ticks are counted, never dropped
// or bunched under one time. Abort, `count` and `return()` all end the
// iteration the same way: clear the timer, resolve any waiting `next()` with
// `done`, and forget the abort listener.

import { checkNumber, invalidType } from './validate.js';
import { createWaveform } from './waveform.js';

/**
 * A source of time and timers, in milliseconds. Inject one to drive a
 * {@link sampleClock} from fake timers or a simulation.
 *
 * @example
 * ```ts
 * import type { Clock } from '@opc-lite/sawtooth-generator';
 *
 * const dateClock: Clock = {
 *   now: () => Date.now(),
 *   setTimeout: (fn, ms) => setTimeout(fn, Math.ceil(ms)),
 *   clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
 * };
 * ```
 */
export interface Clock {
  /** The current time in milliseconds (any base; fractions allowed). */
  now(): number;
  /** Calls `fn` once, no sooner than `ms` milliseconds from now; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer armed by `setTimeout`; a handle that already fired is ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock: Unix epoch milliseconds with sub-millisecond resolution
 * (`performance.timeOrigin + performance.now()`, monotonic while the process
 * runs) and the global timers, looked up on every call (so fake timers that
 * replace `performance` and `setTimeout` apply). Delays are rounded up to
 * whole milliseconds, because Node truncates fractional ones.
 *
 * @example
 * ```ts
 * import { systemClock } from '@opc-lite/sawtooth-generator';
 * const epochMs = systemClock.now(); // e.g. 1764316800123.456
 * ```
 */
export const systemClock: Clock = Object.freeze({
  now: (): number => performance.timeOrigin + performance.now(),
  setTimeout: (fn: () => void, ms: number): unknown => globalThis.setTimeout(fn, Math.ceil(ms)),
  clearTimeout: (handle: unknown): void => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
});

/**
 * One sample from a {@link sampleClock}.
 *
 * @example
 * ```ts
 * const tick: Tick = { k: 3, dueTime: 1300, firedAt: 1300.4, lateMs: 0.4, value: 0.3 };
 * ```
 */
export interface Tick {
  /** The sample's index, from 0. */
  k: number;
  /** When the sample was due, in clock milliseconds: exactly startTime + k·intervalMs. */
  dueTime: number;
  /** When the clock yielded it, in clock milliseconds; never before `dueTime`. */
  firedAt: number;
  /** firedAt − dueTime, >= 0. */
  lateMs: number;
  /** waveform(dueTime): the value at the due time, not at the time it fired. */
  value: number;
}

/**
 * Options for {@link sampleClock}.
 *
 * @example
 * ```ts
 * const options: SampleClockOptions = { intervalMs: 100, count: 50 };
 * ```
 */
export interface SampleClockOptions {
  /** Δt between samples in milliseconds; finite and > 0. Required. */
  intervalMs: number;
  /** Maps a due time to the sample's value. Default: the default {@link sawtooth} (1 s rising ramp 0..1). */
  waveform?: (timeMs: number) => number;
  /** How many ticks to yield before ending: an integer >= 0 or Infinity. Default Infinity. */
  count?: number;
  /** t0, the due time of tick 0, in clock milliseconds. Default: `clock.now()` when `sampleClock` is called. */
  startTime?: number;
  /** Ends the iteration (cleanly, without an error) when aborted. */
  signal?: AbortSignal;
  /** The source of time and timers. Default {@link systemClock}. */
  clock?: Clock;
  /**
   * A tick yielded more than this many milliseconds after its due time counts
   * as late; finite, >= 0. Default: the smaller of
   * `SAMPLE_CLOCK_DEFAULTS.lateToleranceMs` and half of `intervalMs`.
   */
  lateToleranceMs?: number;
}

/**
 * Defaults for {@link SampleClockOptions}.
 *
 * @example
 * ```ts
 * import { SAMPLE_CLOCK_DEFAULTS } from '@opc-lite/sawtooth-generator';
 * SAMPLE_CLOCK_DEFAULTS.lateToleranceMs; // 5
 * ```
 */
export const SAMPLE_CLOCK_DEFAULTS = Object.freeze({
  /** Upper bound of the default late tolerance, in ms (the default is also at most half of intervalMs). */
  lateToleranceMs: 5,
  count: Infinity,
});

/**
 * The ticks of a {@link sampleClock}, one iteration only, with counters.
 *
 * @example
 * ```ts
 * const clock = sampleClock({ intervalMs: 10, count: 3 });
 * for await (const tick of clock) console.log(tick.k, tick.value);
 * console.log(clock.emitted, clock.late); // 3 0
 * ```
 */
export interface SampleClock extends AsyncIterable<Tick> {
  /** Ticks yielded more than `lateToleranceMs` after their due time. */
  readonly late: number;
  /** Ticks yielded so far. */
  readonly emitted: number;
  /**
   * Samples already due but not yet yielded. A sender that batches readings
   * into one datagram can flush when this is 0 (and should cap the batch size).
   */
  readonly overdue: number;
  /** The next tick, waiting for its due time; `done` after `count` ticks, an abort or `return()`. */
  next(): Promise<IteratorResult<Tick, undefined>>;
  /** Ends the iteration and clears the timer (`for await` calls it on `break`). */
  return(): Promise<IteratorResult<Tick, undefined>>;
  /** Returns this clock: it can be iterated once. */
  [Symbol.asyncIterator](): SampleClock;
}

/**
 * A drift-free sample clock: an async iterable of {@link Tick}s, tick k due at
 * exactly `startTime + k·intervalMs`. When woken late it yields every overdue
 * sample at once, each with its own due time and lateness. Ends after `count`
 * ticks, on `signal` abort, or when the loop breaks; the timer is cleared and
 * nothing rejects.
 *
 * @throws {TypeError} Naming the option, when one has the wrong type (`code: 'ERR_INVALID_ARG_TYPE'`).
 * @throws {RangeError} Naming the option, when one is out of range (`code: 'ERR_OUT_OF_RANGE'`).
 *
 * @example
 * ```ts
 * import { createWaveform, sampleClock } from '@opc-lite/sawtooth-generator';
 *
 * const clock = sampleClock({
 *   intervalMs: 100,
 *   waveform: createWaveform({ periodMs: 1000 }),
 *   signal: AbortSignal.timeout(5000),
 * });
 * for await (const { dueTime, value, lateMs } of clock) {
 *   console.log(new Date(dueTime).toISOString(), value.toFixed(3), lateMs.toFixed(1));
 * }
 * console.log(`${clock.emitted} samples, ${clock.late} late`);
 * ```
 */
export function sampleClock(options: SampleClockOptions): SampleClock {
  return new TickIterator(options);
}

/** Node's largest timer delay; a longer sleep is split, since Node would fire an overlong one after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

class TickIterator implements SampleClock {
  readonly #intervalMs: number;
  readonly #waveform: (timeMs: number) => number;
  readonly #count: number;
  readonly #clock: Clock;
  readonly #t0: number;
  readonly #lateToleranceMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#stop();

  #k = 0;
  #late = 0;
  #done = false;
  #timer: unknown = undefined;
  #wake: (() => void) | undefined = undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SampleClockOptions) {
    if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
    this.#intervalMs = checkNumber('intervalMs', options.intervalMs, { min: 0, minExclusive: true });
    this.#count = checkNumber('count', options.count === undefined ? SAMPLE_CLOCK_DEFAULTS.count : options.count, {
      min: 0,
      integer: true,
      allowInfinity: true,
    });
    this.#lateToleranceMs = checkNumber(
      'lateToleranceMs',
      options.lateToleranceMs === undefined
        ? Math.min(SAMPLE_CLOCK_DEFAULTS.lateToleranceMs, this.#intervalMs / 2)
        : options.lateToleranceMs,
      { min: 0 },
    );
    const waveform = options.waveform === undefined ? createWaveform() : options.waveform;
    if (typeof waveform !== 'function') throw invalidType('waveform', 'a function', waveform);
    this.#waveform = waveform;
    const clock = options.clock === undefined ? systemClock : options.clock;
    if (!isClock(clock)) throw invalidType('clock', 'an object with now, setTimeout and clearTimeout', clock);
    this.#clock = clock;
    const signal = options.signal;
    if (signal !== undefined && !isAbortSignal(signal)) throw invalidType('signal', 'an AbortSignal', signal);
    this.#t0 = options.startTime === undefined ? clock.now() : checkNumber('startTime', options.startTime);

    this.#signal = signal;
    if (signal?.aborted === true) this.#done = true;
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (this.#count === 0) this.#stop();
  }

  get late(): number {
    return this.#late;
  }

  get emitted(): number {
    return this.#k;
  }

  get overdue(): number {
    if (this.#done) return 0;
    const t0 = this.#t0;
    const dt = this.#intervalMs;
    const now = this.#clock.now();
    // The largest m with t0 + m·Δt <= now; the loops only fix the division's rounding.
    let m = Math.floor((now - t0) / dt);
    while (t0 + (m + 1) * dt <= now) m++;
    while (m >= this.#k && t0 + m * dt > now) m--;
    return Math.max(0, Math.min(m, this.#count - 1) - this.#k + 1);
  }

  next(): Promise<IteratorResult<Tick, undefined>> {
    // Calls that overlap are served one after the other, in order.
    const result = this.#queue.then(() => this.#step());
    this.#queue = result.catch(() => undefined);
    return result;
  }

  return(): Promise<IteratorResult<Tick, undefined>> {
    this.#stop();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): SampleClock {
    return this;
  }

  async #step(): Promise<IteratorResult<Tick, undefined>> {
    while (!this.#done) {
      if (this.#k >= this.#count) {
        this.#stop();
        break;
      }
      // Sample k is due at t0 + k·Δt, from k itself: no accumulated drift.
      const dueTime = this.#t0 + this.#k * this.#intervalMs;
      const now = this.#clock.now();
      if (now >= dueTime) return { done: false, value: this.#emit(dueTime, now) };
      await this.#sleep(dueTime - now);
    }
    return DONE;
  }

  #emit(dueTime: number, firedAt: number): Tick {
    let value: number;
    try {
      value = this.#waveform(dueTime);
    } catch (error) {
      this.#stop();
      throw error;
    }
    const lateMs = firedAt - dueTime;
    if (lateMs > this.#lateToleranceMs) this.#late++;
    return { k: this.#k++, dueTime, firedAt, lateMs, value };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = this.#clock.setTimeout(
        () => {
          this.#timer = undefined;
          this.#wake = undefined;
          resolve();
        },
        Math.min(ms, MAX_TIMER_MS),
      );
    });
  }

  #stop(): void {
    if (this.#done && this.#timer === undefined && this.#wake === undefined) return;
    this.#done = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function isClock(value: unknown): value is Clock {
  if (typeof value !== 'object' || value === null) return false;
  const clock = value as Record<string, unknown>;
  return (
    typeof clock['now'] === 'function' &&
    typeof clock['setTimeout'] === 'function' &&
    typeof clock['clearTimeout'] === 'function'
  );
}

function isAbortSignal(value: unknown): value is AbortSignal {
  if (typeof value !== 'object' || value === null) return false;
  const signal = value as Record<string, unknown>;
  return typeof signal['aborted'] === 'boolean' && typeof signal['addEventListener'] === 'function';
}
