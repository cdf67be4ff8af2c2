/**
 * Self-monitoring counters (every counter is in `STATS`: PROTOCOL.md "Commands"). The server keeps
 * one {@link Counters} object whose fields the hot paths increment; STATS and
 * `server.stats()` read them into a plain object with snake_case keys.
 */
import { REJECT_REASONS, type RejectReason } from '@opc-lite/protocol';
import { noReplicationStats, type ReplicationStats } from './replication.js';
import type { StorageStats } from './storage.js';

/**
 * `rejected_<reason>` with `-` written as `_`, for every reject reason.
 *
 * @example
 * ```ts
 * const key: RejectedStatKey = 'rejected_bad_number';
 * ```
 */
export type RejectedStatKey = `rejected_${string}`;

/**
 * Every counter and gauge the server reports, as `STATS` prints them (see the
 * README for the meaning of each).
 *
 * @example
 * ```ts
 * const s: OpcServerStats = server.stats();
 * console.log(s.readings_accepted, s.rejected_bad_number);
 * ```
 */
export interface OpcServerStats extends StorageStats, ReplicationStats {
  uptime_ms: number;
  datagrams_received: number;
  bytes_received: number;
  readings_accepted: number;
  readings_rejected: number;
  rejected_bad_number: number;
  rejected_bad_name: number;
  rejected_bad_timestamp: number;
  rejected_bad_sequence: number;
  rejected_bad_syntax: number;
  rejected_unsupported_type: number;
  rejected_line_too_long: number;
  rejected_too_many_sensors: number;
  sensors: number;
  sensors_max: number;
  clients: number;
  clients_total: number;
  clients_rejected: number;
  commands: number;
  command_errors: number;
  polls: number;
  pushes_sent: number;
  pushes_dropped: number;
  slow_consumer_disconnects: number;
  outbound_evictions: number;
  outbound_bytes: number;
  idle_disconnects: number;
  subscriptions: number;
  seq_lost: number;
  seq_duplicate: number;
  seq_late: number;
  seq_restarts: number;
  udp_errors: number;
  recv_buffer_bytes: number;
  history_capacity: number;
  /** Parts of readings that held no number, skipped (string and boolean fields, non-numeric JSON leaves). */
  fields_ignored: number;
  [key: RejectedStatKey]: number;
  /**
   * `ingest_<source>_accepted`, `_rejected`, `_ignored` for `udp`, `tcp`, `http`, `mqtt`; and
   * `ingest_<source>_rejected_<reason>` for each reason that source has had (absent while 0).
   */
  [key: `ingest_${string}`]: number;
}

/**
 * The mutable counters the server's parts increment.
 *
 * @example
 * ```ts
 * const counters = new Counters();
 * counters.commands++;
 * ```
 */
export class Counters {
  datagramsReceived = 0;
  bytesReceived = 0;
  readingsAccepted = 0;
  readingsRejected = 0;
  /** Rejected readings by reason. */
  readonly rejected: Record<RejectReason, number>;
  clients = 0;
  clientsTotal = 0;
  clientsRejected = 0;
  commands = 0;
  commandErrors = 0;
  polls = 0;
  pushesSent = 0;
  pushesDropped = 0;
  slowConsumerDisconnects = 0;
  /** Slow-consumer disconnects made by the server-wide outbound cap (also in slowConsumerDisconnects). */
  outboundEvictions = 0;
  idleDisconnects = 0;
  udpErrors = 0;
  /** Parts of readings skipped for holding no number, every source together. */
  fieldsIgnored = 0;
  /** The same counts, by source. */
  readonly sources: Readonly<Record<(typeof SOURCES)[number], SourceCounters>> = {
    udp: new SourceCounters(),
    tcp: new SourceCounters(),
    http: new SourceCounters(),
    mqtt: new SourceCounters(),
  };

  constructor() {
    const rejected = {} as Record<RejectReason, number>;
    for (const reason of REJECT_REASONS) rejected[reason] = 0;
    this.rejected = rejected;
  }
}

/**
 * What one ingest source (UDP, the TCP ingest port, HTTP writes, MQTT) took in: `STATS` keys
 * `ingest_<source>_accepted`, `ingest_<source>_rejected` (every reason), `ingest_<source>_ignored`.
 *
 * @example
 * ```ts
 * new Counters().sources.mqtt.accepted; // 0
 * ```
 */
export class SourceCounters {
  accepted = 0;
  /** Parts skipped for holding no number (string and boolean fields, non-numeric JSON leaves). */
  ignored = 0;
  /** Rejected readings by reason. */
  readonly rejected: Record<RejectReason, number> = rejectCounts();

  /** Every rejected reading, whatever the reason. */
  get rejectedTotal(): number {
    let n = 0;
    for (const reason of REJECT_REASONS) n += this.rejected[reason];
    return n;
  }
}

function rejectCounts(): Record<RejectReason, number> {
  const rejected = {} as Record<RejectReason, number>;
  for (const reason of REJECT_REASONS) rejected[reason] = 0;
  return rejected;
}

/** The ingest sources, in `STATS` order (the server's `INGEST_SOURCES`). */
const SOURCES = ['udp', 'tcp', 'http', 'mqtt'] as const;

/**
 * Gauges that live outside {@link Counters}.
 *
 * @example
 * ```ts
 * const gauges: StatsGauges = { uptimeMs: 0, sensors: 0, sensorsMax: 10, subscriptions: 0, outboundBytes: 0,
 *   seqLost: 0, seqDuplicate: 0, seqLate: 0, seqRestarts: 0, recvBufferBytes: 0, historyCapacity: 1000 };
 * ```
 */
export interface StatsGauges {
  uptimeMs: number;
  sensors: number;
  sensorsMax: number;
  subscriptions: number;
  /** Bytes pending to all clients together now. */
  outboundBytes: number;
  seqLost: number;
  seqDuplicate: number;
  seqLate: number;
  seqRestarts: number;
  recvBufferBytes: number;
  historyCapacity: number;
  /** The durable store's figures (zeros without one). */
  storage: StorageStats;
  /** The cluster's figures (zeros when the server shares nothing; docs/CLUSTER.md, "STATS"). */
  replication?: ReplicationStats;
}

/**
 * Builds the STATS object, keys in a stable, documented order.
 *
 * @example
 * ```ts
 * const stats = buildStats(counters, gauges);
 * ```
 */
export function buildStats(c: Counters, g: StatsGauges): OpcServerStats {
  const out: Record<string, number> = {
    uptime_ms: g.uptimeMs,
    datagrams_received: c.datagramsReceived,
    bytes_received: c.bytesReceived,
    readings_accepted: c.readingsAccepted,
    readings_rejected: c.readingsRejected,
  };
  for (const reason of REJECT_REASONS) out[`rejected_${reason.replaceAll('-', '_')}`] = c.rejected[reason];
  Object.assign(out, {
    sensors: g.sensors,
    sensors_max: g.sensorsMax,
    clients: c.clients,
    clients_total: c.clientsTotal,
    clients_rejected: c.clientsRejected,
    commands: c.commands,
    command_errors: c.commandErrors,
    polls: c.polls,
    pushes_sent: c.pushesSent,
    pushes_dropped: c.pushesDropped,
    slow_consumer_disconnects: c.slowConsumerDisconnects,
    outbound_evictions: c.outboundEvictions,
    outbound_bytes: g.outboundBytes,
    idle_disconnects: c.idleDisconnects,
    subscriptions: g.subscriptions,
    seq_lost: g.seqLost,
    seq_duplicate: g.seqDuplicate,
    seq_late: g.seqLate,
    seq_restarts: g.seqRestarts,
    udp_errors: c.udpErrors,
    recv_buffer_bytes: g.recvBufferBytes,
    history_capacity: g.historyCapacity,
    fields_ignored: c.fieldsIgnored,
  });
  for (const source of SOURCES) {
    const counts = c.sources[source];
    out[`ingest_${source}_accepted`] = counts.accepted;
    out[`ingest_${source}_rejected`] = counts.rejectedTotal;
    out[`ingest_${source}_ignored`] = counts.ignored;
  }
  // By reason too, but only the reasons a source has had (as Redis' INFO lists only the databases that hold keys).
  for (const source of SOURCES) {
    const counts = c.sources[source];
    for (const reason of REJECT_REASONS) {
      const n = counts.rejected[reason];
      if (n > 0) out[`ingest_${source}_rejected_${reason.replaceAll('-', '_')}`] = n;
    }
  }
  Object.assign(out, {
    ...g.storage,
    ...(g.replication ?? noReplicationStats()),
  });
  return out as unknown as OpcServerStats;
}
