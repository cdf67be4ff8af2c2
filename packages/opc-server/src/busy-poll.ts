/**
 * Busy polling after TCP input. For a short window after each read the event
 * loop keeps turning (a chain of `setImmediate` makes libuv poll with a zero
 * timeout) instead of sleeping in `epoll_wait`. A client that sends its next
 * request as soon as it has read a reply (pipelining, or one request at a
 * time in a loop) is then read without waking a sleeping thread, which costs
 * tens of microseconds per round trip on a virtual machine.
 *
 * It costs CPU only while a window is open: nothing while no client sends,
 * at most the window per read when requests are sparse. Reads only open it:
 * UDP ingest and pushes to subscribers never do.
 */
import { turnClock } from './turn-clock.js';

/**
 * Keeps the event loop polling for `windowUs` after the last {@link touch}.
 *
 * @example
 * ```ts
 * const busyPoll = new BusyPoll(50);
 * socket.on('data', busyPoll.touch);
 * ```
 */
export class BusyPoll {
  readonly #windowMs: number;
  #lastInputAt = 0;
  #spinning = false;
  #stopped = false;

  /** `windowUs` 0 turns it off. */
  constructor(windowUs: number) {
    this.#windowMs = windowUs / 1000;
  }

  /** Input arrived: keep polling until the window has passed since this turn. */
  readonly touch = (): void => {
    if (this.#windowMs <= 0 || this.#stopped) return;
    this.#lastInputAt = turnClock.now();
    if (!this.#spinning) {
      this.#spinning = true;
      setImmediate(this.#spin);
    }
  };

  /** Whether the loop is being kept polling now. */
  get spinning(): boolean {
    return this.#spinning;
  }

  /** Ends the current window and ignores later input (the server is closing). */
  stop(): void {
    this.#stopped = true;
  }

  readonly #spin = (): void => {
    if (!this.#stopped && performance.now() - this.#lastInputAt < this.#windowMs) setImmediate(this.#spin);
    else this.#spinning = false;
  };
}
