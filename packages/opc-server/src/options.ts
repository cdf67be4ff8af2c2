/**
 * Server options: their types, their defaults (one frozen {@link DEFAULTS})
 * and their validation (PROTOCOL.md "Limits": all configurable, with documented
 * defaults").
 */
import { Authenticator } from './auth/authenticator.js';
import { UdpAllowList } from './auth/udp-allow.js';
import { TlsCredentials } from './tls/credentials.js';
import type { StorageOptions } from './storage.js';

/**
 * A logger with pino's method shape. The server logs nothing unless given one.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const server = createOpcServer({ logger: pino() });
 * ```
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  /** As pino's: lets the server skip building per-connection debug records nobody will see. */
  isLevelEnabled?(level: string): boolean;
}

/**
 * Options of {@link createOpcServer}. Every field is optional; units are in
 * the names.
 *
 * @example
 * ```ts
 * const options: OpcServerOptions = { port: 0, historyCapacity: 100, idleTimeoutMs: 0 };
 * ```
 */
export interface OpcServerOptions {
  /** UDP and TCP port number (default 7330); 0 picks a free one, the same for both. */
  port?: number;
  /** Address to bind (default `127.0.0.1`); `0.0.0.0` exposes the server. An IPv6 address uses udp6. */
  host?: string;
  /** Readings kept per sensor (default 1000). */
  historyCapacity?: number;
  /** Sensors accepted; readings for new sensors past it are rejected as `too-many-sensors` (default 10 000). */
  maxSensors?: number;
  /** TCP clients at once; one more gets `ERR server-busy` and is closed (default 1024). */
  maxClients?: number;
  /** Longest TCP command line and UDP line, in bytes, LF excluded (default 1024). */
  maxLineBytes?: number;
  /** Patterns one client may subscribe with (default 64). */
  maxSubscriptionsPerClient?: number;
  /** Bytes pending to one client past which pushes to it are dropped and counted (default 1 MiB). */
  outboundBudgetBytes?: number;
  /**
   * Bytes pending to all clients together past which the clients holding the most are disconnected with
   * `ERR slow-consumer`, largest first, until the rest fit (default 256 MiB; 0 = no cap). Only clients that have
   * fallen behind are counted and disconnected. It also bounds the replies built in one event-loop turn across all
   * clients: past it, commands wait for the next turn. See the README's "Slow consumers and output".
   */
  maxOutboundBytes?: number;
  /** A client over budget that has not drained after this long gets `ERR slow-consumer` and is destroyed (default 5000). */
  drainTimeoutMs?: number;
  /** Clients with no subscription and no command for this long get `ERR idle-timeout` (default 300 000; 0 = never). */
  idleTimeoutMs?: number;
  /** SO_RCVBUF requested for the UDP socket (default 8 MiB; 0 = leave the system default). The kernel may grant less. */
  recvBufferBytes?: number;
  /**
   * After each TCP read, keep the event loop polling instead of sleeping for this many microseconds, so that a
   * client's next request is read without a thread wake-up (default 50; 0 = sleep at once). Costs CPU only while
   * clients send; see docs/PERFORMANCE.md.
   */
  busyPollUs?: number;
  /** After `close()` ends the clients, those still connected after this long are destroyed (default 2000). */
  closeGraceMs?: number;
  /** Most `VAL` lines one `HIST` returns and most backlog readings per sensor one `SUB` sends (default: historyCapacity). */
  maxHistoryReply?: number;
  /**
   * Most `VAL` lines one `RANGE` returns before it is cut with `MORE`, most buckets it may ask for, and most readings
   * per sensor a `SUB` resumed with `AFTER` sends first (default 100 000). See docs/PROTOCOL.md, "History: RANGE".
   */
  maxRangeReply?: number;
  /** Where to log (pino method shape); silent by default. */
  logger?: Logger;
  /** Aborting it closes the server. */
  signal?: AbortSignal;
  /** Clock for server timestamps and for resolving the relative times of `RANGE`, Unix epoch ms (default `Date.now`). */
  now?: () => number;
  /**
   * Keep every reading on disk, in the data directory `storage.dir`, for the retention period
   * (docs/DURABILITY.md). Without it the server keeps history in memory only (the rings of `historyCapacity`) and
   * writes no file. The store is opened, and its sensors restored, by `createOpcServer`.
   */
  storage?: StorageOptions;
  /**
   * Check tokens and rights on TCP (docs/SECURITY.md): clients send `AUTH <token>`, and each command needs its
   * right. Without it every client may do everything.
   */
  auth?: Authenticator;
  /**
   * Take datagrams only from these addresses or CIDR blocks (`10.20.0.0/16`, `fd00::/8`); the others are dropped
   * and counted in `STATS` as `udp_refused_not_allowed` (docs/SECURITY.md, "UDP ingest"). Default: from anyone.
   */
  udpAllow?: readonly string[];
  /**
   * Speak TLS on the TCP port, with this certificate and key; with a CA in them, clients must present a certificate
   * it signed (docs/SECURITY.md, "TLS"). A plaintext client gets `ERR tls-required` and is closed. UDP stays plain.
   */
  tls?: TlsCredentials;
}

/**
 * The options that have a default (all but `logger`, `signal`, `now`), all set.
 *
 * @example
 * ```ts
 * const limits: OpcServerLimits = { ...DEFAULTS, port: 0 };
 * ```
 */
export type OpcServerLimits = Required<
  Omit<OpcServerOptions, 'logger' | 'signal' | 'now' | 'storage' | 'auth' | 'udpAllow' | 'tls'>
>;

/**
 * The default of every option (frozen).
 *
 * @example
 * ```ts
 * import { DEFAULTS } from '@opc-lite/opc-server';
 * console.log(DEFAULTS.port); // 7330
 * ```
 */
export const DEFAULTS: Readonly<OpcServerLimits> = Object.freeze({
  port: 7330,
  host: '127.0.0.1',
  historyCapacity: 1000,
  maxSensors: 10_000,
  maxClients: 1024,
  maxLineBytes: 1024,
  maxSubscriptionsPerClient: 64,
  outboundBudgetBytes: 1024 * 1024,
  maxOutboundBytes: 256 * 1024 * 1024,
  drainTimeoutMs: 5000,
  idleTimeoutMs: 300_000,
  recvBufferBytes: 8 * 1024 * 1024,
  busyPollUs: 50,
  closeGraceMs: 2000,
  maxHistoryReply: 1000,
  maxRangeReply: 100_000,
});

/**
 * Largest delay a Node.js timer honours; longer `*Ms` options are clamped to it.
 *
 * @example
 * ```ts
 * setTimeout(fn, Math.min(ms, MAX_TIMER_MS));
 * ```
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Options after validation: every limit set.
 *
 * @example
 * ```ts
 * const resolved: ResolvedOptions = resolveOptions({ port: 0 });
 * ```
 */
export interface ResolvedOptions extends OpcServerLimits {
  logger: Logger;
  signal: AbortSignal | undefined;
  now: () => number;
  storage: StorageOptions | undefined;
  auth: Authenticator | undefined;
  udpAllow: UdpAllowList | undefined;
  tls: TlsCredentials | undefined;
}

/**
 * A logger that drops everything (the default).
 *
 * @example
 * ```ts
 * const server = createOpcServer({ logger: silentLogger });
 * ```
 */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
  isLevelEnabled: () => false,
});

/** The accepted range of a numeric option, inclusive. */
export interface IntegerRule {
  readonly min: number;
  readonly max: number;
}

/**
 * The range each numeric option accepts, as {@link resolveOptions} checks it;
 * front ends (the CLI) use it to check their own flags the same way.
 *
 * @example
 * ```ts
 * INTEGER_RULES.port; // { min: 0, max: 65535 }
 * ```
 */
export const INTEGER_RULES: Readonly<Record<Exclude<keyof OpcServerLimits, 'host'>, IntegerRule>> = Object.freeze({
  port: { min: 0, max: 65_535 },
  historyCapacity: { min: 1, max: 2 ** 31 - 1 },
  maxSensors: { min: 1, max: Number.MAX_SAFE_INTEGER },
  maxClients: { min: 1, max: Number.MAX_SAFE_INTEGER },
  maxLineBytes: { min: 16, max: 65_507 },
  maxSubscriptionsPerClient: { min: 1, max: Number.MAX_SAFE_INTEGER },
  outboundBudgetBytes: { min: 1, max: Number.MAX_SAFE_INTEGER },
  maxOutboundBytes: { min: 0, max: Number.MAX_SAFE_INTEGER },
  drainTimeoutMs: { min: 1, max: Number.MAX_SAFE_INTEGER },
  idleTimeoutMs: { min: 0, max: Number.MAX_SAFE_INTEGER },
  recvBufferBytes: { min: 0, max: 2 ** 31 - 1 },
  busyPollUs: { min: 0, max: 1_000_000 },
  closeGraceMs: { min: 0, max: Number.MAX_SAFE_INTEGER },
  maxHistoryReply: { min: 1, max: 2 ** 31 - 1 },
  maxRangeReply: { min: 1, max: 2 ** 31 - 1 },
});

const KNOWN = new Set<string>([
  ...Object.keys(DEFAULTS),
  'logger',
  'signal',
  'now',
  'storage',
  'auth',
  'udpAllow',
  'tls',
]);

/**
 * Checks options and fills in defaults. Throws a TypeError (wrong type,
 * unknown option) or a RangeError (out of range) naming the option.
 *
 * @example
 * ```ts
 * resolveOptions({ port: 0 }).historyCapacity; // 1000
 * resolveOptions({ port: -1 }); // RangeError: port must be an integer from 0 to 65535 (got -1)
 * ```
 */
export function resolveOptions(options: OpcServerOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object (got ${options === null ? 'null' : typeof options})`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`unknown option '${key}' (known: ${[...KNOWN].join(', ')})`);
  }
  const given = options as Record<string, unknown>;
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, rule] of Object.entries(INTEGER_RULES)) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== 'number') throw new TypeError(`${key} must be a number (got ${typeof value})`);
    if (!Number.isInteger(value) || value < rule.min || value > rule.max) {
      throw new RangeError(`${key} must be an integer from ${rule.min} to ${rule.max} (got ${value})`);
    }
    out[key] = value;
  }
  if (given.maxHistoryReply === undefined) out.maxHistoryReply = out.historyCapacity;
  if (given.host !== undefined) {
    if (typeof given.host !== 'string') throw new TypeError(`host must be a string (got ${typeof given.host})`);
    if (given.host.trim() === '') throw new RangeError('host must not be empty');
    out.host = given.host.trim();
  }
  const logger = given.logger;
  if (logger !== undefined) {
    const l = logger as Partial<Record<keyof Logger, unknown>>;
    if (
      typeof logger !== 'object' ||
      logger === null ||
      typeof l.debug !== 'function' ||
      typeof l.info !== 'function' ||
      typeof l.warn !== 'function' ||
      typeof l.error !== 'function'
    ) {
      throw new TypeError('logger must have debug, info, warn and error methods (pino shape)');
    }
  }
  const signal = given.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('signal must be an AbortSignal');
  }
  const now = given.now;
  if (now !== undefined && typeof now !== 'function') throw new TypeError(`now must be a function (got ${typeof now})`);
  out.logger = logger ?? silentLogger;
  out.signal = signal;
  out.now = now ?? Date.now;
  const storage = given.storage;
  if (storage !== undefined) {
    if (typeof storage !== 'object' || storage === null || Array.isArray(storage)) {
      throw new TypeError(`storage must be an object with a dir (got ${storage === null ? 'null' : typeof storage})`);
    }
    if (typeof (storage as { dir?: unknown }).dir !== 'string' || (storage as { dir: string }).dir === '') {
      throw new TypeError('storage.dir must be a non-empty string (the data directory)');
    }
  }
  out.storage = storage;
  if (given.auth !== undefined && !(given.auth instanceof Authenticator)) {
    throw new TypeError('auth must be an Authenticator (see docs/SECURITY.md)');
  }
  out.auth = given.auth;
  out.udpAllow = given.udpAllow === undefined ? undefined : new UdpAllowList(given.udpAllow as readonly string[]);
  if (given.tls !== undefined && !(given.tls instanceof TlsCredentials)) {
    throw new TypeError(
      'tls must be a TlsCredentials (TlsCredentials.fromFiles or new TlsCredentials; docs/SECURITY.md)',
    );
  }
  out.tls = given.tls;
  return out as unknown as ResolvedOptions;
}

/**
 * An error raised by the server, with a stable `code` (for a failed
 * `listen()`, the Node.js code such as `EADDRINUSE`) and the original error
 * as `cause`.
 *
 * @example
 * ```ts
 * try {
 *   await server.listen();
 * } catch (err) {
 *   if (err instanceof OpcServerError && err.code === 'EADDRINUSE') console.error('port taken');
 * }
 * ```
 */
export class OpcServerError extends Error {
  override readonly name = 'OpcServerError';
  /** Stable code: `EADDRINUSE`, `EACCES`, ... (from Node.js) or `ERR_SERVER_CLOSED`, `ERR_SERVER_LISTENING`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
