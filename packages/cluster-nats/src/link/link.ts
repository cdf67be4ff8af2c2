// How it works: three loops share one NATS connection.
//
// - The connection loop connects (retrying with backoff while no server
//   answers, logging the first failure once), creates or updates the stream,
//   learns the batch seq this node last stored, and then serves that
//   connection until it closes for good. The NATS client reconnects on its
//   own meanwhile; `state` follows its status events.
// - The publish loop takes the oldest waiting readings from the outbox as one
//   batch, one event-loop turn after the first of them arrived, and publishes
//   it with the message id `<node>:<batchSeq>`. One batch is in flight at a
//   time, so a node's batches are stored in its order; readings that arrive
//   meanwhile wait for the next batch. A failed or timed-out publish is tried
//   again after a backoff, with the same bytes and id; before trying again
//   the loop asks the stream for the last message on this node's subject, and
//   if that is this batch (or a later one), the batch is stored and is not
//   sent again. So a batch is stored once even when its first try is older
//   than the duplicate window. The outbox is in memory, or with `outboxDir`
//   also on disk (src/link/disk-outbox.ts); a batch it took before a restart
//   comes back first, with its batch seq, and the same question is asked
//   before it is sent.
// - The apply loop reads the stream with an ordered consumer from the message
//   after the last one applied. It applies a message only if its stream seq
//   is exactly one more than the last applied: a repeat (a consumer that was
//   recreated a little behind) is skipped, and a gap stops the consumer and
//   starts a new one from the last applied seq. Each consumer starts by
//   reading the stream's state, so a stream that no longer holds the next
//   message (retention) or ends before the last applied one halts the link
//   instead of skipping. A check every `checkIntervalMs` that finds nothing
//   applied since the previous one reads the stream's last seq (for
//   `streamLag`), and after three such checks behind the stream recreates the
//   consumer.

import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { decodeBatch } from '../codec/batch.js';
import { ClusterLinkError } from './errors.js';
import { resolveOptions, type ClusterLinkOptions, type ResolvedOptions } from './options.js';
import { DiskOutbox } from './disk-outbox.js';
import { Outbox, type ReadingQueue } from './outbox.js';
import { chooseReplicas, clusterSize, streamConfig, streamDiff } from './stream.js';

/**
 * `'connecting'`: no connection yet (or it closed for good), or the stream is not set up yet; `'connected'`: ready to
 * publish and apply; `'disconnected'`: the connection dropped and the client is reconnecting; `'closed'`: after
 * `close()`.
 */
export type ClusterLinkState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** Counters of a link; see {@link ClusterLink.stats}. */
export interface ClusterLinkStats {
  /** Readings in batches JetStream acknowledged. */
  publishedReadings: number;
  /** Batches JetStream acknowledged (a repeat it dropped, or one found stored, included). */
  publishedBatches: number;
  /** Of those, batches found already stored: a duplicate acknowledgement, or the stream's last message on retry. */
  duplicateBatches: number;
  /** Publish tries that failed or timed out. */
  publishErrors: number;
  /** Publishes tried again. */
  retries: number;
  /** Readings waiting or in flight. */
  pendingReadings: number;
  /** Bytes they take in `outboxDir` (their encoded readings; 0 without `outboxDir`). */
  pendingBytes: number;
  /** Readings refused because `maxPendingReadings` were pending (`maxOutboxBytes` held, with `outboxDir`). */
  dropped: number;
  /** Writes and syncs to `outboxDir` that failed (its readings then wait in memory only). */
  outboxWriteFailures: number;
  /** Batches passed to `apply`. */
  appliedBatches: number;
  /** Readings in them. */
  appliedReadings: number;
  /** The stream seq of the last batch applied (or skipped as corrupt); `start()`'s argument before any. */
  lastAppliedSeq: number;
  /** The stream's last seq, as last seen (an acknowledgement, a delivery, a check). */
  streamLastSeq: number;
  /** `streamLastSeq − lastAppliedSeq`, at least 0. */
  streamLag: number;
  /** Messages delivered again after a consumer was recreated, and skipped. */
  redeliveries: number;
  /** Messages that are not batches (or whose origin is not their subject's), skipped and logged. */
  corruptBatches: number;
  /** Consumers created after the first. */
  consumerRestarts: number;
  /** The stream's replicas once set up, else 0. */
  replicas: number;
}

/**
 * A node's link to the cluster: it publishes the readings this node ingests and applies every node's readings in
 * stream order.
 */
export interface ClusterLink {
  /** See {@link ClusterLinkState}. */
  readonly state: ClusterLinkState;
  /** The subject this node publishes on: `<subjectPrefix>.<nodeName>`. */
  readonly subject: string;
  /**
   * Begins applying the stream after `afterStreamSeq` (the last one this node applied and kept; 0 for none).
   * Throws `ERR_STARTED` the second time, `ERR_CLOSED` after `close()`, a `RangeError` for a bad seq.
   */
  start(afterStreamSeq?: number): void;
  /**
   * Queues a reading for this turn's batch. False when `maxPendingReadings` are pending (counted in `dropped`) or
   * after `close()`. Throws a `TypeError`/`RangeError` for a reading that cannot be encoded.
   */
  publish(name: string, value: number, timestampMs: number, senderSeq?: number): boolean;
  /** Counters; see {@link ClusterLinkStats}. */
  stats(): ClusterLinkStats;
  /**
   * Stops taking readings, publishes what is pending for up to `closeTimeoutMs` (with `outboxDir`, only while
   * connected: what is left waits there), stops applying and closes the connection. Idempotent: every call returns
   * the same promise. Never rejects.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Session {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  maxBatchBytes: number;
}

/**
 * Creates a link and starts connecting in the background; it never throws for an unreachable cluster.
 * Throws a `TypeError`/`RangeError` naming the option for an invalid one.
 *
 * @example
 * ```ts
 * const link = createClusterLink({
 *   servers: ['nats://127.0.0.1:4222'],
 *   nodeName: 'hub-1',
 *   apply(batch, streamSeq) {
 *     for (let i = 0; i < batch.length; i++) {
 *       store.reading(batch.names[i], batch.values[i], batch.timestampsMs[i], batch.senderSeqs[i]);
 *     }
 *     lastApplied = streamSeq; // kept with the readings, to start from after a restart
 *   },
 * });
 * link.start(lastApplied);
 * link.publish('plant1/boiler.temp', 81.5, Date.now(), 42); // every node applies it, this one included
 * ```
 */
export function createClusterLink(options: ClusterLinkOptions): ClusterLink {
  return new Link(resolveOptions(options));
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });

class Link implements ClusterLink {
  readonly subject: string;
  readonly #o: ResolvedOptions;
  readonly #outbox: ReadingQueue;
  readonly #abort = new AbortController();
  #state: ClusterLinkState = 'connecting';
  #session: Session | undefined;
  #sessionWaiters: Array<(session: Session | undefined) => void> = [];
  #nextBatchSeq = 0;
  #closing = false;
  #closePromise: Promise<void> | undefined;
  #wakePump: (() => void) | undefined;
  #wakeScheduled = false;
  #drained: (() => void) | undefined;
  #loops: Promise<void>[] = [];
  #started = false;
  #halted = false;
  #messages: ConsumerMessages | undefined;
  #applying = false;
  #checkTimer: NodeJS.Timeout | undefined;
  #stalledChecks = 0;
  #appliedAtLastCheck = 0;
  readonly #s = {
    publishedReadings: 0,
    publishedBatches: 0,
    duplicateBatches: 0,
    publishErrors: 0,
    retries: 0,
    appliedBatches: 0,
    appliedReadings: 0,
    lastAppliedSeq: 0,
    streamLastSeq: 0,
    redeliveries: 0,
    corruptBatches: 0,
    consumerRestarts: -1,
    replicas: 0,
  };

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.subject = `${options.subjectPrefix}.${options.nodeName}`;
    this.#outbox = options.outboxDir === undefined ? new Outbox(options.maxPendingReadings) : this.#openOutbox();
    this.#loops.push(this.#connectLoop(), this.#publishLoop());
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) void this.close();
      else signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  /** Opens `outboxDir` and says what it held; throws `ERR_OUTBOX` when it cannot. */
  #openOutbox(): DiskOutbox {
    const o = this.#o;
    const dir = o.outboxDir as string;
    let opened: ReturnType<typeof DiskOutbox.open> | undefined;
    try {
      opened = DiskOutbox.open({
        dir,
        maxBytes: o.maxOutboxBytes,
        maxChunkReadings: o.maxBatchReadings,
        maxChunkBytes: Math.max(1024, Math.min(64 * 1024, Math.floor(o.maxBatchBytes / 2))),
        fsync: o.outboxFsync,
        fsyncIntervalMs: o.outboxFsyncIntervalMs,
        onError: (error, operation) => {
          // An error line for the first failure, debug after it: a full disk fails every turn.
          const log =
            opened?.outbox.writeFailures === 1 ? o.logger.error.bind(o.logger) : o.logger.debug.bind(o.logger);
          log(
            { err: error, dir, operation },
            `cluster: cannot ${operation} the outbox in ${dir}; readings wait in memory`,
          );
        },
      });
    } catch (error) {
      throw new ClusterLinkError(
        'ERR_OUTBOX',
        `cannot open the cluster outbox in ${dir}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const { outbox, recovery } = opened;
    if (recovery.bytesDropped > 0) {
      o.logger.warn({ dir, ...recovery }, `cluster: the outbox in ${dir} ended in a torn or damaged write; cut away`);
    }
    if (recovery.readings > 0) {
      o.logger.info(
        { dir, readings: recovery.readings, batchSeq: recovery.batchSeq },
        `cluster: ${recovery.readings} readings waiting in ${dir} from before the restart; forwarding them`,
      );
    }
    return outbox;
  }

  get state(): ClusterLinkState {
    return this.#state;
  }

  start(afterStreamSeq = 0): void {
    if (this.#closing) throw new ClusterLinkError('ERR_CLOSED', 'the cluster link is closed');
    if (this.#started) throw new ClusterLinkError('ERR_STARTED', 'the cluster link is already applying the stream');
    if (!Number.isSafeInteger(afterStreamSeq) || afterStreamSeq < 0) {
      throw Object.assign(
        new RangeError(`afterStreamSeq must be an integer from 0 to 2^53-1, got ${String(afterStreamSeq)}`),
        { code: 'ERR_OUT_OF_RANGE' },
      );
    }
    this.#started = true;
    this.#s.lastAppliedSeq = afterStreamSeq;
    this.#s.streamLastSeq = Math.max(this.#s.streamLastSeq, afterStreamSeq);
    this.#appliedAtLastCheck = 0;
    this.#loops.push(this.#applyLoop());
    this.#checkTimer = setInterval(() => void this.#check(), this.#o.checkIntervalMs);
    this.#checkTimer.unref();
  }

  publish(name: string, value: number, timestampMs: number, senderSeq = -1): boolean {
    if (this.#closing) return false;
    if (!this.#outbox.add(name, value, timestampMs, senderSeq)) return false;
    if (!this.#wakeScheduled && this.#wakePump !== undefined) {
      this.#wakeScheduled = true;
      setImmediate(() => {
        this.#wakeScheduled = false;
        const wake = this.#wakePump;
        this.#wakePump = undefined;
        wake?.();
      });
    }
    return true;
  }

  stats(): ClusterLinkStats {
    const s = this.#s;
    return {
      ...s,
      consumerRestarts: Math.max(0, s.consumerRestarts),
      pendingReadings: this.#outbox.pending,
      pendingBytes: this.#outbox.bytes,
      dropped: this.#outbox.dropped,
      outboxWriteFailures: this.#outbox.writeFailures,
      streamLag: Math.max(0, s.streamLastSeq - s.lastAppliedSeq),
    };
  }

  close(): Promise<void> {
    return (this.#closePromise ??= this.#close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#closing = true;
    const log = this.#o.logger;
    if (this.#outbox.pending > 0) {
      // Readings kept in an outboxDir wait there for the next start: no use waiting for a NATS that is away.
      if (this.#o.outboxDir === undefined || this.#state === 'connected') {
        const drained = new Promise<void>((resolve) => (this.#drained = resolve));
        await Promise.race([drained, sleep(this.#o.closeTimeoutMs, this.#abort.signal)]);
      }
      if (this.#outbox.pending > 0) {
        const dir = this.#o.outboxDir;
        log.warn(
          { pendingReadings: this.#outbox.pending, closeTimeoutMs: this.#o.closeTimeoutMs, outboxDir: dir },
          dir === undefined
            ? `cluster: closing with ${this.#outbox.pending} readings not stored`
            : `cluster: closing with ${this.#outbox.pending} readings not stored; they wait in ${dir} for the next start`,
        );
      }
    }
    this.#abort.abort();
    this.#wakePump?.();
    clearInterval(this.#checkTimer);
    await this.#messages?.close().catch(() => undefined);
    const session = this.#session;
    this.#session = undefined;
    for (const waiter of this.#sessionWaiters.splice(0)) waiter(undefined);
    await session?.nc.close().catch(() => undefined);
    await Promise.allSettled(this.#loops);
    this.#outbox.close();
    this.#state = 'closed';
    log.info({ node: this.#o.nodeName, ...this.stats() }, 'cluster: link closed');
  }

  // --- connection ---

  #whenSession(): Promise<Session | undefined> {
    if (this.#abort.signal.aborted) return Promise.resolve(undefined);
    if (this.#session !== undefined) return Promise.resolve(this.#session);
    return new Promise((resolve) => this.#sessionWaiters.push(resolve));
  }

  #delay(attempt: number): number {
    const { retryMinMs, retryMaxMs } = this.#o;
    const base = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(attempt, 30));
    return Math.round(base * (0.8 + 0.2 * Math.random()));
  }

  async #connectLoop(): Promise<void> {
    const o = this.#o;
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          reconnectTimeWait: 250,
          reconnectJitter: 100,
          pingInterval: 10_000,
          maxPingOut: 3,
          timeout: 5000,
          name: `opc-lite ${o.nodeName}`,
          ...(o.connectionOptions as Partial<NodeConnectionOptions>),
          servers: o.servers,
          reconnect: true,
          maxReconnectAttempts: -1,
        });
      } catch (error) {
        if (failures === 0) {
          o.logger.warn(
            { err: error, servers: o.servers },
            `cluster: cannot reach NATS at ${o.servers.join(', ')}; retrying every ${o.retryMaxMs} ms at most`,
          );
        } else {
          o.logger.debug({ err: error, attempt: failures + 1 }, 'cluster: NATS still unreachable');
        }
        await sleep(this.#delay(failures++), signal);
        continue;
      }
      if (signal.aborted) {
        await nc.close().catch(() => undefined);
        break;
      }
      failures = 0;
      o.logger.info({ server: nc.getServer(), node: o.nodeName }, 'cluster: connected to NATS');
      const statusLoop = this.#watchStatus(nc);
      const session = await this.#setUp(nc);
      if (session !== undefined && !signal.aborted) {
        this.#session = session;
        if (!nc.isClosed()) this.#state = 'connected';
        for (const waiter of this.#sessionWaiters.splice(0)) waiter(session);
      }
      const closed = await nc.closed();
      await statusLoop;
      if (this.#session?.nc === nc) this.#session = undefined;
      if (signal.aborted) break;
      o.logger.warn({ err: closed }, 'cluster: NATS connection closed; connecting again');
      this.#state = 'connecting';
    }
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    const log = this.#o.logger;
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        if (this.#state === 'connected') this.#state = 'disconnected';
        log.warn({ server: s.server }, 'cluster: disconnected from NATS; reconnecting');
      } else if (s.type === 'reconnect') {
        if (this.#session?.nc === nc) this.#state = 'connected';
        log.info({ server: s.server }, 'cluster: reconnected to NATS');
      }
    }
  }

  /** Sets up the stream and the batch seq on a fresh connection; retries until it works or the connection closes. */
  async #setUp(nc: NatsConnection): Promise<Session | undefined> {
    const o = this.#o;
    const signal = this.#abort.signal;
    const maxBatchBytes = Math.min(o.maxBatchBytes, (nc.info?.max_payload ?? o.maxBatchBytes) - 1024);
    for (let attempt = 0; !signal.aborted && !nc.isClosed(); attempt++) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: o.publishTimeoutMs, checkAPI: false });
        const js = jetstream(nc, { timeout: o.publishTimeoutMs });
        await this.#ensureStream(nc, jsm);
        if (this.#nextBatchSeq === 0) this.#nextBatchSeq = (await this.#lastStoredBatchSeq(jsm)) + 1;
        return { nc, js, jsm, maxBatchBytes };
      } catch (error) {
        const log = attempt === 0 ? o.logger.warn.bind(o.logger) : o.logger.debug.bind(o.logger);
        log({ err: error, stream: o.stream }, `cluster: cannot set up stream ${o.stream} yet; retrying`);
        await sleep(this.#delay(attempt), signal);
      }
    }
    return undefined;
  }

  async #ensureStream(nc: NatsConnection, jsm: JetStreamManager): Promise<void> {
    const o = this.#o;
    let existing: StreamInfo | undefined;
    try {
      existing = await jsm.streams.info(o.stream);
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    const size = clusterSize(nc.info);
    const { replicas, clamped } = chooseReplicas(o.replicas, size, existing?.config.num_replicas);
    const wanted = streamConfig(o, replicas);
    if (existing === undefined) {
      const info = await jsm.streams.add(wanted);
      this.#s.replicas = info.config.num_replicas;
      o.logger.info({ stream: o.stream, replicas: info.config.num_replicas }, `cluster: created stream ${o.stream}`);
    } else {
      const diff = streamDiff(existing.config, wanted);
      if (diff.length > 0) {
        const info = await jsm.streams.update(o.stream, { ...existing.config, ...pick(wanted, diff) });
        o.logger.info({ stream: o.stream, changed: diff }, `cluster: updated stream ${o.stream}`);
        this.#s.replicas = info.config.num_replicas;
      } else {
        this.#s.replicas = existing.config.num_replicas;
      }
      this.#s.streamLastSeq = Math.max(this.#s.streamLastSeq, existing.state.last_seq);
    }
    if (clamped) {
      o.logger.warn(
        { stream: o.stream, requested: o.replicas, servers: size, replicas: this.#s.replicas },
        `cluster: ${o.replicas} replicas asked for, but the cluster has ${size ?? '?'} servers; stream ${o.stream} has ${this.#s.replicas}`,
      );
    }
  }

  /** The batch seq of the last message stored on this node's subject, 0 when there is none. */
  async #lastStoredBatchSeq(jsm: JetStreamManager): Promise<number> {
    const stored = await jsm.streams.getMessage(this.#o.stream, { last_by_subj: this.subject });
    if (stored === null) return 0;
    this.#s.streamLastSeq = Math.max(this.#s.streamLastSeq, stored.seq);
    try {
      const batch = decodeBatch(stored.data);
      if (batch.origin !== this.#o.nodeName) throw new Error(`its origin is ${batch.origin}`);
      return batch.batchSeq;
    } catch (error) {
      this.#o.logger.error(
        { err: error, streamSeq: stored.seq, subject: this.subject },
        'cluster: the last message on this node’s subject is not one of its batches',
      );
      return 0;
    }
  }

  // --- publishing ---

  async #publishLoop(): Promise<void> {
    const o = this.#o;
    const outbox = this.#outbox;
    const signal = this.#abort.signal;
    let attempt = 0;
    // A batch taken before a restart may be stored already: ask the stream before sending it.
    let ask = false;
    while (!signal.aborted) {
      if (outbox.inFlight === undefined) {
        if (outbox.waiting === 0) {
          if (this.#closing) this.#drained?.();
          // publish() wakes the loop one turn after the first reading, so the turn's readings go together.
          await new Promise<void>((resolve) => (this.#wakePump = resolve));
          continue;
        }
        const session = await this.#whenSession();
        if (session === undefined) break;
        const recovered = outbox.recoveredBatchSeq;
        if (recovered === undefined) {
          outbox.take(o.nodeName, this.#nextBatchSeq++, o.maxBatchReadings, session.maxBatchBytes);
        } else {
          outbox.take(o.nodeName, recovered, o.maxBatchReadings, session.maxBatchBytes);
          this.#nextBatchSeq = Math.max(this.#nextBatchSeq, recovered + 1);
        }
        attempt = 0;
        ask = recovered !== undefined;
      }
      const batch = outbox.inFlight;
      const session = await this.#whenSession();
      if (batch === undefined || session === undefined) break;
      try {
        if (attempt > 0 || ask) {
          if (attempt > 0) this.#s.retries++;
          const stored = await this.#lastStoredBatchSeq(session.jsm);
          ask = false;
          if (stored >= batch.batchSeq) {
            this.#stored(batch.count, true);
            continue;
          }
        }
        const ack = await session.js.publish(this.subject, batch.bytes, {
          msgID: `${o.nodeName}:${batch.batchSeq}`,
          timeout: o.publishTimeoutMs,
        });
        this.#s.streamLastSeq = Math.max(this.#s.streamLastSeq, ack.seq);
        this.#stored(batch.count, ack.duplicate);
        // Readings that came in while the batch was in flight: let this turn's others join them.
        if (outbox.waiting > 0) await nextTurn();
      } catch (error) {
        this.#s.publishErrors++;
        const log = attempt === 0 ? o.logger.warn.bind(o.logger) : o.logger.debug.bind(o.logger);
        log(
          { err: error, batchSeq: batch.batchSeq, readings: batch.count, pendingReadings: outbox.pending },
          'cluster: publish failed; trying again',
        );
        await sleep(this.#delay(attempt++), signal);
      }
    }
  }

  #stored(count: number, duplicate: boolean): void {
    this.#outbox.ack();
    this.#s.publishedBatches++;
    this.#s.publishedReadings += count;
    if (duplicate) this.#s.duplicateBatches++;
  }

  // --- applying ---

  async #applyLoop(): Promise<void> {
    const o = this.#o;
    const signal = this.#abort.signal;
    let attempt = 0;
    let gapAt = -1;
    while (!signal.aborted && !this.#halted) {
      const session = await this.#whenSession();
      if (session === undefined) break;
      const expected = this.#s.lastAppliedSeq + 1;
      let messages: ConsumerMessages | undefined;
      let gap = false;
      try {
        const info = await session.jsm.streams.info(o.stream);
        const { first_seq: firstSeq, last_seq: lastSeq } = info.state;
        this.#s.streamLastSeq = lastSeq;
        if (lastSeq < expected - 1) {
          this.#halt(
            new ClusterLinkError(
              'ERR_STREAM_BEHIND',
              `stream ${o.stream} ends at seq ${lastSeq}, before seq ${expected - 1} that this node applied: it is not the stream this node applied`,
            ),
          );
          break;
        }
        if (firstSeq > expected) {
          this.#halt(
            new ClusterLinkError(
              'ERR_STREAM_GAP',
              `stream ${o.stream} no longer holds seq ${expected} (it starts at ${firstSeq}): this node missed batches`,
            ),
          );
          break;
        }
        const consumer = await session.js.consumers.get(o.stream, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: expected,
        });
        // Up to 128 batches buffered, a few MiB of typical ones. A byte budget (max_bytes) instead holds small
        // batches back by seconds with nats-server 2.9.
        messages = await consumer.consume({
          max_messages: 128,
          expires: 2 * o.heartbeatMs,
          idle_heartbeat: o.heartbeatMs,
        });
        this.#messages = messages;
        this.#s.consumerRestarts++;
        attempt = 0;
        for await (const m of messages) {
          const seq = m.seq;
          const last = this.#s.lastAppliedSeq;
          if (seq <= last) {
            this.#s.redeliveries++;
            continue;
          }
          if (seq !== last + 1) {
            if (gapAt === last + 1) {
              this.#halt(
                new ClusterLinkError(
                  'ERR_STREAM_GAP',
                  `stream ${o.stream} has no message ${last + 1}; it skips to ${seq}`,
                ),
              );
              break;
            }
            o.logger.warn({ expected: last + 1, got: seq }, 'cluster: the consumer skipped messages; recreating it');
            gap = true;
            gapAt = last + 1;
            break;
          }
          gapAt = -1;
          this.#s.streamLastSeq = Math.max(this.#s.streamLastSeq, seq + m.info.pending);
          if (!(await this.#applyMessage(m.subject, m.data, seq))) break;
          if (signal.aborted) break;
        }
      } catch (error) {
        if (signal.aborted) break;
        o.logger.warn(
          { err: error, afterStreamSeq: this.#s.lastAppliedSeq },
          'cluster: stream consumer failed; resuming after the last applied batch',
        );
        await sleep(this.#delay(attempt++), signal);
      } finally {
        if (this.#messages === messages) this.#messages = undefined;
        await messages?.close().catch(() => undefined);
      }
      if (!gap && !signal.aborted && !this.#halted && messages !== undefined) {
        o.logger.debug({ afterStreamSeq: this.#s.lastAppliedSeq }, 'cluster: stream consumer ended; recreating it');
      }
    }
  }

  /** Decodes and applies one message; false when the link halted. */
  async #applyMessage(subject: string, data: Uint8Array, seq: number): Promise<boolean> {
    const o = this.#o;
    let batch;
    try {
      batch = decodeBatch(data);
      const token = subject.slice(subject.lastIndexOf('.') + 1);
      if (batch.origin !== token) throw new Error(`origin ${batch.origin} published on ${subject}`);
    } catch (error) {
      // Every node skips the same message, so their histories still agree.
      this.#s.corruptBatches++;
      this.#s.lastAppliedSeq = seq;
      o.logger.error({ err: error, streamSeq: seq, subject }, 'cluster: skipping a stream message that is not a batch');
      return true;
    }
    this.#applying = true;
    try {
      const result = o.apply(batch, seq);
      if (result !== undefined) await result;
    } catch (error) {
      this.#halt(
        new ClusterLinkError('ERR_APPLY', `apply threw on stream seq ${seq}; nothing after it is applied`, {
          cause: error,
        }),
      );
      return false;
    } finally {
      this.#applying = false;
    }
    this.#s.lastAppliedSeq = seq;
    this.#s.appliedBatches++;
    this.#s.appliedReadings += batch.length;
    return true;
  }

  #halt(error: ClusterLinkError): void {
    if (this.#halted) return;
    this.#halted = true;
    clearInterval(this.#checkTimer);
    this.#o.logger.error(
      { err: error, lastAppliedSeq: this.#s.lastAppliedSeq },
      `cluster: stopped applying: ${error.message}`,
    );
    void this.#messages?.close().catch(() => undefined);
    try {
      this.#o.onHalt?.(error);
    } catch (hookError) {
      this.#o.logger.error({ err: hookError }, 'cluster: onHalt threw');
    }
  }

  /**
   * Applying that progresses needs no look: the deliveries carry the stream's last seq. Only a check that finds
   * nothing applied since the previous one asks the stream (a stream info request goes to its leader and, every
   * second from every node, would delay publishes).
   */
  async #check(): Promise<void> {
    const session = this.#session;
    if (session === undefined || this.#halted || this.#state !== 'connected') return;
    const applied = this.#s.appliedBatches + this.#s.corruptBatches;
    if (applied !== this.#appliedAtLastCheck || this.#applying) {
      this.#appliedAtLastCheck = applied;
      this.#stalledChecks = 0;
      return;
    }
    try {
      const info = await session.jsm.streams.info(this.#o.stream);
      this.#s.streamLastSeq = info.state.last_seq;
    } catch {
      return;
    }
    if (this.#s.streamLastSeq <= this.#s.lastAppliedSeq || this.#applying) {
      this.#stalledChecks = 0;
      return;
    }
    if (++this.#stalledChecks >= 3 && this.#messages !== undefined) {
      this.#stalledChecks = 0;
      this.#o.logger.warn(
        { lastAppliedSeq: this.#s.lastAppliedSeq, streamLastSeq: this.#s.streamLastSeq },
        'cluster: applying stalled behind the stream; recreating the consumer',
      );
      await this.#messages.close().catch(() => undefined);
    }
  }
}

function isStreamNotFound(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (('code' in error && error.code === 10059) || (error as Error).name === 'StreamNotFoundError')
  );
}

function pick<T extends object>(source: T, keys: string[]): Partial<T> {
  const out: Partial<T> = {};
  for (const key of keys) (out as Record<string, unknown>)[key] = (source as Record<string, unknown>)[key];
  return out;
}
