/**
 * Write coalescing: sessions append outgoing lines to a string and ask to be
 * flushed; the scheduler flushes every dirty session once per event-loop
 * turn (`setImmediate`, i.e. after the poll phase has delivered all the
 * datagrams and socket reads of this turn). So a burst of readings or of
 * pipelined commands costs one `write()` per client, not one per line.
 *
 * How it works: two arrays swapped on each run (no allocation per turn), one
 * `setImmediate` per turn with anything to flush. An optional `afterFlush`
 * runs after each pass (the server checks its outbound cap there), and
 * `queuedBytes` counts what the targets queued since the last pass began
 * (sessions add to it; each pass sets it back to 0), so that what one turn
 * builds can be bounded across all sessions.
 */

/**
 * Something the {@link WriteScheduler} can flush.
 *
 * @example
 * ```ts
 * const f: Flushable = { flush: () => socket.write(buffered) };
 * ```
 */
export interface Flushable {
  flush(): void;
}

/**
 * Flushes the sessions that asked for it, once per event-loop turn.
 *
 * @example
 * ```ts
 * const scheduler = new WriteScheduler();
 * scheduler.schedule(session); // session.flush() runs in this turn's check phase
 * ```
 */
export class WriteScheduler {
  #dirty: Flushable[] = [];
  #spare: Flushable[] = [];
  #scheduled = false;
  readonly #afterFlush: (() => void) | undefined;
  /** Bytes queued for writing since the last pass began (the targets add to it). */
  queuedBytes = 0;

  constructor(afterFlush?: () => void) {
    this.#afterFlush = afterFlush;
  }

  /** Flushes `target` later in this event-loop turn. The caller avoids scheduling the same target twice. */
  schedule(target: Flushable): void {
    this.#dirty.push(target);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#run);
    }
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    this.queuedBytes = 0;
    const list = this.#dirty;
    this.#dirty = this.#spare;
    this.#spare = list;
    for (let i = 0; i < list.length; i++) list[i]!.flush();
    list.length = 0;
    this.#afterFlush?.();
  };
}
