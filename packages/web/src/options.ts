/**
 * The options of {@link createWebHandler} and {@link startWebServer}: one typed object, units in the names,
 * defaults in {@link WEB_DEFAULTS}, checked once at construction with a `TypeError` or `RangeError` naming the
 * option.
 */
import { DEFAULTS as SERVER_DEFAULTS } from '@opc-lite/opc-server';
import { isValidPattern, MAX_RANGE_POINTS } from '@opc-lite/protocol';

/**
 * A logger with pino's method shape; the package defaults to silence.
 *
 * @example
 * ```ts
 * const logger: WebLogger = console;
 * ```
 */
export interface WebLogger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/**
 * The limits of the HTTP API, all numbers (see the README for each).
 *
 * @example
 * ```ts
 * const limits: WebLimits = { ...WEB_DEFAULTS, maxBodyBytes: 64 * 1024 };
 * ```
 */
export interface WebLimits {
  /** Largest `POST /api/write` body; past it the answer is 413. */
  maxBodyBytes: number;
  /** Most readings one `/api/range` answer holds before `more` cuts it, and most `points` (as `maxRangeReply`). */
  maxRangeReply: number;
  /** Most readings per sensor a resumed stream sends before going live (as `AFTER`). */
  maxResumeReadings: number;
  /** Most `backlog` readings per sensor a new stream may ask for. */
  maxStreamBacklog: number;
  /** Server-Sent Event streams open at once; one more is answered 503 `too-many-streams`. */
  maxStreams: number;
  /** Bytes pending to one stream (not yet taken by its socket) past which it is dropped and counted. */
  streamBufferBytes: number;
  /** A stream whose socket has not drained for this long is dropped and counted. */
  streamDrainTimeoutMs: number;
  /** A `heartbeat` event goes to every stream this often. */
  heartbeatMs: number;
  /** The `retry:` a stream starts with: how long a browser waits before it reconnects. */
  retryMs: number;
  /** Longest event id (the resume point of every sensor of the stream); sensors past it resume live only. */
  maxEventIdBytes: number;
  /** Most `opc_sensor_value` series in `/metrics`. */
  metricsSensorsMax: number;
  /** A sensor with no reading received for this long drops out of `opc_sensor_value`. */
  metricsSensorsStaleMs: number;
}

/**
 * Options of {@link createWebHandler}. All optional.
 *
 * @example
 * ```ts
 * const handler = createWebHandler(server, { metricsSensors: 'plant1/*', maxBodyBytes: 256 * 1024 });
 * ```
 */
export interface WebOptions extends Partial<WebLimits> {
  /**
   * Where the built page is (`index.html` and `assets.json`, as the package's build writes them); `false` serves
   * no page. Default: the page shipped in the package (`dist/page`).
   */
  pageDir?: string | URL | false;
  /** Export each matching sensor's latest value in `/metrics` as `opc_sensor_value{sensor="…"}`. Default: none. */
  metricsSensors?: string;
  /** Node.js process metrics (`process_*`, `nodejs_*`) in `/metrics`. Default `true`. */
  processMetrics?: boolean;
  /** Anything with pino's methods; default silent. */
  logger?: WebLogger;
  /** The clock for relative times and staleness, Unix epoch ms (default `Date.now`; tests). */
  now?: () => number;
}

/**
 * The defaults of the numeric options, frozen.
 *
 * @example
 * ```ts
 * WEB_DEFAULTS.maxBodyBytes; // 1048576
 * ```
 */
export const WEB_DEFAULTS: Readonly<WebLimits> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxRangeReply: SERVER_DEFAULTS.maxRangeReply,
  maxResumeReadings: SERVER_DEFAULTS.maxRangeReply,
  maxStreamBacklog: SERVER_DEFAULTS.maxHistoryReply,
  maxStreams: 256,
  streamBufferBytes: 1024 * 1024,
  streamDrainTimeoutMs: 10_000,
  heartbeatMs: 15_000,
  retryMs: 1000,
  maxEventIdBytes: 4096,
  metricsSensorsMax: 1000,
  metricsSensorsStaleMs: 5 * 60_000,
});

const MAX_TIMER_MS = 2 ** 31 - 1;

const RULES: Readonly<Record<keyof WebLimits, { min: number; max: number }>> = Object.freeze({
  maxBodyBytes: { min: 1, max: 2 ** 31 - 1 },
  maxRangeReply: { min: 1, max: 2 ** 31 - 1 },
  maxResumeReadings: { min: 0, max: 2 ** 31 - 1 },
  maxStreamBacklog: { min: 0, max: 2 ** 31 - 1 },
  maxStreams: { min: 0, max: 1_000_000 },
  streamBufferBytes: { min: 1024, max: 2 ** 31 - 1 },
  streamDrainTimeoutMs: { min: 1, max: MAX_TIMER_MS },
  heartbeatMs: { min: 10, max: MAX_TIMER_MS },
  retryMs: { min: 0, max: MAX_TIMER_MS },
  maxEventIdBytes: { min: 64, max: 1024 * 1024 },
  metricsSensorsMax: { min: 0, max: 1_000_000 },
  metricsSensorsStaleMs: { min: 1, max: Number.MAX_SAFE_INTEGER },
});

/** Options after validation. */
export interface ResolvedWebOptions extends WebLimits {
  pageDir: string | URL | false | undefined;
  metricsSensors: string | undefined;
  processMetrics: boolean;
  logger: WebLogger;
  now: () => number;
  /** The most `points` a range may ask for: `maxRangeReply`, and at most the protocol's bound. */
  maxPoints: number;
}

const silent: WebLogger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

const KNOWN = new Set<string>([
  ...Object.keys(WEB_DEFAULTS),
  'pageDir',
  'metricsSensors',
  'processMetrics',
  'logger',
  'now',
]);

/**
 * Checks options and fills in defaults. Throws a `TypeError` (wrong type, unknown option) or a `RangeError` (out
 * of range) naming the option.
 *
 * @example
 * ```ts
 * resolveWebOptions({ maxStreams: -1 }); // RangeError: maxStreams must be an integer from 0 to 1000000 (got -1)
 * ```
 */
export function resolveWebOptions(options: WebOptions = {}, known: ReadonlySet<string> = KNOWN): ResolvedWebOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object (got ${options === null ? 'null' : typeof options})`);
  }
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`unknown option '${key}' (known: ${[...known].join(', ')})`);
  }
  const given = options as Record<string, unknown>;
  const limits: Record<string, number> = { ...WEB_DEFAULTS };
  for (const [key, rule] of Object.entries(RULES)) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== 'number') throw new TypeError(`${key} must be a number (got ${typeof value})`);
    if (!Number.isInteger(value) || value < rule.min || value > rule.max) {
      throw new RangeError(`${key} must be an integer from ${rule.min} to ${rule.max} (got ${value})`);
    }
    limits[key] = value;
  }
  const { pageDir, metricsSensors, processMetrics, logger, now } = options;
  if (pageDir !== undefined && pageDir !== false && typeof pageDir !== 'string' && !(pageDir instanceof URL)) {
    throw new TypeError('pageDir must be a path, a file: URL or false');
  }
  if (metricsSensors !== undefined && (typeof metricsSensors !== 'string' || !isValidPattern(metricsSensors))) {
    throw new RangeError(`metricsSensors must be a sensor pattern (docs/PROTOCOL.md, "Readings, names and numbers")`);
  }
  if (processMetrics !== undefined && typeof processMetrics !== 'boolean') {
    throw new TypeError('processMetrics must be a boolean');
  }
  if (logger !== undefined) {
    const l = logger as unknown as Partial<Record<keyof WebLogger, unknown>> | null;
    if (
      typeof l !== 'object' ||
      l === null ||
      typeof l.debug !== 'function' ||
      typeof l.info !== 'function' ||
      typeof l.warn !== 'function' ||
      typeof l.error !== 'function'
    ) {
      throw new TypeError('logger must have debug, info, warn and error methods (pino shape)');
    }
  }
  if (now !== undefined && typeof now !== 'function') throw new TypeError('now must be a function');
  const resolved = limits as unknown as WebLimits;
  return {
    ...resolved,
    pageDir,
    metricsSensors,
    processMetrics: processMetrics ?? true,
    logger: logger ?? silent,
    now: now ?? Date.now,
    maxPoints: Math.min(resolved.maxRangeReply, MAX_RANGE_POINTS),
  };
}

export { KNOWN as WEB_OPTION_NAMES };
