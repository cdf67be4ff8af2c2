/**
 * `GET /metrics` in the Prometheus text format (docs/HTTP.md, "GET /metrics"), with `prom-client` and a registry
 * of the handler's own (never the global one).
 *
 * How it works: a scrape takes one `server.stats()` snapshot, and each metric's `collect` reads its key from it,
 * converted to base units (ms → seconds) and named by Prometheus' conventions: an `opc_` prefix, `_total` on
 * counters, `_bytes` and `_seconds` for the units. The eight `rejected_<reason>` keys are one counter with a
 * `reason` label. The TCP command histogram is the server's own bucket counters (`server.commandTimes`), made
 * cumulative at scrape time. With `metricsSensors`, a hub subscriber notes when each matching sensor last had a reading; a
 * scrape exports the latest value of those heard from within `metricsSensorsStaleMs`, at most
 * `metricsSensorsMax` of them, and forgets the rest.
 */
import {
  COMMAND_TIME_BUCKETS,
  INGEST_SOURCES,
  type Hub,
  type IngestSource,
  type OpcServer,
  type OpcServerStats,
  type Subscriber,
} from '@opc-lite/opc-server';
import { REJECT_REASONS } from '@opc-lite/protocol';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ResolvedWebOptions } from './options.js';
import type { StreamHub } from './stream.js';

type StatKey = Extract<keyof OpcServerStats, string>;

/**
 * How one `STATS` key is exported.
 *
 * @example
 * ```ts
 * const m: StatMetric = { key: 'uptime_ms', name: 'opc_uptime_seconds', kind: 'gauge', scale: 1e-3, help: '…' };
 * ```
 */
export interface StatMetric {
  readonly key: StatKey;
  readonly name: string;
  readonly kind: 'counter' | 'gauge';
  readonly help: string;
  /** Multiplies the value into the base unit (1e-3: milliseconds to seconds). */
  readonly scale?: number;
}

const c = (key: StatKey, name: string, help: string): StatMetric => ({ key, name, kind: 'counter', help });
const g = (key: StatKey, name: string, help: string, scale?: number): StatMetric =>
  scale === undefined ? { key, name, kind: 'gauge', help } : { key, name, kind: 'gauge', help, scale };

/** How each ingest source is named in the help texts, in `INGEST_SOURCES` order. */
const SOURCE_WORDS: Readonly<Record<IngestSource, string>> = {
  udp: 'UDP',
  tcp: 'the TCP ingest port',
  http: 'HTTP writes',
  mqtt: 'MQTT',
};

/** `ingest_<source>_accepted`, `_rejected` and `_ignored` of every source. */
const SOURCE_METRICS: readonly StatMetric[] = INGEST_SOURCES.flatMap((source) => {
  const from = SOURCE_WORDS[source];
  const key = (what: string): StatKey => `ingest_${source}_${what}` as StatKey;
  return [
    c(key('accepted'), `opc_ingest_${source}_accepted_total`, `Readings stored from ${from}.`),
    c(key('rejected'), `opc_ingest_${source}_rejected_total`, `Readings from ${from} rejected.`),
    c(key('ignored'), `opc_ingest_${source}_ignored_total`, `Parts from ${from} that held no number.`),
  ];
});

/**
 * Every `STATS` key but `readings_rejected` and `rejected_<reason>` (exported together as
 * `opc_readings_rejected_total{reason}`), with its Prometheus name (packages/opc-server/README.md, "STATS keys").
 *
 * @example
 * ```ts
 * STAT_METRICS.find((m) => m.key === 'readings_accepted')?.name; // 'opc_readings_accepted_total'
 * ```
 */
export const STAT_METRICS: readonly StatMetric[] = Object.freeze([
  g('uptime_ms', 'opc_uptime_seconds', 'Seconds since the server was created.', 1e-3),
  c('datagrams_received', 'opc_udp_datagrams_received_total', 'UDP datagrams handled.'),
  c('bytes_received', 'opc_udp_received_bytes_total', 'Bytes in the UDP datagrams handled.'),
  c('readings_accepted', 'opc_readings_accepted_total', 'Readings stored (duplicates excluded).'),
  g('sensors', 'opc_sensors', 'Sensors known.'),
  g('sensors_max', 'opc_sensors_max', 'Most sensors the server accepts (maxSensors).'),
  g('clients', 'opc_tcp_clients', 'TCP clients connected now.'),
  c('clients_total', 'opc_tcp_clients_connected_total', 'TCP clients served since start.'),
  c('clients_rejected', 'opc_tcp_clients_rejected_total', 'TCP clients refused with ERR server-busy.'),
  c('commands', 'opc_tcp_commands_total', 'TCP commands received, legacy polls and invalid lines included.'),
  c('command_errors', 'opc_tcp_command_errors_total', 'TCP commands answered with ERR.'),
  c('polls', 'opc_tcp_polls_total', 'Legacy n polls.'),
  c('pushes_sent', 'opc_pushes_sent_total', 'PUB lines queued to TCP subscribers (SUB backlog included).'),
  c('pushes_dropped', 'opc_pushes_dropped_total', 'PUB lines dropped because a client was over its outbound budget.'),
  c('slow_consumer_disconnects', 'opc_slow_consumer_disconnects_total', 'Clients disconnected as slow consumers.'),
  c('outbound_evictions', 'opc_outbound_evictions_total', 'Slow consumers disconnected by maxOutboundBytes.'),
  g('outbound_bytes', 'opc_outbound_bytes', 'Bytes pending to all TCP clients together.'),
  c('idle_disconnects', 'opc_idle_disconnects_total', 'Clients closed with ERR idle-timeout.'),
  g('subscriptions', 'opc_subscriptions', 'Subscriptions (client x pattern) now, HTTP streams included.'),
  g(
    'seq_lost',
    'opc_seq_lost',
    'Readings lost according to sender-seq, all sensors (goes down when a late one arrives).',
  ),
  c('seq_duplicate', 'opc_seq_duplicate_total', 'Readings received twice (not stored).'),
  c('seq_late', 'opc_seq_late_total', 'Readings received out of order (stored).'),
  c('seq_restarts', 'opc_seq_restarts_total', 'Senders that started their sequence over.'),
  c('udp_errors', 'opc_socket_errors_total', 'UDP and TCP socket errors and datagram-handling failures.'),
  g('recv_buffer_bytes', 'opc_udp_receive_buffer_bytes', 'The UDP SO_RCVBUF the kernel granted.'),
  g('history_capacity', 'opc_history_capacity', 'Readings kept in memory per sensor (historyCapacity).'),
  c('fields_ignored', 'opc_fields_ignored_total', 'Parts of readings skipped for holding no number.'),
  ...SOURCE_METRICS,
  g('storage_durable', 'opc_storage_durable', '1 with a durable store, 0 in memory only.'),
  g(
    'storage_degraded',
    'opc_storage_degraded',
    '1 while writes to the disk fail and readings are kept in memory only.',
  ),
  g('storage_disk_bytes', 'opc_storage_disk_bytes', 'Bytes of the data directory.'),
  g('storage_wal_bytes', 'opc_storage_wal_bytes', 'Bytes of the write-ahead log.'),
  g('storage_wal_segments', 'opc_storage_wal_segments', 'Write-ahead log files.'),
  g('storage_chunk_files', 'opc_storage_chunk_files', 'Chunk files.'),
  g('storage_readings', 'opc_storage_readings', 'Readings held in the store, all sensors, within the retention.'),
  g(
    'storage_last_fsync_age_ms',
    'opc_storage_unsynced_age_seconds',
    'How long the oldest write not yet fsynced has waited (0 when all is fsynced).',
    1e-3,
  ),
  c('storage_fsync_failures', 'opc_storage_fsync_failures_total', 'Failed fsyncs.'),
  c('storage_write_failures', 'opc_storage_write_failures_total', 'Failed writes.'),
  c('storage_checkpoints', 'opc_storage_checkpoints_total', 'Checkpoints written.'),
  g('storage_readings_recovered', 'opc_storage_recovered_readings', 'Readings found at start.'),
  g('storage_bytes_dropped_in_recovery', 'opc_storage_recovery_dropped_bytes', 'Bytes cut away as damaged at start.'),
  g('storage_recovery_ms', 'opc_storage_recovery_seconds', 'How long opening the store took at start.', 1e-3),
  c(
    'storage_retention_deleted_files',
    'opc_storage_retention_deleted_files_total',
    'Chunk files deleted by retention.',
  ),
  c(
    'storage_retention_deleted_readings',
    'opc_storage_retention_deleted_readings_total',
    'Readings deleted by retention.',
  ),
  g(
    'cluster_state',
    'opc_cluster_state',
    '0 no cluster, 1 connecting, 2 connected, 3 disconnected, 4 halted, 5 closed (docs/CLUSTER.md).',
  ),
  g('cluster_stream_lag', 'opc_cluster_stream_lag', 'Stream messages this node has not applied yet.'),
  c('cluster_forwarded', 'opc_cluster_forwarded_readings_total', 'Readings this node took in and the stream stored.'),
  c('cluster_applied', 'opc_cluster_applied_readings_total', 'Readings applied from the stream, every node’s.'),
  c('cluster_publish_errors', 'opc_cluster_publish_errors_total', 'Stream publishes that failed (tried again).'),
  g('cluster_backlog', 'opc_cluster_backlog_readings', 'Readings taken in and not yet stored in the stream.'),
  g('cluster_backlog_bytes', 'opc_cluster_backlog_bytes', 'Bytes the backlog takes on disk (0 with --memory).'),
  c('cluster_dropped', 'opc_cluster_dropped_readings_total', 'Readings refused because the backlog was full.'),
  g('cluster_last_applied_seq', 'opc_cluster_last_applied_seq', 'Stream seq of the last batch applied.'),
]);

/**
 * The route label values of `opc_http_request_duration_seconds`: a fixed set, so a request for any path costs
 * one series at most.
 *
 * @example
 * ```ts
 * const route: RouteLabel = '/api/range';
 * ```
 */
export type RouteLabel =
  | '/'
  | '/assets'
  | '/api/sensors'
  | '/api/sensors/:name'
  | '/api/range'
  | '/api/stream'
  | '/api/write'
  | '/write'
  | '/api/v2/write'
  | '/healthz'
  | '/metrics'
  | 'other';

/** The metrics of one handler. */
export class WebMetrics {
  /** The registry `/metrics` prints (the handler's own). */
  readonly registry = new Registry();
  readonly #server: OpcServer;
  readonly #options: ResolvedWebOptions;
  readonly #duration: Histogram<'method' | 'route' | 'code'>;
  readonly #sensors: SensorWatch | undefined;
  #snapshot: OpcServerStats | undefined;

  constructor(server: OpcServer, options: ResolvedWebOptions, streams: StreamHub) {
    this.#server = server;
    this.#options = options;
    const registers = [this.registry];
    const stat = (key: StatKey): number => (this.#snapshot ?? (this.#snapshot = server.stats()))[key] ?? 0;
    for (const m of STAT_METRICS) {
      const scale = m.scale ?? 1;
      if (m.kind === 'counter') {
        new Counter({
          name: m.name,
          help: m.help,
          registers,
          collect() {
            this.reset();
            this.inc(stat(m.key));
          },
        });
      } else {
        new Gauge({
          name: m.name,
          help: m.help,
          registers,
          collect() {
            this.set(stat(m.key) * scale);
          },
        });
      }
    }
    new Counter({
      name: 'opc_readings_rejected_total',
      help: 'UDP and HTTP lines dropped, by reason (docs/PROTOCOL.md, "Rejects").',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of REJECT_REASONS) this.inc({ reason }, stat(`rejected_${reason.replaceAll('-', '_')}`));
      },
    });
    new Gauge({
      name: 'opc_http_streams',
      help: 'Server-Sent Event streams open now.',
      registers,
      collect() {
        this.set(streams.size);
      },
    });
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    counter('opc_http_streams_opened_total', 'Server-Sent Event streams opened.', () => streams.counters.opened);
    counter(
      'opc_http_streams_dropped_total',
      'Streams dropped for not reading (over streamBufferBytes, or not drained within streamDrainTimeoutMs).',
      () => streams.counters.dropped,
    );
    counter('opc_http_stream_readings_total', 'Readings written to streams.', () => streams.counters.readingsSent);
    registerCommandHistogram(this.registry, server);
    this.#duration = new Histogram({
      name: 'opc_http_request_duration_seconds',
      help: 'HTTP requests by route, method and status code: time to the end of the response (streams excluded).',
      labelNames: ['method', 'route', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    if (options.metricsSensors !== undefined) {
      const watch = new SensorWatch(options.now);
      (server.hub as unknown as Hub<Subscriber>).subscribe(watch, options.metricsSensors);
      this.#sensors = watch;
      new Gauge({
        name: 'opc_sensor_value',
        help: `Latest value of each sensor matching ${options.metricsSensors} with a reading in the last ${options.metricsSensorsStaleMs / 1000} s.`,
        labelNames: ['sensor'],
        registers,
        collect: () => this.#collectSensors(),
      });
      new Gauge({
        name: 'opc_sensor_series_limited',
        help: `Fresh matching sensors left out of opc_sensor_value by its cap (${options.metricsSensorsMax}).`,
        registers,
        collect() {
          this.set(watch.limited);
        },
      });
    }
    if (options.processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool refuses them); their values are the sums of nodejs_active_*{type}.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ]) {
        this.registry.removeSingleMetric(name);
      }
    }
  }

  /** Counts one HTTP request in the latency histogram. */
  observe(method: string, route: RouteLabel, code: number, seconds: number): void {
    this.#duration.observe({ method, route, code: String(code) }, seconds);
  }

  /** The exposition text of one scrape. */
  async text(): Promise<string> {
    this.#snapshot = this.#server.stats();
    try {
      return await this.registry.metrics();
    } finally {
      this.#snapshot = undefined;
    }
  }

  /** Stops watching sensors. */
  close(): void {
    if (this.#sensors !== undefined) (this.#server.hub as unknown as Hub<Subscriber>).remove(this.#sensors);
  }

  #collectSensors(): void {
    const gauge = this.registry.getSingleMetric('opc_sensor_value') as Gauge<'sensor'>;
    gauge.reset();
    const watch = this.#sensors!;
    const oldest = this.#options.now() - this.#options.metricsSensorsStaleMs;
    const max = this.#options.metricsSensorsMax;
    let exported = 0;
    let limited = 0;
    for (const [name, heardAt] of watch.heard) {
      const sensor = this.#server.store.get(name);
      if (heardAt < oldest || sensor === undefined) {
        watch.heard.delete(name);
        continue;
      }
      if (exported >= max) {
        limited++;
        continue;
      }
      gauge.set({ sensor: name }, sensor.lastValue);
      exported++;
    }
    watch.limited = limited;
  }
}

const COMMAND_HISTOGRAM = 'opc_tcp_command_duration_seconds';

/**
 * `opc_tcp_command_duration_seconds{verb}`: a histogram whose counts the server keeps (prom-client's `Histogram`
 * takes observations one by one and cannot be given counts), so it is a metric of its own shape, read by the
 * registry as prom-client's own histograms are.
 */
function registerCommandHistogram(registry: Registry, server: OpcServer): void {
  const help = 'TCP commands by verb: time to build the answer (queueing it included, sending it not).';
  const bounds = COMMAND_TIME_BUCKETS.map(String);
  const values = (): { metricName: string; labels: Record<string, string>; value: number }[] => {
    const out: { metricName: string; labels: Record<string, string>; value: number }[] = [];
    server.commandTimes.forEach((verb, counts, sumSeconds) => {
      let total = 0;
      for (let b = 0; b < counts.length; b++) {
        total += counts[b]!;
        const le = b < bounds.length ? bounds[b]! : '+Inf';
        out.push({ metricName: `${COMMAND_HISTOGRAM}_bucket`, labels: { le, verb }, value: total });
      }
      out.push({ metricName: `${COMMAND_HISTOGRAM}_sum`, labels: { verb }, value: sumSeconds });
      out.push({ metricName: `${COMMAND_HISTOGRAM}_count`, labels: { verb }, value: total });
    });
    return out;
  };
  const metric = {
    name: COMMAND_HISTOGRAM,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () =>
      Promise.resolve({ name: COMMAND_HISTOGRAM, help, type: 'histogram', values: values(), aggregator: 'sum' }),
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Histogram);
}

/** Notes when each sensor matching the `metricsSensors` pattern last had a reading. */
class SensorWatch implements Subscriber {
  /** Sensor name → receive time (the clock's ms), first heard first. */
  readonly heard = new Map<string, number>();
  limited = 0;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  push(line: string): boolean {
    // `PUB <name> …`: the name is the second field.
    this.heard.set(line.slice(4, line.indexOf(' ', 4)), this.#now());
    return true;
  }
}
