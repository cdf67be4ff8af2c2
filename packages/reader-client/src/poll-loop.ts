/**
 * Polling on a fixed schedule, as the original lector did (`n` every
 * delta seconds), over one connection and without its drift: tick k is due at
 * t0 + k·interval, so the round-trip time does not add up, and a poll that
 * overruns the interval skips the ticks it overran instead of queueing them.
 * Both the plain `opc-reader` output and the dashboard poll through it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reading } from '@opc-lite/protocol';

/**
 * One polled reading. A legacy `n` poll has no seq and no timestamp from the
 * server: `timestampMs` is when the answer came, and `value` is `NaN` while
 * sensor `default` has no reading.
 *
 * @example
 * ```ts
 * const r: PolledReading = { name: 'default', value: 0.35, timestampMs: Date.now(), seq: undefined };
 * ```
 */
export interface PolledReading {
  readonly name: string;
  readonly value: number;
  readonly timestampMs: number;
  readonly seq: number | undefined;
}

/**
 * What {@link pollEvery} needs of a client: an `OpcClient` fits.
 *
 * @example
 * ```ts
 * const client: PollClient = await connect({ reconnect: true });
 * ```
 */
export interface PollClient {
  /** `'connected'` when requests can be sent; `'closed'` ends the loop. */
  readonly state: string;
  poll(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<number>;
  get(name: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Reading>;
}

/**
 * Options of {@link pollEvery}.
 *
 * @example
 * ```ts
 * const options: PollEveryOptions = { intervalMs: 500, sensors: ['ramp'], skipRepeats: true, signal };
 * ```
 */
export interface PollEveryOptions {
  /** Time between ticks, in ms (> 0). */
  intervalMs: number;
  /** Sensors read with `GET` on every tick, together; none (the default): the legacy `n` poll of sensor `default`. */
  sensors?: readonly string[];
  /** Skip a `GET` reading already seen (same seq as the last one of that sensor). Default `false`: every tick reports. */
  skipRepeats?: boolean;
  /** Aborting it ends the loop (the pending requests are aborted too). */
  signal?: AbortSignal;
  /** Limit for each request, in ms. Default: the interval, and at least 1000. */
  timeoutMs?: number;
  /**
   * A sensor had no reading on a tick: `error` is why its request failed, or
   * `undefined` when the client was not connected (the tick is skipped rather
   * than queueing requests that would time out).
   */
  onMiss?: (name: string, error: unknown) => void;
}

/**
 * Polls until the signal aborts or the client closes for good, calling
 * `onReading` for each reading. Resolves then; never rejects for a failed
 * poll (those go to `onMiss`).
 *
 * @example
 * ```ts
 * import { connect, pollEvery } from '@opc-lite/reader-client';
 * const client = await connect({ port: 7330, reconnect: true });
 * await pollEvery(client, { intervalMs: 500, signal }, (r) => console.log(r.value));
 * ```
 */
export async function pollEvery(
  client: PollClient,
  options: PollEveryOptions,
  onReading: (reading: PolledReading) => void,
): Promise<void> {
  const { intervalMs: interval, signal, onMiss } = options;
  if (!(typeof interval === 'number' && interval > 0 && Number.isFinite(interval))) {
    throw new RangeError(`intervalMs must be a positive number of ms (got ${String(interval)})`);
  }
  const sensors = options.sensors ?? [];
  const request = { timeoutMs: options.timeoutMs ?? Math.max(1000, interval), ...(signal && { signal }) };
  const lastSeq = new Map<string, number>();
  const aborted = (): boolean => signal?.aborted === true;
  const start = performance.now();
  for (let k = 0; !aborted() && client.state !== 'closed'; k++) {
    if (client.state !== 'connected') {
      for (const name of sensors.length === 0 ? ['default'] : sensors) onMiss?.(name, undefined);
    } else if (sensors.length === 0) {
      try {
        const value = await client.poll(request);
        onReading({ name: 'default', value, timestampMs: Date.now(), seq: undefined });
      } catch (error) {
        if (!aborted()) onMiss?.('default', error);
      }
    } else {
      const replies = await Promise.allSettled(sensors.map((name) => client.get(name, request)));
      replies.forEach((reply, i) => {
        const name = sensors[i]!;
        if (reply.status === 'rejected') {
          if (!aborted()) onMiss?.(name, reply.reason);
          return;
        }
        if (options.skipRepeats === true) {
          if (lastSeq.get(name) === reply.value.seq) return; // the same reading again: nothing new
          lastSeq.set(name, reply.value.seq);
        }
        onReading(reply.value);
      });
    }
    // If a poll took longer than the interval, skip the ticks it overran.
    const next = Math.max(k + 1, Math.ceil((performance.now() - start) / interval));
    k = next - 1;
    // Resolves early (rejecting, caught) when the signal aborts; the loop condition then ends it.
    await sleep(Math.max(0, start + next * interval - performance.now()), undefined, { signal }).catch(() => {});
  }
}
