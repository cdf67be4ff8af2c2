/**
 * Turns two STATS snapshots into the figures the CLI logs: rates over an
 * interval and totals at shutdown.
 */

import type { OpcServerStats } from '@opc-lite/opc-server';

type Stats = Readonly<Partial<OpcServerStats>>;

const num = (stats: Stats, key: keyof OpcServerStats): number => stats[key] ?? 0;

/** Counters whose per-second rate the periodic line reports. */
const RATE_KEYS: readonly (readonly [keyof OpcServerStats, string])[] = Object.freeze([
  ['readings_accepted', 'readingsPerSec'],
  ['readings_rejected', 'rejectedPerSec'],
  ['datagrams_received', 'datagramsPerSec'],
  ['commands', 'commandsPerSec'],
  ['pushes_sent', 'pushesPerSec'],
  ['pushes_dropped', 'droppedPerSec'],
]);

/**
 * The periodic one-line summary: rates over the interval between two
 * snapshots, and the gauges of the newer one.
 *
 * @example
 * ```ts
 * rateSummary(before, after, 10_000); // { readingsPerSec: 1000, ..., sensors: 3, clients: 2 }
 * ```
 */
export function rateSummary(before: Stats, after: Stats, elapsedMs: number): Record<string, number> {
  const seconds = elapsedMs > 0 ? elapsedMs / 1000 : 1;
  const out: Record<string, number> = {};
  for (const [key, name] of RATE_KEYS) {
    out[name] = Math.round(((num(after, key) - num(before, key)) / seconds) * 10) / 10;
  }
  out.sensors = num(after, 'sensors');
  out.clients = num(after, 'clients');
  out.subscriptions = num(after, 'subscriptions');
  return out;
}

/**
 * The summary printed at shutdown: the totals a person wants to see.
 *
 * @example
 * ```ts
 * finalSummary(server.stats()); // { uptimeS: 12.3, readingsAccepted: 1000, ... }
 * ```
 */
export function finalSummary(stats: Stats): Record<string, number> {
  return {
    uptimeS: Math.round(num(stats, 'uptime_ms') / 100) / 10,
    datagrams: num(stats, 'datagrams_received'),
    readingsAccepted: num(stats, 'readings_accepted'),
    readingsRejected: num(stats, 'readings_rejected'),
    sensors: num(stats, 'sensors'),
    clientsTotal: num(stats, 'clients_total'),
    commands: num(stats, 'commands'),
    pushesSent: num(stats, 'pushes_sent'),
    pushesDropped: num(stats, 'pushes_dropped'),
    slowConsumerDisconnects: num(stats, 'slow_consumer_disconnects'),
    seqLost: num(stats, 'seq_lost'),
  };
}
