/**
 * `--connect-timeout`: give up on a server that has not answered in time,
 * rather than retrying forever.
 *
 * How it works: one timer runs from the start. The reader tells the deadline
 * when the connection is up ({@link ConnectDeadline.connected}) and when the
 * server first answered ({@link ConnectDeadline.answered}, which stops the
 * timer for good: a connection lost later is retried as before). If the timer
 * fires first, `onExpire` gets a {@link ConnectTimeoutError} saying which of
 * the two never happened: nothing accepted the connection, or something did
 * but never answered.
 */

/** The server was not reached within `--connect-timeout`. */
export class ConnectTimeoutError extends Error {
  override readonly name = 'ConnectTimeoutError';
  /** `ENOCONNECT`: no connection was accepted; `ENOANSWER`: one was, but nothing answered on it. */
  readonly code: 'ENOCONNECT' | 'ENOANSWER';
  readonly timeoutMs: number;

  constructor(code: 'ENOCONNECT' | 'ENOANSWER', message: string, timeoutMs: number) {
    super(message);
    this.code = code;
    this.timeoutMs = timeoutMs;
  }
}

export interface ConnectDeadlineOptions {
  /** `host:port`, for the message. */
  readonly server: string;
  /** How long to wait for the first answer; 0 waits forever (no timer). */
  readonly timeoutMs: number;
  readonly onExpire: (error: ConnectTimeoutError) => void;
}

/**
 * @example
 * ```ts
 * const deadline = new ConnectDeadline({ server: '127.0.0.1:7330', timeoutMs: 10_000, onExpire: (e) => fail(e.message) });
 * client.on('connect', () => deadline.connected());
 * // on the first reply, reading or OK SUB:
 * deadline.answered();
 * ```
 */
export class ConnectDeadline {
  readonly #timer: NodeJS.Timeout | undefined;
  #connected = false;

  constructor({ server, timeoutMs, onExpire }: ConnectDeadlineOptions) {
    if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError(`timeoutMs must be a finite number from 0 (got ${String(timeoutMs)})`);
    }
    if (timeoutMs === 0) return;
    this.#timer = setTimeout(() => {
      const seconds = `${timeoutMs / 1000} s`;
      onExpire(
        this.#connected
          ? new ConnectTimeoutError(
              'ENOANSWER',
              `the server at ${server} accepted the connection but did not answer within ${seconds} ` +
                '(is it an opc-lite server?)',
              timeoutMs,
            )
          : new ConnectTimeoutError(
              'ENOCONNECT',
              `could not connect to ${server} within ${seconds} (is opc-server running there? ` +
                '--connect-timeout sets how long to wait, 0 for ever)',
              timeoutMs,
            ),
      );
    }, timeoutMs);
  }

  /** The TCP connection is up (the server has not necessarily answered yet). */
  connected(): void {
    this.#connected = true;
  }

  /** The server answered: the deadline is met and its timer stopped. Idempotent. */
  answered(): void {
    clearTimeout(this.#timer);
  }

  /** Stops the timer without an answer (the reader is stopping anyway). */
  cancel(): void {
    clearTimeout(this.#timer);
  }
}
