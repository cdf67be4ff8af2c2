/**
 * The stream the link creates or updates: its configuration, and how many replicas a cluster can hold. Pure
 * functions; the link does the requests.
 */

import { DiscardPolicy, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { ServerInfo } from '@nats-io/transport-node';

/** What the stream is made of, from the link's options. */
export interface StreamSpec {
  stream: string;
  subjectPrefix: string;
  maxAgeMs: number;
  maxStreamBytes: number;
  duplicateWindowMs: number;
}

const nanos = (ms: number): number => ms * 1_000_000;

/**
 * The stream's configuration: limits-based retention (batches leave by age, and by bytes when `maxStreamBytes` is
 * set, oldest first), file storage, the duplicate window for message ids, and one subject per node.
 */
export function streamConfig(spec: StreamSpec, replicas: number): StreamConfig {
  return {
    name: spec.stream,
    subjects: [`${spec.subjectPrefix}.*`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
    max_age: nanos(spec.maxAgeMs),
    max_bytes: spec.maxStreamBytes === 0 ? -1 : spec.maxStreamBytes,
    max_msgs: -1,
    max_msg_size: -1,
    max_msgs_per_subject: -1,
    max_consumers: -1,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(spec.duplicateWindowMs),
    allow_direct: false,
    mirror_direct: false,
    deny_delete: true,
    deny_purge: false,
    allow_rollup_hdrs: false,
    sealed: false,
  } as StreamConfig;
}

/** The fields of `wanted` that `existing` differs in (the ones the link sets and JetStream lets it change). */
export function streamDiff(existing: Partial<StreamConfig>, wanted: StreamConfig): string[] {
  const fields = ['subjects', 'num_replicas', 'max_age', 'max_bytes', 'duplicate_window', 'discard'] as const;
  return fields.filter((f) => JSON.stringify(existing[f]) !== JSON.stringify(wanted[f]));
}

/**
 * How many servers the connected server says its cluster has: 1 when it is not clustered, the count of its
 * `connect_urls` when it is, and undefined when it does not say (a cluster that does not advertise its servers).
 */
export function clusterSize(info: ServerInfo | undefined): number | undefined {
  if (info === undefined) return undefined;
  if (info.cluster === undefined || info.cluster === '') return 1;
  const urls = new Set(info.connect_urls ?? []);
  return urls.size > 0 ? urls.size : undefined;
}

/**
 * The replicas to ask for. `requested` when the cluster holds that many servers (or its size is unknown); else the
 * cluster's size, `clamped` so the caller can warn, but never fewer than an existing stream already has: a cluster
 * that looks small because servers are down does not shrink its stream.
 */
export function chooseReplicas(
  requested: number,
  size: number | undefined,
  existing: number | undefined,
): { replicas: number; clamped: boolean } {
  if (size === undefined || requested <= size) return { replicas: requested, clamped: false };
  return { replicas: Math.max(size, Math.min(existing ?? 0, requested)), clamped: true };
}
