/**
 * Where the reader's readings come from: a poll every interval (the seed's
 * lector, `n` for the default sensor, `GET` for named ones) or live
 * subscriptions. Both modes hand each reading to one callback, so the plain
 * printer and the dashboard are fed the same way.
 */
import type { OpcClient } from '@opc-lite/reader-client';
import type { PrintedReading } from './format.js';

export interface FeedOptions {
  readonly pollIntervalMs: number | undefined;
  readonly sensors: readonly string[];
  readonly patterns: readonly string[];
  readonly backlog: number;
  readonly signal: AbortSignal;
  /** Called for a failed poll (server gone, sensor unknown); the feed carries on. */
  readonly onPollError?: (error: unknown, sensor: string) => void;
}

const sleepUntil = (when: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, when - performance.now()));
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Runs until the signal aborts (or the client closes for good), calling
 * `onReading` for every reading.
 *
 * @example
 * ```ts
 * await runFeed(client, { pollIntervalMs: 500, sensors: [], patterns: [], backlog: 0, signal }, print);
 * ```
 */
export async function runFeed(
  client: OpcClient,
  options: FeedOptions,
  onReading: (reading: PrintedReading) => void,
): Promise<void> {
  const { signal } = options;
  if (options.pollIntervalMs === undefined) {
    await Promise.all(
      options.patterns.map(async (pattern) => {
        for await (const r of client.subscribe(pattern, { backlog: options.backlog, signal })) {
          onReading(r);
        }
      }),
    );
    return;
  }

  // Polls are scheduled from the start time (tick k at t0 + k·interval), so
  // they do not drift by the round-trip time as the seed's loop did.
  const interval = options.pollIntervalMs;
  const start = performance.now();
  for (let k = 0; !signal.aborted && client.state !== 'closed'; k++) {
    if (client.state !== 'connected') {
      // No server to ask (yet, or for now): skip the tick rather than queue polls that would time out.
    } else if (options.sensors.length === 0) {
      try {
        const value = await client.poll({ signal, timeoutMs: Math.max(1000, interval) });
        onReading({ name: 'default', value, timestampMs: Date.now(), seq: undefined });
      } catch (error) {
        if (!signal.aborted) options.onPollError?.(error, 'default');
      }
    } else {
      const replies = await Promise.allSettled(
        options.sensors.map((name) => client.get(name, { signal, timeoutMs: Math.max(1000, interval) })),
      );
      replies.forEach((reply, i) => {
        if (reply.status === 'fulfilled') onReading(reply.value);
        else if (!signal.aborted) options.onPollError?.(reply.reason, options.sensors[i]!);
      });
    }
    // If a poll took longer than the interval, skip the ticks it overran.
    const next = Math.max(k + 1, Math.ceil((performance.now() - start) / interval));
    k = next - 1;
    await sleepUntil(start + next * interval, signal);
  }
}
