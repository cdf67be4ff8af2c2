/**
 * Failed `AUTH` attempts per address (docs/SECURITY.md, "Guessing tokens").
 *
 * How it works: each address has a count of failures, forgotten `blockMs` after its last one. The answer to
 * failure k waits `failureDelayMs × 2^(k−1)`, at most `maxFailureDelayMs`. Once failures plus attempts still
 * being checked reach `maxFailures`, the address is refused without a check until `blockMs` after its last
 * failure, so many connections at once cannot each have a token checked. The table holds at most
 * `maxAddresses` addresses; past it the one failed longest ago is forgotten.
 */

/**
 * The limits of {@link FailureLimiter}.
 *
 * @example
 * ```ts
 * const limits: FailureLimits = { ...FAILURE_DEFAULTS, failureDelayMs: 10 };
 * ```
 */
export interface FailureLimits {
  /** Wait before answering the first failure of an address; doubles with each one after (default 250). */
  readonly failureDelayMs: number;
  /** The longest wait (default 4000). */
  readonly maxFailureDelayMs: number;
  /** Failures after which an address is refused without a check (default 5). */
  readonly maxFailures: number;
  /** How long an address is refused, and how long its failures are remembered, from its last failure (default 60 000). */
  readonly blockMs: number;
  /** Addresses remembered at most (default 10 000). */
  readonly maxAddresses: number;
}

/**
 * The default limits (frozen).
 *
 * @example
 * ```ts
 * FAILURE_DEFAULTS.maxFailures; // 5
 * ```
 */
export const FAILURE_DEFAULTS: Readonly<FailureLimits> = Object.freeze({
  failureDelayMs: 250,
  maxFailureDelayMs: 4000,
  maxFailures: 5,
  blockMs: 60_000,
  maxAddresses: 10_000,
});

interface AddressState {
  failures: number;
  pending: number;
  lastFailureAt: number;
}

/**
 * Counts failures per address and says how long to wait and whom to refuse.
 *
 * @example
 * ```ts
 * const limiter = new FailureLimiter(FAILURE_DEFAULTS);
 * if (limiter.begin('10.0.0.7')) {
 *   const ok = await check(token);
 *   if (ok) limiter.succeeded('10.0.0.7');
 *   else await delay(limiter.failed('10.0.0.7'));
 * }
 * ```
 */
export class FailureLimiter {
  readonly limits: Readonly<FailureLimits>;
  readonly #now: () => number;
  readonly #addresses = new Map<string, AddressState>();

  constructor(limits: Partial<FailureLimits> = {}, now: () => number = Date.now) {
    const merged = { ...FAILURE_DEFAULTS, ...limits };
    for (const [key, value] of Object.entries(merged)) {
      if (!Number.isInteger(value) || value < (key === 'maxFailures' || key === 'maxAddresses' ? 1 : 0)) {
        throw new RangeError(`${key} must be a non-negative integer (got ${String(value)})`);
      }
    }
    this.limits = Object.freeze(merged);
    this.#now = now;
  }

  /** Addresses refused right now. */
  get blockedAddresses(): number {
    let n = 0;
    for (const address of this.#addresses.keys()) if (this.isBlocked(address)) n++;
    return n;
  }

  /** Whether `address` is refused without a check. */
  isBlocked(address: string): boolean {
    const state = this.#state(address);
    return state !== undefined && state.failures + state.pending >= this.limits.maxFailures;
  }

  /** Starts one check for `address`; false (and nothing started) when it is refused. */
  begin(address: string): boolean {
    let state = this.#state(address);
    if (state !== undefined && state.failures + state.pending >= this.limits.maxFailures) return false;
    if (state === undefined) {
      if (this.#addresses.size >= this.limits.maxAddresses) {
        const oldest = this.#addresses.keys().next();
        if (oldest.done !== true) this.#addresses.delete(oldest.value);
      }
      state = { failures: 0, pending: 0, lastFailureAt: this.#now() };
      this.#addresses.set(address, state);
    }
    state.pending++;
    return true;
  }

  /** Ends a check that found the token. */
  succeeded(address: string): void {
    const state = this.#addresses.get(address);
    if (state === undefined) return;
    state.pending = Math.max(0, state.pending - 1);
    if (state.pending === 0 && state.failures === 0) this.#addresses.delete(address);
  }

  /** Ends a check that did not find the token; returns how long to wait before saying so, in ms. */
  failed(address: string): number {
    let state = this.#addresses.get(address);
    if (state === undefined) {
      state = { failures: 0, pending: 1, lastFailureAt: 0 };
    }
    state.pending = Math.max(0, state.pending - 1);
    state.failures++;
    state.lastFailureAt = this.#now();
    // Most recently failed last: the first key is the one to forget when the table is full.
    this.#addresses.delete(address);
    this.#addresses.set(address, state);
    const { failureDelayMs, maxFailureDelayMs } = this.limits;
    return Math.min(failureDelayMs * 2 ** Math.min(state.failures - 1, 30), maxFailureDelayMs);
  }

  /** The state of `address`, forgotten when its last failure is older than `blockMs`. */
  #state(address: string): AddressState | undefined {
    const state = this.#addresses.get(address);
    if (state === undefined) return undefined;
    if (state.failures > 0 && state.pending === 0 && this.#now() - state.lastFailureAt >= this.limits.blockMs) {
      this.#addresses.delete(address);
      return undefined;
    }
    return state;
  }
}
