import { DEFAULT_PORT, isValidToken, MAX_TOKEN_BYTES } from '@opc-lite/protocol';
import { resolveTls, type ResolvedTls, type TlsOptions } from './tls.js';

/**
 * Automatic reconnection: after the connection drops, wait
 * `min(maxDelayMs, initialDelayMs · factor^(attempt-1))`, spread by ±`jitter`
 * (a fraction), then try again, up to `maxAttempts` attempts in a row
 * (unlimited by default).
 *
 * @example
 * ```ts
 * const client = await connect({ reconnect: { initialDelayMs: 50, maxDelayMs: 2000, factor: 2, jitter: 0.2 } });
 * ```
 */
export interface ReconnectOptions {
  /** Delay before the first attempt, in ms. Default 100. */
  initialDelayMs?: number;
  /** Upper bound for any delay, in ms. Default 5000. */
  maxDelayMs?: number;
  /** Growth of the delay per attempt (>= 1). Default 2. */
  factor?: number;
  /** Random spread of each delay, a fraction in [0, 1]: 0.2 means ±20 %. Default 0.2. */
  jitter?: number;
  /** Attempts in a row before giving up and closing the client. Default Infinity. */
  maxAttempts?: number;
}

/**
 * Options of {@link connect}.
 *
 * @example
 * ```ts
 * const client = await connect({ host: '127.0.0.1', port: 7330, requestTimeoutMs: 2000, reconnect: true });
 * ```
 */
export interface ConnectOptions {
  /** Server address. Default `'127.0.0.1'`. */
  host?: string;
  /** Server TCP port. Default 7330. */
  port?: number;
  /** Aborting it closes the client (and rejects `connect()` if still connecting). */
  signal?: AbortSignal;
  /** Limit for one connect attempt, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Limit for one request's reply, in ms, unless the call gives its own `timeoutMs`. Default 10000. */
  requestTimeoutMs?: number;
  /** How long `close()` waits for the server to answer `QUIT` and hang up, in ms. Default 2000. */
  closeTimeoutMs?: number;
  /** `true` for the default backoff, or its settings. Default `false`: a dropped connection closes the client. */
  reconnect?: boolean | ReconnectOptions;
  /** Requests in flight or waiting for a connection, at most; more are rejected with a RangeError. Default 10000. */
  maxPendingRequests?: number;
  /** Readings a subscription queues for a slow consumer before dropping the oldest. Default 1000. */
  subscriptionQueueCapacity?: number;
  /**
   * Sent as `AUTH <token>` first on every connection, reconnections included (docs/SECURITY.md, "Tokens on TCP").
   * A token the server refuses, or withdraws at a reload of its auth file, closes the client with a `ProtocolError`
   * of code `auth-failed`, without a reconnect.
   */
  token?: string;
  /**
   * Speak TLS (docs/SECURITY.md, "TLS"): `true` checks the server's certificate against the system's CAs, or give
   * `{ ca, cert, key, servername, rejectUnauthorized }`. Every connection uses it, reconnections included. A refused
   * handshake is a `TlsError` with a code such as `ERR_TLS_CERT_EXPIRED`. Default `false`.
   */
  tls?: boolean | TlsOptions;
}

/**
 * Defaults of {@link ConnectOptions}.
 *
 * @example
 * ```ts
 * import { DEFAULTS } from '@opc-lite/reader-client';
 * DEFAULTS.port; // 7330
 * ```
 */
export const DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: DEFAULT_PORT,
  connectTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  closeTimeoutMs: 2000,
  reconnect: false,
  maxPendingRequests: 10_000,
  subscriptionQueueCapacity: 1000,
} as const);

/**
 * Defaults of {@link ReconnectOptions}, used when `reconnect` is `true`.
 *
 * @example
 * ```ts
 * import { RECONNECT_DEFAULTS } from '@opc-lite/reader-client';
 * RECONNECT_DEFAULTS.maxDelayMs; // 5000
 * ```
 */
export const RECONNECT_DEFAULTS = Object.freeze({
  initialDelayMs: 100,
  maxDelayMs: 5000,
  factor: 2,
  jitter: 0.2,
  maxAttempts: Number.POSITIVE_INFINITY,
} as const);

export interface ResolvedReconnect {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  jitter: number;
  maxAttempts: number;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  closeTimeoutMs: number;
  reconnect: ResolvedReconnect | undefined;
  maxPendingRequests: number;
  subscriptionQueueCapacity: number;
  token: string | undefined;
  tls: ResolvedTls;
}

/** Throws a TypeError unless `value` is a number, a RangeError unless it satisfies `ok`. */
export function checkNumber(name: string, value: unknown, ok: (v: number) => boolean, rule: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!ok(value)) throw new RangeError(`${name} must be ${rule}, got ${value}`);
  return value;
}

/** A check and how its error message states it. */
interface Rule {
  readonly ok: (v: number) => boolean;
  readonly text: string;
}

const positiveInteger = (v: number): boolean => Number.isInteger(v) && v >= 1;
const PORT: Rule = { ok: (v) => Number.isInteger(v) && v >= 1 && v <= 65535, text: 'an integer in 1..65535' };
const POSITIVE_FINITE: Rule = { ok: (v) => Number.isFinite(v) && v > 0, text: 'a finite number > 0' };
const NON_NEGATIVE_FINITE: Rule = { ok: (v) => Number.isFinite(v) && v >= 0, text: 'a finite number >= 0' };
const POSITIVE_INTEGER: Rule = { ok: positiveInteger, text: 'an integer >= 1' };

/** `given[key]`, or `defaults[key]` when it is undefined, checked against `rule` under the name `prefix + key`. */
function numberOption<K extends string>(
  given: Partial<Record<K, unknown>>,
  defaults: Readonly<Record<K, number>>,
  key: K,
  rule: Rule,
  prefix = '',
): number {
  return checkNumber(prefix + key, given[key] ?? defaults[key], rule.ok, rule.text);
}

/** Applies {@link DEFAULTS} and validates, throwing TypeError/RangeError naming the option. */
export function resolveOptions(options: ConnectOptions): ResolvedOptions {
  const host = options.host ?? DEFAULTS.host;
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string');
  const token = options.token;
  if (token !== undefined) {
    if (typeof token !== 'string') throw new TypeError(`token must be a string, got ${typeof token}`);
    if (!isValidToken(token)) {
      throw new RangeError(`token must be 1 to ${MAX_TOKEN_BYTES} printable ASCII characters without blanks`);
    }
  }
  return {
    host,
    token,
    port: numberOption(options, DEFAULTS, 'port', PORT),
    connectTimeoutMs: numberOption(options, DEFAULTS, 'connectTimeoutMs', POSITIVE_FINITE),
    requestTimeoutMs: numberOption(options, DEFAULTS, 'requestTimeoutMs', POSITIVE_FINITE),
    closeTimeoutMs: numberOption(options, DEFAULTS, 'closeTimeoutMs', POSITIVE_FINITE),
    maxPendingRequests: numberOption(options, DEFAULTS, 'maxPendingRequests', POSITIVE_INTEGER),
    subscriptionQueueCapacity: numberOption(options, DEFAULTS, 'subscriptionQueueCapacity', POSITIVE_INTEGER),
    reconnect: resolveReconnect(options.reconnect ?? DEFAULTS.reconnect),
    tls: resolveTls(options.tls),
  };
}

function resolveReconnect(option: boolean | ReconnectOptions): ResolvedReconnect | undefined {
  if (option === false) return undefined;
  if (option === true) return { ...RECONNECT_DEFAULTS };
  if (typeof option !== 'object' || option === null) throw new TypeError('reconnect must be a boolean or an object');
  const field = (key: keyof ResolvedReconnect, rule: Rule): number =>
    numberOption(option, RECONNECT_DEFAULTS, key, rule, 'reconnect.');
  const r: ResolvedReconnect = {
    initialDelayMs: field('initialDelayMs', NON_NEGATIVE_FINITE),
    maxDelayMs: field('maxDelayMs', NON_NEGATIVE_FINITE),
    factor: field('factor', { ok: (v) => Number.isFinite(v) && v >= 1, text: 'a finite number >= 1' }),
    jitter: field('jitter', { ok: (v) => v >= 0 && v <= 1, text: 'in [0, 1]' }),
    maxAttempts: field('maxAttempts', {
      ok: (v) => v === Number.POSITIVE_INFINITY || positiveInteger(v),
      text: 'an integer >= 1 or Infinity',
    }),
  };
  if (r.maxDelayMs < r.initialDelayMs) throw new RangeError('reconnect.maxDelayMs must be >= reconnect.initialDelayMs');
  return r;
}

/**
 * The wait before reconnect attempt `attempt` (1 for the first):
 * exponential growth capped at `maxDelayMs`, then spread by ±`jitter` so that
 * many clients dropped at once do not return in lockstep.
 *
 * @example
 * ```ts
 * backoffDelayMs(3, { initialDelayMs: 100, maxDelayMs: 5000, factor: 2, jitter: 0 }); // 400
 * ```
 */
export function backoffDelayMs(
  attempt: number,
  options: Pick<ResolvedReconnect, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'jitter'>,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** Math.max(0, attempt - 1));
  const spread = base * options.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(options.maxDelayMs, Math.round(base + spread)));
}
