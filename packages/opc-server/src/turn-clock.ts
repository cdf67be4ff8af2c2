/**
 * `performance.now()` read at most once per event-loop turn, for marking
 * activity on hot paths: every read of a turn gets the same stamp, taken
 * when the turn's first read asked for it, so a stamp is early by at most
 * the time the turn has run so far.
 *
 * How it works: the first `now()` of a turn reads the clock and schedules
 * (`setImmediate`) its own expiry at the end of the turn.
 */
export class TurnClock {
  #now = 0;
  #fresh = false;

  /** Milliseconds on the `performance.now()` scale, as of this turn's first call. */
  now(): number {
    if (!this.#fresh) {
      this.#now = performance.now();
      this.#fresh = true;
      setImmediate(this.#expire);
    }
    return this.#now;
  }

  readonly #expire = (): void => {
    this.#fresh = false;
  };
}

/** The clock every session of this process shares. */
export const turnClock = new TurnClock();
