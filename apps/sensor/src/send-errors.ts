/**
 * Rate-limited reporting of UDP send failures.
 *
 * A sensor must outlive its server (a restart, a network blip), so a failed
 * send is counted, never fatal. This turns a stream of per-datagram outcomes
 * into a few lines: the first failure at once, then at most one "still
 * failing" line per interval, and one line when sending works again.
 */

/**
 * Tracks send outcomes and says (through `log`) when sending fails and resumes.
 *
 * @example
 * ```ts
 * const reporter = new SendErrorReporter({ log: (line) => console.error(`opc-sensor: ${line}`), now: Date.now });
 * socket.send(buffer, port, host, (error) => (error ? reporter.failed(error) : reporter.succeeded()));
 * ```
 */
export class SendErrorReporter {
  /** Failed sends since construction. */
  total = 0;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  readonly #intervalMs: number;
  /** Failures in the current outage; 0 while sending works. */
  #failing = 0;
  #outageStart = 0;
  #lastReport = 0;
  #reportedFailures = 0;

  constructor(options: { log: (line: string) => void; now: () => number; reportIntervalMs?: number }) {
    this.#log = options.log;
    this.#now = options.now;
    this.#intervalMs = options.reportIntervalMs ?? 5000;
    if (!(this.#intervalMs > 0)) throw new RangeError(`reportIntervalMs must be > 0 (got ${this.#intervalMs})`);
  }

  /** Whether the latest send failed. */
  get failing(): boolean {
    return this.#failing > 0;
  }

  /** Records a failed send. */
  failed(error: Error): void {
    this.total++;
    const now = this.#now();
    if (this.#failing++ === 0) {
      this.#outageStart = now;
      this.#lastReport = now;
      this.#reportedFailures = 1;
      this.#log(`send failed: ${describe(error)}; still sending, readings are lost until it works again`);
      return;
    }
    if (now - this.#lastReport >= this.#intervalMs) {
      const since = this.#failing - this.#reportedFailures;
      this.#log(
        `send still failing: ${since} more failed datagram${since === 1 ? '' : 's'} in ${seconds(now - this.#lastReport)} (${describe(error)})`,
      );
      this.#lastReport = now;
      this.#reportedFailures = this.#failing;
    }
  }

  /** Records a successful send. */
  succeeded(): void {
    if (this.#failing === 0) return;
    const n = this.#failing;
    this.#failing = 0;
    this.#log(
      `sending resumed after ${n} failed datagram${n === 1 ? '' : 's'} over ${seconds(this.#now() - this.#outageStart)}`,
    );
  }
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${code} (${error.message})` : error.message;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
