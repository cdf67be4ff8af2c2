/**
 * Link options: their types, their defaults (one frozen {@link DEFAULTS}) and their validation.
 */

import { isValidNodeName, type ReadingBatch } from '../codec/batch.js';
import { invalidType, outOfRange } from '../codec/errors.js';
import type { ClusterLinkError } from './errors.js';

/**
 * A logger with pino's method shape. The link logs nothing unless given one.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const link = createClusterLink({ servers, nodeName: 'a', apply, logger: pino() });
 * ```
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** A logger that drops everything. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/**
 * Called once per stream message, strictly in stream order, with the decoded batch and its stream sequence number.
 * The next batch waits until a returned promise settles. Throwing (or rejecting) stops the link applying
 * (`ERR_APPLY` through `onHalt`), since skipping the batch would let this node's history differ from the others'.
 */
export type ApplyFn = (batch: ReadingBatch, streamSeq: number) => void | Promise<void>;

/**
 * Options of {@link createClusterLink}. `servers`, `nodeName` and `apply` are required; units are in the names.
 *
 * @example
 * ```ts
 * const options: ClusterLinkOptions = {
 *   servers: ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222', 'nats://10.0.0.3:4222'],
 *   nodeName: 'hub-1',
 *   apply(batch, streamSeq) {
 *     for (let i = 0; i < batch.length; i++) store.reading(batch.names[i], batch.values[i], batch.timestampsMs[i]);
 *   },
 *   maxAgeMs: 6 * 3_600_000,
 * };
 * ```
 */
export interface ClusterLinkOptions {
  /** NATS server URLs (`nats://host:port`); the client picks one and moves to another when it fails. */
  servers: string | string[];
  /**
   * This node's name, unique in the cluster: 1 to 64 bytes of `A-Z a-z 0-9 _ -`. It is the last token of the subject
   * this node publishes on and the first part of every message id.
   */
  nodeName: string;
  /** Applies one batch; see {@link ApplyFn}. */
  apply: ApplyFn;
  /** Called once when the link stops applying for good (`ERR_STREAM_GAP`, `ERR_STREAM_BEHIND`, `ERR_APPLY`). */
  onHalt?: (error: ClusterLinkError) => void;
  /** The JetStream stream's name (default `'OPC'`): 1 to 64 bytes of `A-Z a-z 0-9 _ -`. */
  stream?: string;
  /** Subjects are `<subjectPrefix>.<nodeName>`; the stream holds `<subjectPrefix>.*` (default `'opc.readings'`). */
  subjectPrefix?: string;
  /** Stream replicas, 1 to 5 (default 3), clamped to the servers in the cluster with a warning. */
  replicas?: number;
  /**
   * Readings held while they wait to be stored, the batch in flight included (default 100 000); past it `publish`
   * refuses. Only without `outboxDir`: with it, `maxOutboxBytes` bounds them.
   */
  maxPendingReadings?: number;
  /**
   * A directory for the readings waiting to be stored (docs/CLUSTER.md, "The disk outbox"), so that a crash of this
   * process loses none of them: they are published after the restart, each batch stored once. Default none: they
   * wait in memory only. One process at a time; inside the node's data directory, e.g. `<data-dir>/cluster-outbox`.
   */
  outboxDir?: string;
  /** With `outboxDir`: bytes the waiting readings may take, the batch in flight included (default 64 MiB); past it `publish` refuses. */
  maxOutboxBytes?: number;
  /** With `outboxDir`: `'always'` (fdatasync after each write), `'interval'` or `'off'`, as the node's store (default `'interval'`). */
  outboxFsync?: 'always' | 'interval' | 'off';
  /** With `outboxDir` and `outboxFsync: 'interval'`: how often (default 1000). */
  outboxFsyncIntervalMs?: number;
  /** The most readings in one batch (default 4096). */
  maxBatchReadings?: number;
  /** The most bytes in one batch (default 512 KiB), lowered to the server's `max_payload` when that is smaller. */
  maxBatchBytes?: number;
  /** The stream drops batches older than this (default 24 h). */
  maxAgeMs?: number;
  /** The stream drops its oldest batches past this many bytes (default 0 = no cap but the server's store). */
  maxStreamBytes?: number;
  /** How long JetStream remembers a message id to drop a repeated publish (default 2 min). */
  duplicateWindowMs?: number;
  /** How long a publish waits for JetStream's acknowledgement before it is tried again (default 2000). */
  publishTimeoutMs?: number;
  /** First delay before a publish, a connection or a consumer is tried again; doubled up to `retryMaxMs` (default 50). */
  retryMinMs?: number;
  /** Longest delay between tries (default 2000). */
  retryMaxMs?: number;
  /** Idle heartbeat of the stream consumer; two missed ones recreate it (default 2500). */
  heartbeatMs?: number;
  /**
   * How often the link checks that applying progresses (default 1000). A check that finds nothing applied since the
   * last one reads the stream's last seq (for `streamLag`); three such checks behind the stream recreate the consumer.
   */
  checkIntervalMs?: number;
  /**
   * How long `close()` waits for the outbox to drain before it gives up on what remains (default 5000). With
   * `outboxDir`, it waits only while connected: what remains is published after the next start.
   */
  closeTimeoutMs?: number;
  /** Where to log (pino method shape); silent by default. */
  logger?: Logger;
  /**
   * Passed to the NATS client's `connect()`: `NodeConnectionOptions` of `@nats-io/transport-node` (TLS, credentials,
   * timings). The link sets `servers` and reconnects forever. Typed loosely, so that this package's declarations do
   * not depend on the client's.
   */
  connectionOptions?: Readonly<Record<string, unknown>>;
  /** Aborting it closes the link, as `close()`. */
  signal?: AbortSignal;
}

/** The options that have a default, all set. */
export type ClusterLinkSettings = Required<
  Omit<
    ClusterLinkOptions,
    'servers' | 'nodeName' | 'apply' | 'onHalt' | 'logger' | 'connectionOptions' | 'signal' | 'outboxDir'
  >
>;

/**
 * The default of every option (frozen).
 *
 * @example
 * ```ts
 * import { DEFAULTS } from '@opc-lite/cluster-nats';
 * console.log(DEFAULTS.duplicateWindowMs); // 120000
 * ```
 */
export const DEFAULTS: Readonly<ClusterLinkSettings> = Object.freeze({
  stream: 'OPC',
  subjectPrefix: 'opc.readings',
  replicas: 3,
  maxPendingReadings: 100_000,
  maxOutboxBytes: 64 * 1024 * 1024,
  outboxFsync: 'interval',
  outboxFsyncIntervalMs: 1000,
  maxBatchReadings: 4096,
  maxBatchBytes: 512 * 1024,
  maxAgeMs: 24 * 3_600_000,
  maxStreamBytes: 0,
  duplicateWindowMs: 120_000,
  publishTimeoutMs: 2000,
  retryMinMs: 50,
  retryMaxMs: 2000,
  heartbeatMs: 2500,
  checkIntervalMs: 1000,
  closeTimeoutMs: 5000,
});

/** Options after validation. */
export interface ResolvedOptions extends ClusterLinkSettings {
  servers: string[];
  nodeName: string;
  apply: ApplyFn;
  onHalt: ((error: ClusterLinkError) => void) | undefined;
  logger: Logger;
  connectionOptions: Readonly<Record<string, unknown>>;
  signal: AbortSignal | undefined;
  outboxDir: string | undefined;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;
const KNOWN = new Set([
  ...Object.keys(DEFAULTS),
  'servers',
  'nodeName',
  'apply',
  'onHalt',
  'logger',
  'connectionOptions',
  'signal',
  'outboxDir',
]);

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidType(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** Validates options and fills in defaults; throws a `TypeError` or `RangeError` that names the option. */
export function resolveOptions(options: ClusterLinkOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalidType('options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw invalidType(`unknown option ${JSON.stringify(key)}`);
  }
  const servers = typeof options.servers === 'string' ? [options.servers] : options.servers;
  if (!Array.isArray(servers) || servers.length === 0 || servers.some((s) => typeof s !== 'string' || s === '')) {
    throw invalidType('servers must be a URL or a non-empty array of URLs');
  }
  if (typeof options.nodeName !== 'string' || !isValidNodeName(options.nodeName)) {
    throw outOfRange(`nodeName must be 1 to 64 bytes of A-Z a-z 0-9 _ -, got ${JSON.stringify(options.nodeName)}`);
  }
  if (typeof options.apply !== 'function') throw invalidType('apply must be a function');
  if (options.onHalt !== undefined && typeof options.onHalt !== 'function') {
    throw invalidType('onHalt must be a function');
  }
  const s = { ...DEFAULTS, ...definedOnly(options) };
  if (typeof s.stream !== 'string' || s.stream.length > 64 || !TOKEN.test(s.stream)) {
    throw outOfRange(`stream must be 1 to 64 bytes of A-Z a-z 0-9 _ -, got ${JSON.stringify(s.stream)}`);
  }
  if (typeof s.subjectPrefix !== 'string' || !s.subjectPrefix.split('.').every((t) => TOKEN.test(t))) {
    throw outOfRange(
      `subjectPrefix must be dot-separated tokens of A-Z a-z 0-9 _ -, got ${JSON.stringify(s.subjectPrefix)}`,
    );
  }
  const day = 86_400_000;
  integer('replicas', s.replicas, 1, 5);
  integer('maxPendingReadings', s.maxPendingReadings, 1, 100_000_000);
  integer('maxOutboxBytes', s.maxOutboxBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER);
  if (!['always', 'interval', 'off'].includes(s.outboxFsync)) {
    throw outOfRange(`outboxFsync must be 'always', 'interval' or 'off', got ${JSON.stringify(s.outboxFsync)}`);
  }
  integer('outboxFsyncIntervalMs', s.outboxFsyncIntervalMs, 1, 2 ** 31 - 1);
  if (options.outboxDir !== undefined && (typeof options.outboxDir !== 'string' || options.outboxDir === '')) {
    throw invalidType('outboxDir must be a non-empty string');
  }
  integer('maxBatchReadings', s.maxBatchReadings, 1, 1_000_000);
  integer('maxBatchBytes', s.maxBatchBytes, 1024, 64 * 1024 * 1024);
  integer('maxAgeMs', s.maxAgeMs, 1000, 3650 * day);
  integer('maxStreamBytes', s.maxStreamBytes, 0, Number.MAX_SAFE_INTEGER);
  integer('duplicateWindowMs', s.duplicateWindowMs, 100, s.maxAgeMs);
  integer('publishTimeoutMs', s.publishTimeoutMs, 10, 600_000);
  integer('retryMinMs', s.retryMinMs, 1, 600_000);
  integer('retryMaxMs', s.retryMaxMs, s.retryMinMs, 600_000);
  integer('heartbeatMs', s.heartbeatMs, 500, 30_000);
  integer('checkIntervalMs', s.checkIntervalMs, 10, 600_000);
  integer('closeTimeoutMs', s.closeTimeoutMs, 0, 600_000);
  if (
    options.connectionOptions !== undefined &&
    (typeof options.connectionOptions !== 'object' || options.connectionOptions === null)
  ) {
    throw invalidType('connectionOptions must be an object');
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw invalidType('signal must be an AbortSignal');
  }
  return {
    ...s,
    servers: [...servers],
    nodeName: options.nodeName,
    apply: options.apply,
    onHalt: options.onHalt,
    logger: options.logger ?? silentLogger,
    connectionOptions: options.connectionOptions ?? {},
    signal: options.signal,
    outboxDir: options.outboxDir,
  };
}

function definedOnly(options: ClusterLinkOptions): Partial<ClusterLinkSettings> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(DEFAULTS)) {
    const value: unknown = Reflect.get(options, key);
    if (value !== undefined) out[key] = value;
  }
  return out;
}
