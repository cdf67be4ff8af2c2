// How it works: `attachCluster` joins an opc-server to the stream. It creates
// a link whose `apply` puts each batch's readings into the server through the
// applier `server.replicate()` returns, then ends the batch with its stream
// seq (the server keeps it with the readings, in one write); it hands the
// server a replicator whose `forward` is `link.publish`, so whatever the
// server ingests goes to the stream and comes back, on every node, in stream
// order. Then it starts the link after the stream seq the server last kept.
// The server is not imported: it is described by the few members used, so
// this package depends on the NATS client (and `@opc-lite/tsdb`'s log, for
// the disk outbox) only.

import { ClusterLinkError } from '../link/errors.js';
import { createClusterLink, type ClusterLink } from '../link/link.js';
import type { ClusterLinkOptions } from '../link/options.js';

/** `cluster_state` codes, as `@opc-lite/opc-server`'s `CLUSTER_STATES`. */
const STATE_CODES = Object.freeze({ connecting: 1, connected: 2, disconnected: 3, halted: 4, closed: 5 } as const);

/** The figures the server adds to `STATS`: `@opc-lite/opc-server`'s `ReplicationStats`. */
export interface ClusterStats {
  cluster_state: number;
  cluster_stream_lag: number;
  cluster_forwarded: number;
  cluster_applied: number;
  cluster_publish_errors: number;
  cluster_backlog: number;
  cluster_backlog_bytes: number;
  cluster_dropped: number;
  cluster_last_applied_seq: number;
}

/** What {@link attachCluster} needs of a server: `@opc-lite/opc-server`'s `OpcServer.replicate`. */
export interface ReplicableServer {
  replicate(replicator: {
    forward(name: string, value: number, timestampMs: number, senderSeq: number): boolean;
    stats(): ClusterStats;
    close(): Promise<void>;
  }): {
    readonly lastAppliedSeq: number;
    reading(name: string, value: number, timestampMs: number, senderSeq: number): boolean;
    endBatch(streamSeq: number): void;
  };
}

/** Options of {@link attachCluster}: the link's, but `apply`, which the attachment provides. */
export type AttachClusterOptions = Omit<ClusterLinkOptions, 'apply'>;

/** A server joined to the stream. */
export interface AttachedCluster {
  /** The link: its `state`, `stats()`, `subject`. */
  readonly link: ClusterLink;
  /** Why the node stopped applying the stream, once it has (`ERR_STREAM_GAP`, `ERR_STREAM_BEHIND`, `ERR_APPLY`). */
  readonly halted: ClusterLinkError | undefined;
  /** Figures in `STATS`' keys. */
  stats(): ClusterStats;
  /** Closes the link (the server's own `close()` does it too). Idempotent. */
  close(): Promise<void>;
}

/**
 * Makes `server` one node of the cluster: every reading it ingests goes to the stream, and it stores every node's
 * readings in stream order, so that all nodes give each reading the same seq (docs/CLUSTER.md). Call it before
 * `server.listen()`. Throws what `createClusterLink` throws for a bad option, and the server's `ReplicationError`
 * when it is closed or replicating already.
 *
 * @example
 * ```ts
 * import { createOpcServer } from '@opc-lite/opc-server';
 * import { attachCluster } from '@opc-lite/cluster-nats';
 *
 * const server = createOpcServer({ storage: { dir: './opc-data' } });
 * attachCluster(server, { servers: ['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222'], nodeName: 'plant-a' });
 * await server.listen();
 * // server.close() closes the link too, after it has published what it holds (closeTimeoutMs at most).
 * ```
 */
export function attachCluster(server: ReplicableServer, options: AttachClusterOptions): AttachedCluster {
  let applier: ReturnType<ReplicableServer['replicate']> | undefined;
  let halted: ClusterLinkError | undefined;
  let unencodable = 0;
  const link = createClusterLink({
    ...options,
    apply(batch, streamSeq) {
      const target = applier;
      if (target === undefined) throw new ClusterLinkError('ERR_APPLY', 'the server is not attached');
      const { names, values, timestampsMs, senderSeqs } = batch;
      for (let i = 0; i < batch.length; i++) target.reading(names[i]!, values[i]!, timestampsMs[i]!, senderSeqs[i]!);
      target.endBatch(streamSeq);
    },
    onHalt(error) {
      halted = error;
      options.onHalt?.(error);
    },
  });
  const stats = (): ClusterStats => {
    const s = link.stats();
    return {
      cluster_state: halted !== undefined && link.state !== 'closed' ? STATE_CODES.halted : STATE_CODES[link.state],
      cluster_stream_lag: s.streamLag,
      cluster_forwarded: s.publishedReadings,
      cluster_applied: s.appliedReadings,
      cluster_publish_errors: s.publishErrors,
      cluster_backlog: s.pendingReadings,
      cluster_backlog_bytes: s.pendingBytes,
      cluster_dropped: s.dropped + unencodable,
      cluster_last_applied_seq: s.lastAppliedSeq,
    };
  };
  try {
    applier = server.replicate({
      forward(name, value, timestampMs, senderSeq) {
        try {
          return link.publish(name, value, timestampMs, senderSeq);
        } catch {
          // The server's parsers only pass what a batch can hold; an embedder's odd reading is refused and counted.
          unencodable++;
          return false;
        }
      },
      stats,
      close: () => link.close(),
    });
  } catch (error) {
    void link.close();
    throw error;
  }
  link.start(applier.lastAppliedSeq);
  return {
    link,
    get halted() {
      return halted;
    },
    stats,
    close: () => link.close(),
  };
}
