/**
 * The command line and environment of `opc-server`, turned into server
 * options. Pure: no I/O, so every rule is tested without spawning a process.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  INTEGER_RULES,
  STORAGE_DEFAULTS,
  STORAGE_INTEGER_RULES,
  type OpcServerOptions,
  type StorageOptions,
  type TlsFiles,
} from '@opc-lite/opc-server';
import { resolveWebOptions, WEB_DEFAULTS } from '@opc-lite/web';
import { DEFAULTS as CLUSTER_DEFAULTS, isValidNodeName } from '@opc-lite/cluster-nats';
import { suggestOption } from './suggest.js';
import { parseTlsFlags, TLS_HELP_ROWS } from './tls-cli.js';

/** A user mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'EUSAGE';
}

type NumericKey = Exclude<
  {
    [K in keyof OpcServerOptions]-?: NonNullable<OpcServerOptions[K]> extends number ? K : never;
  }[keyof OpcServerOptions],
  'port' | undefined
>;

interface NumericFlag {
  readonly flag: string;
  readonly env: string;
  readonly key: NumericKey | 'statsIntervalMs';
  readonly help: string;
}

/** The stats interval is the CLI's own; every other range is the library's, so both check alike. */
const STATS_INTERVAL_RULE = Object.freeze({ min: 0, max: 2 ** 31 - 1 });
const ruleOf = (key: NumericFlag['key']): { readonly min: number; readonly max: number } =>
  key === 'statsIntervalMs' ? STATS_INTERVAL_RULE : INTEGER_RULES[key];

/** Every numeric server option as a flag and an environment variable; units are in the names. */
export const NUMERIC_FLAGS: readonly NumericFlag[] = Object.freeze([
  { flag: 'history', env: 'OPC_HISTORY', key: 'historyCapacity', help: 'readings kept per sensor' },
  { flag: 'max-sensors', env: 'OPC_MAX_SENSORS', key: 'maxSensors', help: 'distinct sensors stored' },
  { flag: 'max-clients', env: 'OPC_MAX_CLIENTS', key: 'maxClients', help: 'TCP clients at once' },
  { flag: 'max-line-bytes', env: 'OPC_MAX_LINE_BYTES', key: 'maxLineBytes', help: 'longest command or datagram line' },
  {
    flag: 'max-subscriptions',
    env: 'OPC_MAX_SUBSCRIPTIONS',
    key: 'maxSubscriptionsPerClient',
    help: 'SUB patterns per client',
  },
  {
    flag: 'outbound-budget-bytes',
    env: 'OPC_OUTBOUND_BUDGET_BYTES',
    key: 'outboundBudgetBytes',
    help: 'unsent bytes per client before its pushes are dropped',
  },
  {
    flag: 'max-outbound-bytes',
    env: 'OPC_MAX_OUTBOUND_BYTES',
    key: 'maxOutboundBytes',
    help: 'unsent bytes to all clients together before the largest are cut off (0 = no cap)',
  },
  {
    flag: 'drain-timeout-ms',
    env: 'OPC_DRAIN_TIMEOUT_MS',
    key: 'drainTimeoutMs',
    help: 'a client that does not drain for this long is disconnected',
  },
  {
    flag: 'idle-timeout-ms',
    env: 'OPC_IDLE_TIMEOUT_MS',
    key: 'idleTimeoutMs',
    help: 'disconnect clients silent this long with no subscription (0 = never)',
  },
  {
    flag: 'recv-buffer-bytes',
    env: 'OPC_RECV_BUFFER_BYTES',
    key: 'recvBufferBytes',
    help: 'UDP receive buffer to request (0 = kernel default)',
  },
  {
    flag: 'busy-poll-us',
    env: 'OPC_BUSY_POLL_US',
    key: 'busyPollUs',
    help: 'after a TCP read, poll this long before sleeping (0 = sleep at once)',
  },
  {
    flag: 'max-history-reply',
    env: 'OPC_MAX_HISTORY_REPLY',
    key: 'maxHistoryReply',
    help: 'most VAL lines per HIST, and backlog readings per sensor per SUB',
  },
  {
    flag: 'max-range-reply',
    env: 'OPC_MAX_RANGE_REPLY',
    key: 'maxRangeReply',
    help: 'most VAL lines per RANGE (then MORE), buckets per RANGE, and readings per sensor a resumed SUB sends',
  },
  {
    flag: 'close-grace-ms',
    env: 'OPC_CLOSE_GRACE_MS',
    key: 'closeGraceMs',
    help: 'on shutdown, time clients get before they are cut off',
  },
  {
    flag: 'stats-interval-ms',
    env: 'OPC_STATS_INTERVAL_MS',
    key: 'statsIntervalMs',
    help: 'log a rate summary this often (0 = off)',
  },
]);

export const LOG_LEVELS = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const);
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';

/** What the CLI was asked to do. */
export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  /** `opc-server hash-token`: the hash of a token read from stdin, or of a new one (docs/SECURITY.md, "Making a token"). */
  | { readonly kind: 'hash-token'; readonly generate: boolean }
  | {
      readonly kind: 'run';
      readonly server: OpcServerOptions & { port: number; host: string };
      readonly statsIntervalMs: number;
      /** The HTTP port of the page, the HTTP API and /metrics (`@opc-lite/web`), on the same host; 0 = off. */
      readonly httpPort: number;
      /** The TCP ingest port (docs/INGEST.md, "Graphite over TCP"), on the same host; 0 = off (the default). */
      readonly ingestTcpPort: number;
      /** With `--mqtt`: the broker to read from, and publish to (docs/INGEST.md, "MQTT"). */
      readonly mqtt?: MqttCommand;
      /** `/metrics` exports the latest value of the sensors matching this pattern (docs/HTTP.md, "GET /metrics"). */
      readonly metricsSensors?: string;
      /** With `--nats`: this node's place in a cluster (docs/CLUSTER.md, "Set-up"). */
      readonly cluster?: ClusterCommand;
      /** The auth file (docs/SECURITY.md), an absolute path; the CLI loads it, and again on SIGHUP. */
      readonly authFile?: string;
      /** `--tls-cert`, `--tls-key`, `--tls-ca` as absolute paths (docs/SECURITY.md, "TLS"); the CLI loads them, and again on SIGHUP. */
      readonly tls?: TlsFiles;
      readonly logLevel: LogLevel;
      /** `undefined`: pretty when stderr is a terminal, JSON otherwise. */
      readonly logFormat: LogFormat | undefined;
    };

/** Where history is kept when no `--data-dir` is given, under the working directory (as Prometheus' `data/`). */
export const DEFAULT_DATA_DIR = 'opc-data';
export const FSYNC_MODES = Object.freeze(['always', 'interval', 'off'] as const);
export const RECOVERY_MODES = Object.freeze(['repair', 'strict'] as const);

const DURATION_UNITS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
});

/**
 * A retention period: `<n><unit>` with unit ms, s, m, h, d, w or y (`30d`,
 * `12h`, `1y`), several summed (`1d12h`), or `0` for "keep forever". In ms.
 *
 * @example
 * ```ts
 * parseDuration('1d12h', '--retention'); // 129600000
 * ```
 */
export function parseDuration(text: string, what: string): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const parts = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/.test(trimmed) ? trimmed.match(/\d+(?:ms|s|m|h|d|w|y)/g) : null;
  if (parts === null) {
    throw new UsageError(
      `${what} must be a duration such as 30d, 12h, 90m or 1y (units ms, s, m, h, d, w, y), or 0 to keep everything (got '${text}')`,
    );
  }
  let ms = 0;
  for (const part of parts) {
    const [, digits, unit] = /^(\d+)(\D+)$/.exec(part)!;
    ms += Number(digits) * DURATION_UNITS[unit!]!;
  }
  if (!Number.isSafeInteger(ms)) throw new UsageError(`${what} is too long (got '${text}')`);
  return ms;
}

const BYTE_UNITS: Readonly<Record<string, number>> = Object.freeze({
  '': 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
});

/** A byte count: a whole number, optionally with KiB, MiB, GiB or TiB (`512MiB`). */
export function parseBytes(text: string, what: string): number {
  const match = /^(\d+)\s*(KiB|MiB|GiB|TiB)?$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(
      `${what} must be a whole number of bytes, optionally with KiB, MiB, GiB or TiB (got '${text}')`,
    );
  }
  const bytes = Number(match[1]) * BYTE_UNITS[match[2] ?? '']!;
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${what} is too large (got '${text}')`);
  return bytes;
}

/** {@link parseBytes} within [min, max]. */
function parseIntegerBytes(text: string, what: string, min: number, max: number): number {
  const bytes = parseBytes(text, what);
  if (bytes < min || bytes > max)
    throw new UsageError(`${what} must be between ${min} and ${max} bytes (got ${bytes})`);
  return bytes;
}

export const DEFAULT_PORT = 7330;
export const DEFAULT_HTTP_PORT = 7331;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_STATS_INTERVAL_MS = 10_000;

const parseInteger = (text: string, what: string, min: number, max: number): number => {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new UsageError(`${what} must be a whole number (got '${text}')`);
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${what} must be between ${min} and ${max} (got ${trimmed})`);
  }
  return value;
};

const parsePort = (text: string, what: string): number =>
  parseInteger(text, what, INTEGER_RULES.port.min, INTEGER_RULES.port.max);

/** node:util's parse errors span several lines; say the same in one, with a likely fix for a typo. */
const describeParseError = (err: unknown, known: readonly string[]): string => {
  const message = err instanceof Error ? err.message : String(err);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) {
    const suggestion = suggestOption(unknown[1]!, known);
    return `unknown option ${unknown[1]!}${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`;
  }
  const ambiguous = /^Option '(--?[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) return `${ambiguous[1]} needs a value (write ${ambiguous[1]}=<value> for one that starts with '-')`;
  return message.split('\n')[0]!.replace(/^Unknown option/, 'unknown option');
};

/**
 * Reads argv (without `node` and the script) and the environment. Flags win
 * over environment variables; a bare number is the port, as the original
 * server took it (`opc-server 9000`).
 *
 * @example
 * ```ts
 * parseCli(['9000', '--history', '500'], {});
 * // { kind: 'run', server: { port: 9000, host: '127.0.0.1', historyCapacity: 500 }, ... }
 * ```
 */
export function parseCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string = process.cwd(),
  hostname: string = os.hostname(),
): CliCommand {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string', short: 'H' },
    'http-port': { type: 'string' },
    'ingest-tcp-port': { type: 'string' },
    mqtt: { type: 'string' },
    'mqtt-topic': { type: 'string', multiple: true },
    'mqtt-publish': { type: 'string' },
    'mqtt-as': { type: 'string' },
    'metrics-sensors': { type: 'string' },
    nats: { type: 'string' },
    'node-name': { type: 'string' },
    'nats-stream': { type: 'string' },
    'nats-replicas': { type: 'string' },
    'nats-backlog-bytes': { type: 'string' },
    'auth-file': { type: 'string' },
    'udp-allow': { type: 'string', multiple: true },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
    generate: { type: 'boolean' },
    'log-level': { type: 'string' },
    'log-format': { type: 'string' },
    'data-dir': { type: 'string' },
    memory: { type: 'boolean' },
    fsync: { type: 'string' },
    'fsync-interval-ms': { type: 'string' },
    'write-delay-ms': { type: 'string' },
    retention: { type: 'string' },
    'max-disk-bytes': { type: 'string' },
    recovery: { type: 'string' },
    'wal-segment-bytes': { type: 'string' },
    'checkpoint-wal-bytes': { type: 'string' },
  };
  for (const f of NUMERIC_FLAGS) options[f.flag] = { type: 'string' };

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    // node:util's messages are clear but long; keep the first sentence.
    throw new UsageError(describeParseError(err, Object.keys(options)), { cause: err });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const mqttTopics = (parsed.values as Record<string, unknown>)['mqtt-topic'] as string[] | undefined;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  if (parsed.positionals[0] === 'hash-token') {
    if (parsed.positionals.length > 1) {
      throw new UsageError('hash-token takes no argument: it reads the token from stdin, or makes one with --generate');
    }
    return { kind: 'hash-token', generate: values.generate === true };
  }
  if (values.generate === true)
    throw new UsageError('--generate goes with hash-token (opc-server hash-token --generate)');

  const pick = (flag: string, envName: string): { text: string; what: string } | undefined => {
    const fromFlag = values[flag];
    if (typeof fromFlag === 'string') return { text: fromFlag, what: `--${flag}` };
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== '') return { text: fromEnv, what: envName };
    return undefined;
  };

  if (parsed.positionals.length > 1) {
    throw new UsageError(`expected at most one argument, the port (got ${parsed.positionals.length})`);
  }
  const positional = parsed.positionals[0];
  if (positional !== undefined && typeof values.port === 'string') {
    throw new UsageError('the port is given twice: as an argument and with --port');
  }
  const portSource = positional !== undefined ? { text: positional, what: 'port' } : pick('port', 'OPC_PORT');
  const port = portSource ? parsePort(portSource.text, portSource.what) : DEFAULT_PORT;

  const hostSource = pick('host', 'OPC_HOST');
  const host = hostSource ? hostSource.text.trim() : DEFAULT_HOST;
  if (host === '') throw new UsageError('--host must not be empty');

  const httpSource = pick('http-port', 'OPC_HTTP_PORT');
  const httpPort = httpSource ? parsePort(httpSource.text, httpSource.what) : DEFAULT_HTTP_PORT;
  const ingestSource = pick('ingest-tcp-port', 'OPC_INGEST_TCP_PORT');
  const ingestTcpPort = ingestSource ? parsePort(ingestSource.text, ingestSource.what) : 0;
  const mqtt = parseMqtt(pick, mqttTopics, env);
  const metricsSensors = parseMetricsSensors(pick('metrics-sensors', 'OPC_METRICS_SENSORS'), httpPort);
  const cluster = parseCluster(pick, hostname);

  const server: Record<string, number | string | StorageOptions> = { port, host };
  let statsIntervalMs = DEFAULT_STATS_INTERVAL_MS;
  for (const f of NUMERIC_FLAGS) {
    const source = pick(f.flag, f.env);
    if (!source) continue;
    const { min, max } = ruleOf(f.key);
    const value = parseInteger(source.text, source.what, min, max);
    if (f.key === 'statsIntervalMs') statsIntervalMs = value;
    else server[f.key] = value;
  }

  // Repeatable, or one variable with commas (docs/SECURITY.md, "UDP ingest"); the library checks each rule.
  const udpFlags = values['udp-allow'] as unknown as string[] | undefined;
  const udpEnv = env.OPC_UDP_ALLOW;
  const udpAllow = udpFlags ?? (udpEnv === undefined || udpEnv.trim() === '' ? undefined : udpEnv.split(','));
  const authSource = pick('auth-file', 'OPC_AUTH_FILE');
  const authFile = authSource === undefined ? undefined : path.resolve(cwd, authSource.text);
  if (mqtt?.writeAs !== undefined && authFile === undefined) {
    throw new UsageError('--mqtt-as names a token of the auth file; it does nothing without --auth-file');
  }

  const tls = parseTlsFlags(pick, cwd, (message) => new UsageError(message));
  const storage = parseStorage(values, env, pick, cwd);
  if (storage !== undefined) server.storage = storage;
  if (udpAllow !== undefined) (server as { udpAllow?: string[] }).udpAllow = udpAllow.map((r) => r.trim());

  const levelSource = pick('log-level', 'OPC_LOG_LEVEL');
  const logLevel = (levelSource?.text ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(
      `${levelSource?.what ?? '--log-level'} must be one of ${LOG_LEVELS.join(', ')} (got '${logLevel}')`,
    );
  }
  const formatSource = pick('log-format', 'OPC_LOG_FORMAT');
  let logFormat: LogFormat | undefined;
  if (formatSource) {
    if (formatSource.text !== 'json' && formatSource.text !== 'pretty') {
      throw new UsageError(`${formatSource.what} must be json or pretty (got '${formatSource.text}')`);
    }
    logFormat = formatSource.text;
  }

  return {
    kind: 'run',
    server: server as unknown as OpcServerOptions & { port: number; host: string },
    statsIntervalMs,
    httpPort,
    ingestTcpPort,
    ...(mqtt !== undefined && { mqtt }),
    ...(metricsSensors !== undefined && { metricsSensors }),
    ...(cluster !== undefined && { cluster }),
    ...(authFile !== undefined && { authFile }),
    ...(tls !== undefined && { tls }),
    logLevel,
    logFormat,
  };
}

/** `--metrics-sensors <pattern>`: a sensor pattern, and HTTP on (it is a `/metrics` setting). */
function parseMetricsSensors(source: { text: string; what: string } | undefined, httpPort: number): string | undefined {
  if (source === undefined) return undefined;
  if (httpPort === 0) throw new UsageError(`${source.what} is a /metrics setting; it does nothing with --http-port 0`);
  try {
    resolveWebOptions({ metricsSensors: source.text });
  } catch (err) {
    throw new UsageError(
      `${source.what} must be a sensor pattern such as plant1/* (docs/PROTOCOL.md, "Readings, names and numbers"); got '${source.text}'`,
      { cause: err },
    );
  }
  return source.text;
}

type Pick = (flag: string, envName: string) => { text: string; what: string } | undefined;

/** The MQTT settings of `opc-server --mqtt ...` (docs/INGEST.md, "MQTT"). */
export interface MqttCommand {
  /** `mqtt://host:1883` or `mqtts://host:8883`, the password left out of logs by the CLI. */
  readonly url: string;
  /** Topic filters (default `#`). */
  readonly topics: readonly string[];
  /** `--mqtt-publish <prefix>`: every reading to `<prefix>/<sensor>`, retained. */
  readonly publishPrefix?: string;
  /** From OPC_MQTT_USERNAME / OPC_MQTT_PASSWORD; the URL's own user and password otherwise. */
  readonly username?: string;
  readonly password?: string;
  /** From OPC_MQTT_CA_FILE: the PEM file of the CA that signed an `mqtts://` broker's certificate. */
  readonly caFile?: string;
  /** `--mqtt-as <token-name>`: the auth file entry whose rights the bridge has (docs/SECURITY.md). */
  readonly writeAs?: string;
}

function parseMqtt(
  pick: Pick,
  topics: readonly string[] | undefined,
  env: Readonly<Record<string, string | undefined>>,
): MqttCommand | undefined {
  const source = pick('mqtt', 'OPC_MQTT');
  const publish = pick('mqtt-publish', 'OPC_MQTT_PUBLISH');
  const writeAs = pick('mqtt-as', 'OPC_MQTT_AS');
  if (source === undefined) {
    if (topics !== undefined && topics.length > 0)
      throw new UsageError('--mqtt-topic is an MQTT setting; it does nothing without --mqtt');
    if (publish !== undefined)
      throw new UsageError(`${publish.what} is an MQTT setting; it does nothing without --mqtt`);
    if (writeAs !== undefined)
      throw new UsageError(`${writeAs.what} is an MQTT setting; it does nothing without --mqtt`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(source.text);
  } catch (err) {
    throw new UsageError(`${source.what} must be a broker URL such as mqtt://127.0.0.1:1883 (got '${source.text}')`, {
      cause: err,
    });
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') {
    throw new UsageError(`${source.what} must be mqtt:// or mqtts:// (got '${url.protocol}//')`);
  }
  for (const topic of topics ?? []) {
    if (topic === '' || /#./.test(topic))
      throw new UsageError(`--mqtt-topic must be a topic filter such as tele/# (got '${topic}')`);
  }
  const prefix = publish?.text.replace(/\/+$/, '');
  if (prefix !== undefined && (prefix === '' || /[+#]/.test(prefix))) {
    throw new UsageError(`${publish!.what} must be a topic prefix without + or # (got '${publish!.text}')`);
  }
  const username = env.OPC_MQTT_USERNAME;
  const password = env.OPC_MQTT_PASSWORD;
  const caFile = env.OPC_MQTT_CA_FILE;
  return {
    url: source.text,
    topics: topics !== undefined && topics.length > 0 ? [...topics] : ['#'],
    ...(prefix !== undefined && { publishPrefix: prefix }),
    ...(username !== undefined && username !== '' && { username }),
    ...(password !== undefined && password !== '' && { password }),
    ...(caFile !== undefined && caFile !== '' && { caFile }),
    ...(writeAs !== undefined && { writeAs: writeAs.text }),
  };
}

/** The cluster settings of `opc-server --nats ...` (docs/CLUSTER.md, "Set-up"). */
export interface ClusterCommand {
  /** NATS URLs, as given (`nats://host:port`, or `host:port`). */
  readonly servers: readonly string[];
  /** This node's name, unique in the cluster: 1 to 64 of `A-Z a-z 0-9 _ -`. */
  readonly nodeName: string;
  readonly stream: string;
  /** Stream replicas asked for; the link clamps it to the cluster's size, with a warning. */
  readonly replicas: number;
  /** With a data directory: the bytes the backlog may take in `<data-dir>/cluster-outbox/` (the link's default if unset). */
  readonly backlogBytes?: number;
}

/**
 * A host name as a node name: every character but `A-Z a-z 0-9 _ -` becomes `-`, at most 64 (`plant-a.example.com`
 * becomes `plant-a-example-com`).
 */
export function nodeNameOf(hostname: string): string {
  const name = hostname.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  return name === '' ? 'opc-server' : name;
}

/** `--nats <urls>` and the flags that go with it; undefined without `--nats`. */
function parseCluster(pick: Pick, hostname: string): ClusterCommand | undefined {
  const nats = pick('nats', 'OPC_NATS');
  const nodeName = pick('node-name', 'OPC_NODE_NAME');
  const stream = pick('nats-stream', 'OPC_NATS_STREAM');
  const replicas = pick('nats-replicas', 'OPC_NATS_REPLICAS');
  const backlog = pick('nats-backlog-bytes', 'OPC_NATS_BACKLOG_BYTES');
  if (nats === undefined) {
    const idle = [nodeName, stream, replicas, backlog].find((s) => s !== undefined);
    if (idle !== undefined) throw new UsageError(`${idle.what} is a cluster setting; it does nothing without --nats`);
    return undefined;
  }
  const servers = nats.text.split(',').map((s) => s.trim());
  for (const server of servers) {
    let url: URL | undefined;
    try {
      url = new URL(server.includes('://') ? server : `nats://${server}`);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'nats:' && url.protocol !== 'tls:') || url.hostname === '') {
      throw new UsageError(
        `${nats.what} must be NATS URLs separated by commas, such as nats://10.0.0.5:4222,nats://10.0.0.6:4222 (got '${server}')`,
      );
    }
  }
  const name = nodeName?.text ?? nodeNameOf(hostname);
  if (!isValidNodeName(name)) {
    throw new UsageError(
      `${nodeName?.what ?? '--node-name'} must be 1 to 64 of A-Z a-z 0-9 _ -, unique in the cluster (got '${name}')`,
    );
  }
  const streamName = stream?.text ?? CLUSTER_DEFAULTS.stream;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(streamName)) {
    throw new UsageError(`${stream?.what ?? '--nats-stream'} must be 1 to 64 of A-Z a-z 0-9 _ - (got '${streamName}')`);
  }
  const count = replicas === undefined ? CLUSTER_DEFAULTS.replicas : parseInteger(replicas.text, replicas.what, 1, 5);
  return {
    servers,
    nodeName: name,
    stream: streamName,
    replicas: count,
    ...(backlog !== undefined && {
      backlogBytes: parseIntegerBytes(backlog.text, backlog.what, 1024 * 1024, Number.MAX_SAFE_INTEGER),
    }),
  };
}

/** The storage flags: a data directory (by default), or `--memory`. */
function parseStorage(
  values: Record<string, string | boolean | undefined>,
  env: Readonly<Record<string, string | undefined>>,
  pick: Pick,
  cwd: string,
): StorageOptions | undefined {
  let memory = values.memory === true;
  const memoryEnv = env.OPC_MEMORY;
  if (!memory && memoryEnv !== undefined && memoryEnv !== '') {
    if (!['1', 'true', '0', 'false'].includes(memoryEnv)) {
      throw new UsageError(`OPC_MEMORY must be 1, true, 0 or false (got '${memoryEnv}')`);
    }
    memory = memoryEnv === '1' || memoryEnv === 'true';
  }
  const dirSource = pick('data-dir', 'OPC_DATA_DIR');
  const fsync = pick('fsync', 'OPC_FSYNC');
  const interval = pick('fsync-interval-ms', 'OPC_FSYNC_INTERVAL_MS');
  const writeDelay = pick('write-delay-ms', 'OPC_WRITE_DELAY_MS');
  const retention = pick('retention', 'OPC_RETENTION');
  const maxDisk = pick('max-disk-bytes', 'OPC_MAX_DISK_BYTES');
  const recovery = pick('recovery', 'OPC_RECOVERY');
  const segment = pick('wal-segment-bytes', 'OPC_WAL_SEGMENT_BYTES');
  const checkpoint = pick('checkpoint-wal-bytes', 'OPC_CHECKPOINT_WAL_BYTES');
  if (memory) {
    // A flag that cannot take effect is a mistake to point out, not to ignore.
    const idle = [dirSource, fsync, interval, writeDelay, retention, maxDisk, recovery, segment, checkpoint].find(
      (s) => s !== undefined,
    );
    if (idle !== undefined) throw new UsageError(`${idle.what} needs a data directory; it does nothing with --memory`);
    return undefined;
  }
  const dirText = dirSource?.text.trim() ?? DEFAULT_DATA_DIR;
  if (dirText === '') throw new UsageError(`${dirSource?.what ?? '--data-dir'} must not be empty`);
  const out: { -readonly [K in keyof StorageOptions]: StorageOptions[K] } = { dir: path.resolve(cwd, dirText) };
  if (fsync !== undefined) {
    if (!(FSYNC_MODES as readonly string[]).includes(fsync.text)) {
      throw new UsageError(`${fsync.what} must be one of ${FSYNC_MODES.join(', ')} (got '${fsync.text}')`);
    }
    out.fsync = fsync.text as StorageOptions['fsync'] & string;
  }
  if (interval !== undefined) {
    const { min, max } = STORAGE_INTEGER_RULES.fsyncIntervalMs;
    out.fsyncIntervalMs = parseInteger(interval.text, interval.what, min, max);
  }
  if (writeDelay !== undefined) {
    const { min, max } = STORAGE_INTEGER_RULES.writeDelayMs;
    out.writeDelayMs = parseInteger(writeDelay.text, writeDelay.what, min, max);
  }
  if (retention !== undefined) out.retentionMs = parseDuration(retention.text, retention.what);
  if (maxDisk !== undefined) out.maxDiskBytes = parseBytes(maxDisk.text, maxDisk.what);
  if (recovery !== undefined) {
    if (!(RECOVERY_MODES as readonly string[]).includes(recovery.text)) {
      throw new UsageError(`${recovery.what} must be one of ${RECOVERY_MODES.join(', ')} (got '${recovery.text}')`);
    }
    out.recovery = recovery.text as StorageOptions['recovery'] & string;
  }
  if (segment !== undefined) {
    const { min, max } = STORAGE_INTEGER_RULES.walSegmentBytes;
    out.walSegmentBytes = parseIntegerBytes(segment.text, segment.what, min, max);
  }
  if (checkpoint !== undefined) {
    const { min, max } = STORAGE_INTEGER_RULES.checkpointWalBytes;
    out.checkpointWalBytes = parseIntegerBytes(checkpoint.text, checkpoint.what, min, max);
  }
  return out;
}

/**
 * The `--help` text, generated from the same table that parses the flags.
 *
 * @example
 * ```ts
 * process.stdout.write(helpText('1.0.0', defaults));
 * ```
 */
export function helpText(version: string, defaults: Readonly<Record<string, unknown>>): string {
  const rows: [string, string][] = [
    ['-p, --port <n>', `UDP and TCP port (default ${DEFAULT_PORT}; env OPC_PORT)`],
    ['-H, --host <addr>', `address to bind (default ${DEFAULT_HOST}; 0.0.0.0 exposes it; env OPC_HOST)`],
    [
      '--udp-allow <cidr>',
      'take UDP datagrams only from this address or block, e.g. 10.20.0.0/16 (repeatable; env OPC_UDP_ALLOW, commas)',
    ],
    [
      '--auth-file <path>',
      'tokens and their rights; clients then need AUTH <token>; reloaded on SIGHUP (docs/SECURITY.md; env OPC_AUTH_FILE)',
    ],
    ...TLS_HELP_ROWS,
    [
      '--http-port <n>',
      `HTTP port, on the same host, of the page, the HTTP API and /metrics (default ${DEFAULT_HTTP_PORT}; 0 = off; env OPC_HTTP_PORT)`,
    ],
    [
      '--ingest-tcp-port <n>',
      "TCP port, on the same host, taking Graphite, native and InfluxDB lines (2003 is Graphite's; default 0 = off; docs/INGEST.md; env OPC_INGEST_TCP_PORT)",
    ],
    [
      '--mqtt <url>',
      'read sensors from this MQTT broker, mqtt:// or mqtts:// (docs/INGEST.md; env OPC_MQTT; user and password in the URL or OPC_MQTT_USERNAME, OPC_MQTT_PASSWORD; the CA of an mqtts:// broker in OPC_MQTT_CA_FILE)',
    ],
    ['--mqtt-topic <filter>', 'a topic filter to subscribe to, repeatable (default #)'],
    ['--mqtt-publish <prefix>', 'publish every reading to <prefix>/<sensor>, retained, QoS 0 (env OPC_MQTT_PUBLISH)'],
    [
      '--mqtt-as <token-name>',
      'with --auth-file, the bridge has the rights of this token entry, else the anonymous ones (docs/SECURITY.md; env OPC_MQTT_AS)',
    ],
    [
      '--metrics-sensors <pattern>',
      `in /metrics, the latest value of each sensor matching the pattern heard from in the last ${WEB_DEFAULTS.metricsSensorsStaleMs / 60_000} min, at most ${WEB_DEFAULTS.metricsSensorsMax} (default none; env OPC_METRICS_SENSORS)`,
    ],
    [
      '--nats <urls>',
      'join a cluster through these NATS servers, separated by commas: every node serves every sensor (docs/CLUSTER.md; env OPC_NATS)',
    ],
    ['--node-name <name>', 'this node, unique in the cluster (default: the host name; env OPC_NODE_NAME)'],
    ['--nats-stream <name>', `the JetStream stream (default ${CLUSTER_DEFAULTS.stream}; env OPC_NATS_STREAM)`],
    [
      '--nats-replicas <n>',
      `copies of the stream, at most the NATS servers there are (default ${CLUSTER_DEFAULTS.replicas}; env OPC_NATS_REPLICAS)`,
    ],
    [
      '--nats-backlog-bytes <n>',
      `readings not yet in the stream kept in <data-dir>/cluster-outbox, at most (default ${CLUSTER_DEFAULTS.maxOutboxBytes / 1024 / 1024}MiB; env OPC_NATS_BACKLOG_BYTES)`,
    ],
  ];
  for (const f of NUMERIC_FLAGS) {
    const def =
      f.key === 'statsIntervalMs'
        ? DEFAULT_STATS_INTERVAL_MS
        : f.key === 'maxHistoryReply'
          ? 'as --history' // the library's default follows historyCapacity
          : defaults[f.key];
    rows.push([`--${f.flag} <n>`, `${f.help} (default ${String(def)}; env ${f.env})`]);
  }
  const days = (ms: number): string => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : `${ms}ms`);
  rows.push(
    [
      '--data-dir <dir>',
      `where history is kept (default ./${DEFAULT_DATA_DIR} under the working directory; env OPC_DATA_DIR)`,
    ],
    ['--memory', 'keep history in memory only, write nothing to disk (env OPC_MEMORY=1)'],
    [
      '--fsync <mode>',
      `always|interval|off: how hard each write is pushed to the disk (default ${STORAGE_DEFAULTS.fsync}; env OPC_FSYNC)`,
    ],
    [
      '--fsync-interval-ms <n>',
      `with --fsync interval, how often (default ${STORAGE_DEFAULTS.fsyncIntervalMs}; env OPC_FSYNC_INTERVAL_MS)`,
    ],
    [
      '--write-delay-ms <n>',
      `how long readings no client was shown may wait before the log write (default ${STORAGE_DEFAULTS.writeDelayMs}; 0 = every turn; env OPC_WRITE_DELAY_MS)`,
    ],
    [
      '--retention <time>',
      `delete readings older than this: 30d, 12h, 1y (default ${days(STORAGE_DEFAULTS.retentionMs)}; 0 = keep forever; env OPC_RETENTION)`,
    ],
    [
      '--max-disk-bytes <n>',
      'delete the oldest history past this size: 500MiB, 20GiB (default 0 = no cap; env OPC_MAX_DISK_BYTES)',
    ],
    [
      '--recovery <mode>',
      `repair|strict: on damaged files, cut the damage away and start, or refuse to start (default ${STORAGE_DEFAULTS.recovery}; env OPC_RECOVERY)`,
    ],
    [
      '--wal-segment-bytes <n>',
      `size of one log file (default ${STORAGE_DEFAULTS.walSegmentBytes / 1024 ** 2}MiB; env OPC_WAL_SEGMENT_BYTES)`,
    ],
    [
      '--checkpoint-wal-bytes <n>',
      `write a checkpoint and drop old log files past this much log (default ${STORAGE_DEFAULTS.checkpointWalBytes / 1024 ** 2}MiB; env OPC_CHECKPOINT_WAL_BYTES)`,
    ],
    ['--log-level <level>', `${LOG_LEVELS.join('|')} (default info; env OPC_LOG_LEVEL)`],
    ['--log-format <fmt>', 'json|pretty (default: pretty on a terminal, else json; env OPC_LOG_FORMAT)'],
    ['-h, --help', 'show this help'],
    ['-v, --version', 'show the version'],
  );
  const width = Math.max(...rows.map(([a]) => a.length)) + 2;
  return [
    `opc-server ${version}: the opc-lite telemetry hub`,
    '',
    'Usage: opc-server [port] [options]',
    '       opc-server hash-token [--generate]   the auth file hash of a token read from stdin, or of a new one',
    '',
    'Sensors send readings by UDP; clients read, query and subscribe by TCP, both on one port.',
    '',
    'Options:',
    ...rows.map(([a, b]) => `  ${a.padEnd(width)}${b}`),
    '',
    'Examples:',
    '  opc-server                      listen on 127.0.0.1:7330, the page on http://127.0.0.1:7331/',
    '  opc-server 9000                 listen on 127.0.0.1:9000',
    '  opc-server --host 0.0.0.0       accept sensors and clients from the network',
    '  opc-server --data-dir /var/lib/opc-lite --retention 1y',
    '                                  keep a year of history there',
    '  opc-server --memory             keep nothing on disk',
    '  opc-server --http-port 0        no HTTP: UDP and TCP only',
    '  opc-server --nats nats://10.0.0.5:4222,nats://10.0.0.6:4222 --node-name plant-a',
    '                                  one node of a cluster (docs/CLUSTER.md)',
    '  opc-server --host 0.0.0.0 --auth-file /etc/opc-lite/auth',
    '                                  on the network, with tokens (docs/DEPLOY.md)',
    '',
  ].join('\n');
}
