/**
 * The replication seam: how a server shares its sensors with other nodes without knowing the engine that carries
 * them (docs/CLUSTER.md, "How a reading flows in a cluster").
 *
 * How it works: once a {@link Replicator} is attached (`server.replicate(replicator)`), every reading the server
 * ingests, by any path (UDP, `ingest()`, the legacy bare number to `default`), goes to `replicator.forward()`
 * instead of into the sensor store. Readings reach the store only through the {@link ReplicaApplier} the attach
 * returns, batch by batch in the order of the shared log: `reading()` for each reading, then `endBatch(logSeq)`,
 * which records the batch's log seq and writes the readings and that seq to the durable store in one log record.
 * Every node applies the same batches in the same order, so every node gives a reading the same per-sensor seq and
 * holds the same history and loss counters. After a restart, `lastAppliedSeq` says where to resume.
 */

/**
 * The figures a replicator adds to `STATS` (all 0 without one).
 *
 * @example
 * ```ts
 * const { cluster_state, cluster_backlog } = server.stats();
 * ```
 */
export interface ReplicationStats {
  /** 0: no replication; 1: connecting; 2: connected; 3: disconnected (reconnecting); 4: halted; 5: closed. */
  cluster_state: number;
  /** Log messages this node has not applied yet (the log's last seq, as last seen, minus the last applied). */
  cluster_stream_lag: number;
  /** Readings this node took in and the log stored. */
  cluster_forwarded: number;
  /** Readings applied from the log, every node's (duplicates of a sender-seq and sensors past the limit included). */
  cluster_applied: number;
  /** Publishes to the log that failed or timed out (each is tried again). */
  cluster_publish_errors: number;
  /** Readings taken in and not yet stored in the log. */
  cluster_backlog: number;
  /** Bytes the backlog takes on disk (0 when it is kept in memory only: `--memory`). */
  cluster_backlog_bytes: number;
  /** Readings refused because the backlog was full. */
  cluster_dropped: number;
  /** The log seq of the last batch applied, kept with the readings. */
  cluster_last_applied_seq: number;
}

/** The codes of `cluster_state`. */
export const CLUSTER_STATES = Object.freeze({
  off: 0,
  connecting: 1,
  connected: 2,
  disconnected: 3,
  halted: 4,
  closed: 5,
} as const);

const NO_REPLICATION: Readonly<ReplicationStats> = Object.freeze({
  cluster_state: 0,
  cluster_stream_lag: 0,
  cluster_forwarded: 0,
  cluster_applied: 0,
  cluster_publish_errors: 0,
  cluster_backlog: 0,
  cluster_backlog_bytes: 0,
  cluster_dropped: 0,
  cluster_last_applied_seq: 0,
});

/** The replication figures of a server that shares nothing. */
export function noReplicationStats(): ReplicationStats {
  return { ...NO_REPLICATION };
}

/**
 * What a server hands the readings it ingests to, when it is one node of several.
 *
 * @example
 * ```ts
 * const replicator: Replicator = {
 *   forward: (name, value, timestampMs, senderSeq) => log.push({ name, value, timestampMs, senderSeq }),
 *   stats: () => ({ ...noReplicationStats(), cluster_state: CLUSTER_STATES.connected }),
 *   close: async () => {},
 * };
 * const applier = server.replicate(replicator);
 * ```
 */
export interface Replicator {
  /**
   * Takes one reading this node ingested. `timestampMs` is always set (the server fills in its clock for a reading
   * sent without one, so every node stores the same); `senderSeq` is -1 for none. False when it cannot take it
   * (a full backlog): the server reports the reading as rejected.
   */
  forward(name: string, value: number, timestampMs: number, senderSeq: number): boolean;
  /** The figures for `STATS`; see {@link ReplicationStats}. */
  stats(): ReplicationStats;
  /**
   * Called by `server.close()` after ingest stopped and before the durable store closes: forward what is pending
   * if it can, stop applying. May still apply batches until it resolves.
   */
  close(): Promise<void>;
}

/**
 * How a replicator puts the shared log's readings into the server, batch by batch, in log order.
 *
 * @example
 * ```ts
 * for (const r of batch.readings) applier.reading(r.name, r.value, r.timestampMs, r.senderSeq);
 * applier.endBatch(logSeq); // readings and seq in one write
 * ```
 */
export interface ReplicaApplier {
  /** The log seq of the last batch applied, as the durable store kept it (0 for none, and without storage). */
  readonly lastAppliedSeq: number;
  /**
   * Stores one reading of the batch being applied, as local ingest does without replication (loss tracking, the
   * sensor limit, pushes to subscribers). True when it was stored.
   */
  reading(name: string, value: number, timestampMs: number, senderSeq: number): boolean;
  /**
   * Ends the batch with log seq `logSeq` (above {@link lastAppliedSeq}): records it and writes the batch's readings
   * and the seq to the durable store with one write, so after any crash the store holds both or neither.
   */
  endBatch(logSeq: number): void;
}

/** Thrown by `server.replicate()` for a second replicator, or after `close()`. */
export class ReplicationError extends Error {
  override readonly name = 'ReplicationError';
  /** `ERR_REPLICATING` (a replicator is attached already) or `ERR_SERVER_CLOSED`. */
  readonly code: 'ERR_REPLICATING' | 'ERR_SERVER_CLOSED';

  constructor(code: ReplicationError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
