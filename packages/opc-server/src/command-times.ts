/**
 * How long TCP commands take to answer, by verb, as bucket counters: what `/metrics` exports as
 * `opc_tcp_command_duration_seconds` (docs/HTTP.md, "GET /metrics").
 *
 * How it works: one `Float64Array` holds, for every verb, a count per bucket (not cumulative) and one holds the sum
 * of the times, so recording is an index lookup, a short scan of the bounds and two additions: nothing is
 * allocated. A clock read costs about as much as answering a legacy poll, so a session reads it at the edges of
 * runs, not around every command: a run is one command, or consecutive commands of one constant-time verb
 * (`n`, `PING`, `GET`: {@link sharesRun}) in one batch, each counted at the run's mean. A reader takes the
 * figures at scrape time with {@link CommandTimes.forEach}.
 */
import type { Command } from '@opc-lite/protocol';

/** A command's verb, as the decoder names it (`invalid`: a line that is no command). */
export type CommandVerb = Command['kind'];

/** One key per verb: a verb the decoder gains and this lacks fails to compile. */
const VERBS: Readonly<Record<CommandVerb, true>> = {
  poll: true,
  ping: true,
  get: true,
  list: true,
  hist: true,
  range: true,
  after: true,
  sub: true,
  unsub: true,
  stats: true,
  auth: true,
  quit: true,
  invalid: true,
};

/**
 * Every verb, in the order {@link CommandTimes.forEach} visits them.
 *
 * @example
 * ```ts
 * COMMAND_VERBS.includes('range'); // true
 * ```
 */
export const COMMAND_VERBS: readonly CommandVerb[] = Object.freeze(Object.keys(VERBS) as CommandVerb[]);

/**
 * The upper bounds of the buckets, in seconds (a last bucket, `+Inf`, takes the rest): from a legacy poll's few
 * microseconds to a `RANGE` over a long history.
 */
export const COMMAND_TIME_BUCKETS: readonly number[] = Object.freeze([
  0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5,
]);

/**
 * Whether a command of `verb` following one of `previous` in a batch may share its timed run: both of one verb
 * whose answer takes constant time.
 */
export const sharesRun = (verb: CommandVerb, previous: CommandVerb | undefined): boolean =>
  verb === previous && (verb === 'poll' || verb === 'ping' || verb === 'get');

const VERB_INDEX: Readonly<Record<CommandVerb, number>> = Object.freeze(
  Object.fromEntries(COMMAND_VERBS.map((verb, i) => [verb, i])) as Record<CommandVerb, number>,
);
/** The bounds in milliseconds, the unit of `performance.now()`. */
const BOUNDS_MS = Float64Array.from(COMMAND_TIME_BUCKETS, (s) => s * 1000);
const SLOTS = BOUNDS_MS.length + 1;

/**
 * Command times by verb, shared by the sessions of one server (`server.commandTimes`).
 *
 * @example
 * ```ts
 * const times = new CommandTimes();
 * times.record('poll', 0.004); // 4 µs
 * times.forEach((verb, counts, sumSeconds) => console.log(verb, counts, sumSeconds));
 * ```
 */
export class CommandTimes {
  readonly #counts = new Float64Array(COMMAND_VERBS.length * SLOTS);
  readonly #sumsMs = new Float64Array(COMMAND_VERBS.length);

  /** Counts `count` commands of `verb` that took `ms` milliseconds together, each at their mean. */
  record(verb: CommandVerb, ms: number, count = 1): void {
    const v = VERB_INDEX[verb];
    const each = ms / count;
    let b = 0;
    while (b < BOUNDS_MS.length && each > BOUNDS_MS[b]!) b++;
    this.#counts[v * SLOTS + b]! += count;
    this.#sumsMs[v]! += ms;
  }

  /**
   * Calls `visit` for every verb with at least one command: its count per bucket of
   * {@link COMMAND_TIME_BUCKETS}, then `+Inf` (not cumulative; a view valid during the call only), and the sum of
   * the times in seconds.
   */
  forEach(visit: (verb: CommandVerb, counts: Float64Array, sumSeconds: number) => void): void {
    for (let v = 0; v < COMMAND_VERBS.length; v++) {
      const counts = this.#counts.subarray(v * SLOTS, (v + 1) * SLOTS);
      if (counts.every((n) => n === 0)) continue;
      visit(COMMAND_VERBS[v]!, counts, this.#sumsMs[v]! / 1000);
    }
  }
}
