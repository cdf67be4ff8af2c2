/**
 * The clients of a crash round and everything they were shown: subscribers
 * (`@opc-lite/reader-client` subscriptions to `*`, to two patterns and to one
 * sensor, reconnecting and resuming by themselves after the restart, plus one
 * raw `SUB *` connection read at the wire), and pollers that ask `n`, `GET`,
 * `HIST` and `RANGE` back to back until the connection drops. Each reading a
 * reply or a push showed is kept with the name of the view that showed it.
 */
import { once } from 'node:events';
import { ConnectionError, ProtocolError, connect, type OpcClient, type Subscription } from '@opc-lite/reader-client';
import type { Reading } from '@opc-lite/protocol';
import { TcpClient } from '../testing/tcp-client.js';
import type { Rng } from './rng.js';

/** A reading a client was shown, and how (`PUB *`, `GET`, `HIST`, `RANGE`, ...). */
export interface SeenReading extends Reading {
  readonly via: string;
}

/** What the pollers need of the load: the sensors, and where each one's timestamps are now. */
export interface PollTarget {
  readonly names: readonly string[];
  latest(name: string): { timestampMs: number; stepMs: number };
}

const POLL_KINDS = ['n', 'GET', 'HIST', 'RANGE'] as const;

/** Requests one poller makes at most (the loop is bounded even if the server never goes away). */
const MAX_POLLS = 100_000;

/**
 * The observing clients of one round.
 *
 * @example
 * ```ts
 * const observers = await Observers.start(port, load, rng);
 * // ... crash, restart ...
 * await observers.pollersDone;
 * await observers.close();
 * ```
 */
export class Observers {
  /** Every reading shown to any client, in the order received. */
  readonly seen: SeenReading[] = [];
  /** Every answer to the legacy poll `n` (the latest value of `default`) that was not `nan`. */
  readonly polled: number[] = [];
  /** Errors no crash explains (a refused request, a failed subscription): a round expects none. */
  readonly unexpected: string[] = [];
  /** Requests answered, per kind. */
  readonly answered: Record<(typeof POLL_KINDS)[number], number> = { n: 0, GET: 0, HIST: 0, RANGE: 0 };
  /** Resolves when every poller has stopped (the connection dropped, or the bound was reached). */
  readonly pollersDone: Promise<void>;
  readonly #clients: OpcClient[];
  readonly #subscribers: OpcClient[];
  #raw: TcpClient | undefined;
  readonly #subscriptions: Subscription[] = [];
  readonly #consumers: Promise<void>[] = [];

  private constructor(subscribers: OpcClient[], pollers: OpcClient[], target: PollTarget, rng: Rng) {
    this.#clients = [...subscribers, ...pollers];
    this.#subscribers = subscribers;
    const [all, patterns, one] = subscribers as [OpcClient, OpcClient, OpcClient];
    this.#consume(all, '*');
    this.#consume(patterns, 'plant1/*');
    this.#consume(patterns, '*.temp');
    this.#consume(one, rng.pick(target.names));
    this.pollersDone = Promise.all(pollers.map((client) => this.#poll(client, target, rng.fork()))).then(() => {});
  }

  /**
   * Connects the subscribers (with reconnect) and the pollers (without, and
   * polling at once), and resolves once every subscription is confirmed.
   */
  static async start(port: number, target: PollTarget, rng: Rng): Promise<Observers> {
    const reconnect = { initialDelayMs: 20, maxDelayMs: 200, factor: 2, jitter: 0.2 };
    const subscribers = await Promise.all(
      [0, 1, 2].map(() => connect({ port, reconnect, subscriptionQueueCapacity: 1_000_000 })),
    );
    const pollers = await Promise.all([0, 1].map(() => connect({ port })));
    const observers = new Observers(subscribers, pollers, target, rng);
    let subscribed = false;
    const raw = await TcpClient.connect(port, {
      keepReplies: false,
      onReply: (reply) => {
        if (reply.kind === 'pub') observers.seen.push({ ...reply.reading, via: 'raw PUB *' });
        else if (reply.kind === 'ok') subscribed = true;
      },
    });
    observers.#raw = raw;
    await raw.send('SUB *\n');
    await raw.waitUntil(() => (subscribed ? true : undefined), 'OK SUB *');
    await Promise.all(observers.#subscriptions.map((sub) => sub.ready));
    return observers;
  }

  /**
   * Resolves once every reconnecting client is connected to the restarted
   * server and its subscriptions are in place again: the client writes its
   * `AFTER` and `SUB` lines as it connects, so a `PING` answered after that
   * comes after their replies.
   */
  async resubscribed(timeoutMs = 10_000): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    await Promise.all(
      this.#subscribers.map(async (client) => {
        for (let attempt = 0; attempt < 100; attempt++) {
          if (client.state !== 'connected') await once(client, 'connect', { signal });
          try {
            await client.ping();
            return;
          } catch (err) {
            // The connection dropped again before the answer: wait for the next one.
            if (!(err instanceof ConnectionError)) throw err;
          }
        }
        throw new Error('a subscriber kept losing its connection');
      }),
    );
  }

  /** Closes every client (subscriptions end once their queues are drained). */
  async close(): Promise<void> {
    this.#raw?.destroy();
    await Promise.all(this.#clients.map((client) => client.close()));
    await Promise.all(this.#consumers);
  }

  #consume(client: OpcClient, pattern: string): void {
    const sub = client.subscribe(pattern, { queueCapacity: 1_000_000 });
    this.#subscriptions.push(sub);
    const via = `PUB ${pattern}`;
    this.#consumers.push(
      (async () => {
        try {
          for await (const reading of sub) this.seen.push({ ...reading, via });
        } catch (err) {
          if (!(err instanceof ConnectionError)) this.unexpected.push(`${via}: ${String(err)}`);
        }
      })(),
    );
  }

  async #poll(client: OpcClient, target: PollTarget, rng: Rng): Promise<void> {
    for (let i = 0; i < MAX_POLLS; i++) {
      const kind = rng.pick(POLL_KINDS);
      const name = rng.pick(target.names);
      try {
        if (kind === 'n') {
          const value = await client.poll();
          if (!Number.isNaN(value)) this.polled.push(value);
        } else if (kind === 'GET') {
          this.#saw(await client.get(name), 'GET');
        } else if (kind === 'HIST') {
          for (const r of await client.history(name, rng.int(1, 40))) this.#saw(r, 'HIST');
        } else {
          const { timestampMs, stepMs } = target.latest(name);
          const from = timestampMs - rng.int(0, 40) * stepMs;
          const to = rng.chance(0.5) ? 'now' : from + rng.int(0, 60) * stepMs;
          for (const r of (await client.range(name, from, to)).readings) this.#saw(r, 'RANGE');
        }
        this.answered[kind]++;
      } catch (err) {
        // A sensor no reading of has arrived yet.
        if (err instanceof ProtocolError && err.code === 'not-found') continue;
        // The crash: the connection is gone.
        if (err instanceof ConnectionError) return;
        this.unexpected.push(`${kind} ${name}: ${String(err)}`);
        return;
      }
    }
  }

  #saw(reading: Reading, via: string): void {
    this.seen.push({
      name: reading.name,
      value: reading.value,
      timestampMs: reading.timestampMs,
      seq: reading.seq,
      via,
    });
  }
}
