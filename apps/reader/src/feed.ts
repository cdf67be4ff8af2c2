/**
 * Where the reader's readings come from: a poll every interval (the seed's
 * lector, `n` for the default sensor, `GET` for named ones) or live
 * subscriptions. Both modes hand each reading to one callback, so the plain
 * printer and the dashboard are fed the same way.
 */
import { pollEvery, ProtocolError, type OpcClient } from '@opc-lite/reader-client';
import type { PrintedReading } from './format.js';

export interface FeedOptions {
  readonly pollIntervalMs: number | undefined;
  readonly sensors: readonly string[];
  readonly patterns: readonly string[];
  readonly backlog: number;
  readonly signal: AbortSignal;
  /** Called for a failed poll (server gone, sensor unknown); the feed carries on. */
  readonly onPollError?: (error: unknown, sensor: string) => void;
  /** Called when the server answers: a subscription confirmed, a poll answered (a reading or an `ERR`). */
  readonly onAnswer?: () => void;
}

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
        const subscription = client.subscribe(pattern, { backlog: options.backlog, signal });
        subscription.ready.then(options.onAnswer, () => undefined);
        for await (const r of subscription) {
          onReading(r);
        }
      }),
    );
    return;
  }

  // On the seed's schedule, without its drift (see pollEvery).
  await pollEvery(
    client,
    {
      intervalMs: options.pollIntervalMs,
      sensors: options.sensors,
      signal,
      // A tick with no server to ask (yet, or for now) is skipped without a word: the client reports its state.
      onMiss: (sensor, error) => {
        if (error instanceof ProtocolError) options.onAnswer?.(); // `ERR not-found` is an answer
        if (error !== undefined) options.onPollError?.(error, sensor);
      },
    },
    (reading) => {
      options.onAnswer?.();
      onReading(reading);
    },
  );
}
