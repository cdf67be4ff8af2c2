/**
 * `createWebHandler`: the HTTP API, `/metrics` and the page as one `(req, res)` function over an opc-lite
 * server (docs/HTTP.md). It owns no listener: mount it in any `node:http` server, or let
 * {@link startWebServer} make one.
 *
 * Routing is a switch over the path; every answer is JSON but the page, CSV ranges, streams and `/metrics`.
 * An error is answered `{ "error": { "code", "message" } }` with its status; an unexpected one is logged with
 * its stack and answered 500 with no detail.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpcServer, Sensor } from '@opc-lite/opc-server';
import { compilePattern, isValidName, parseInfluxLines, resolveTime, type TimeArg } from '@opc-lite/protocol';
import { defaultPageDir, loadAssets, type Asset } from './assets.js';
import { HttpAuth, type Who } from './auth.js';
import { HttpError } from './errors.js';
import { WebMetrics, type RouteLabel } from './metrics.js';
import { resolveWebOptions, type ResolvedWebOptions, type WebOptions } from './options.js';
import { Query } from './query.js';
import { rangeBody } from './range.js';
import { parseEventId, StreamHub } from './stream.js';
import { readBody, writeLines } from './write.js';
import { influxPrecision, influxToken, readInfluxBody, writeInflux } from './influx-write.js';

/**
 * The request handler, with what it owns.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * const handler = createWebHandler(server);
 * createServer(handler).listen(7331);
 * // later
 * await handler.close();
 * ```
 */
export interface WebHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Ends every stream and stops watching the server; later requests get 503 `shutting-down`. Idempotent. */
  close(): Promise<void>;
  /** The `prom-client` registry `/metrics` prints (the handler's own), for metrics of the embedding program. */
  readonly registry: WebMetrics['registry'];
  /** Server-Sent Event streams open now. */
  readonly streams: number;
}

const NOW: TimeArg = Object.freeze({ kind: 'now' });
const JSON_TYPE = 'application/json; charset=utf-8';
const CSV_TYPE = 'text/csv; charset=utf-8; header=present';
const API_HEADERS = Object.freeze({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
const PAGE_HEADERS = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'",
});
const RANGE_ARGS = ['sensor', 'from', 'to', 'points', 'limit', 'format'];
const GET = ['GET', 'HEAD'];

/**
 * Creates the handler of the HTTP API, `/metrics` and the page for `server` (docs/HTTP.md). Options are checked
 * here (a `TypeError` or `RangeError` naming the option).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createOpcServer } from '@opc-lite/opc-server';
 * import { createWebHandler } from '@opc-lite/web';
 *
 * const server = createOpcServer({ storage: { dir: './opc-data' } });
 * await server.listen();
 * const handler = createWebHandler(server, { metricsSensors: 'plant1/*' });
 * createServer(handler).listen(7331, '127.0.0.1');
 * ```
 */
export function createWebHandler(server: OpcServer, options?: WebOptions): WebHandler {
  const resolved = resolveWebOptions(options);
  const web = new Web(server, resolved);
  const handler = ((req: IncomingMessage, res: ServerResponse) => web.handle(req, res)) as WebHandler;
  Object.defineProperties(handler, {
    close: { value: () => web.close() },
    registry: { value: web.metrics.registry },
    streams: { get: () => web.streams.size },
  });
  return handler;
}

class Web {
  readonly streams: StreamHub;
  readonly metrics: WebMetrics;
  readonly #server: OpcServer;
  readonly #options: ResolvedWebOptions;
  readonly #assets: Map<string, Asset> | undefined;
  /** The server's tokens and rights, when it has an auth file (docs/SECURITY.md, "Tokens on HTTP"). */
  readonly #auth: HttpAuth | undefined;
  #closed = false;
  #closePromise: Promise<void> | undefined;

  constructor(server: OpcServer, options: ResolvedWebOptions) {
    this.#server = server;
    this.#options = options;
    this.#auth = server.auth === undefined ? undefined : new HttpAuth(server.auth);
    const pageDir = options.pageDir;
    this.#assets = pageDir === false ? undefined : loadAssets(pageDir ?? defaultPageDir());
    if (pageDir !== false && this.#assets === undefined) {
      options.logger.warn({ pageDir: String(pageDir ?? defaultPageDir()) }, 'no built page found: / is not served');
    }
    this.streams = new StreamHub(server, options);
    this.metrics = new WebMetrics(server, options, this.streams);
    server.once('close', this.#onServerClose);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    // What this request reads is in the store's log before it is sent (docs/DURABILITY.md): a reading that came in
    // earlier in this turn would otherwise be committed only at the turn's end, after the response went out.
    this.#server.commit();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch (err) {
      return this.#fail(res, new HttpError(400, 'bad-args', 'the request target is not a URL path', { cause: err }));
    }
    const route = this.#label(url.pathname);
    req.on('error', () => {}); // a client that goes away mid-request is not an error of ours
    if (route !== '/api/stream') {
      res.once('finish', () => {
        this.metrics.observe(req.method ?? 'GET', route, res.statusCode, (performance.now() - started) / 1000);
      });
    }
    const auth = this.#auth;
    if (auth === undefined) {
      try {
        this.#route(req, res, url, route, undefined);
      } catch (err) {
        this.#fail(res, err);
      }
      return;
    }
    // EventSource cannot send a header: a stream may carry its token as `access_token` (docs/SECURITY.md).
    const queryToken = route === '/api/stream' ? (url.searchParams.get('access_token') ?? undefined) : undefined;
    url.searchParams.delete('access_token');
    // InfluxDB clients send `Token`, Basic or `p=` on the write routes (docs/SECURITY.md, "InfluxDB clients").
    let identified: Promise<Who>;
    try {
      identified =
        route === '/write' || route === '/api/v2/write'
          ? auth.identifyToken(
              req,
              influxToken(req.headers.authorization, url.searchParams, route === '/write' ? 'v1' : 'v2'),
            )
          : auth.identify(req, queryToken);
    } catch (err) {
      return this.#fail(res, err);
    }
    identified.then(
      (who) => {
        try {
          this.#server.commit(); // the token check took a turn or more
          this.#route(req, res, url, route, who);
        } catch (err) {
          this.#fail(res, err);
        }
      },
      (err: unknown) => this.#fail(res, err),
    );
  }

  close(): Promise<void> {
    return (this.#closePromise ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#server.off('close', this.#onServerClose);
    this.streams.close();
    this.metrics.close();
    await Promise.resolve();
  }

  readonly #onServerClose = (): void => {
    void this.close();
  };

  /** The route a path belongs to: a fixed set, for the latency histogram. */
  #label(path: string): RouteLabel {
    switch (path) {
      case '/healthz':
      case '/metrics':
      case '/api/sensors':
      case '/api/range':
      case '/api/stream':
      case '/api/write':
      case '/write':
      case '/api/v2/write':
        return path;
      case '/':
        return '/';
    }
    if (path.startsWith('/api/sensors/')) return '/api/sensors/:name';
    if (this.#assets?.has(path) === true) return '/assets';
    return 'other';
  }

  /** Answers the request (or starts to: a body to read, a stream, a scrape). */
  #route(req: IncomingMessage, res: ServerResponse, url: URL, route: RouteLabel, who: Who | undefined): void {
    const method = req.method ?? 'GET';
    const query = url.searchParams;
    if (who !== undefined) this.#authorize(route, url, who);
    if (route.startsWith('/api/') && this.#closed) throw new HttpError(503, 'shutting-down', 'the server is closing');
    switch (route) {
      case '/healthz':
        allow(method, GET);
        new Query(query, []);
        return this.#health(res);
      case '/metrics':
        allow(method, GET);
        new Query(query, []);
        this.metrics.text().then(
          (text) => {
            this.#server.commit(); // sensor values read in a later turn than the request's
            send(res, 200, text, { 'Content-Type': this.metrics.registry.contentType, ...API_HEADERS });
          },
          (err: unknown) => this.#fail(res, err),
        );
        return;
      case '/api/sensors':
        allow(method, GET);
        return this.#sensors(res, new Query(query, ['pattern']), who);
      case '/api/sensors/:name':
        allow(method, GET);
        new Query(query, []);
        return this.#sensor(res, decode(url.pathname.slice('/api/sensors/'.length)));
      case '/api/range':
        allow(method, GET);
        return this.#range(res, url, new Query(query, RANGE_ARGS));
      case '/api/stream':
        allow(method, ['GET']);
        return this.#stream(req, res, new Query(query, ['pattern', 'backlog', 'after']), who);
      case '/api/write':
        allow(method, ['POST']);
        new Query(query, []);
        checkOrigin(req);
        readBody(req, this.#options.maxBodyBytes).then(
          (body) => {
            try {
              if (who !== undefined) this.#auth?.requireWrite(who, body);
            } catch (err) {
              return this.#fail(res, err);
            }
            const { status, json } = writeLines(this.#server, body, describeRemote(req));
            sendJson(res, status, json);
          },
          (err: unknown) => this.#fail(res, err),
        );
        return;
      case '/write':
      case '/api/v2/write': {
        // InfluxDB's write endpoints (docs/INGEST.md, "InfluxDB line protocol over HTTP").
        allow(method, ['POST']);
        const precision = influxPrecision(query, route === '/write' ? 'v1' : 'v2');
        checkOrigin(req);
        readInfluxBody(req, this.#options.maxBodyBytes).then(
          (body) => {
            try {
              if (who !== undefined) this.#auth?.requireWrite(who, body, (b, sink) => parseInfluxLines(b, sink));
            } catch (err) {
              return this.#fail(res, err);
            }
            const { status, json } = writeInflux(this.#server, body, precision, describeRemote(req));
            if (json === undefined) {
              res.writeHead(status, API_HEADERS);
              res.end();
            } else sendJson(res, status, json);
          },
          (err: unknown) => this.#fail(res, err),
        );
        return;
      }
      case '/':
      case '/assets': {
        const asset = this.#assets?.get(route === '/' ? '/index.html' : url.pathname);
        if (asset === undefined) {
          throw new HttpError(404, 'not-found', 'no page is served here (none was built); the API is under /api/');
        }
        allow(method, GET);
        return sendAsset(req, res, asset);
      }
      case 'other':
        throw new HttpError(404, 'not-found', `no such route: ${url.pathname.slice(0, 200)}`);
    }
  }

  /** What each route needs (docs/SECURITY.md, "Tokens on HTTP"); the page itself and /healthz need nothing. */
  #authorize(route: RouteLabel, url: URL, who: Who): void {
    const auth = this.#auth!;
    switch (route) {
      case '/metrics':
        return auth.require(who, 'admin');
      case '/api/sensors':
      case '/api/stream':
        return auth.require(who, 'read-any');
      case '/api/sensors/:name': {
        const name = decode(url.pathname.slice('/api/sensors/'.length));
        return auth.require(who, isValidName(name) ? { read: name } : 'read-any');
      }
      case '/api/range': {
        const name = url.searchParams.get('sensor');
        return auth.require(who, name !== null && isValidName(name) ? { read: name } : 'read-any');
      }
      case '/api/write':
      case '/write':
      case '/api/v2/write':
        return auth.require(who, 'write-any');
      default:
        return;
    }
  }

  #health(res: ServerResponse): void {
    const listening = this.#server.address() !== undefined && !this.#closed;
    const stats = this.#server.stats();
    const status = !listening ? 'closed' : stats.storage_degraded === 1 ? 'degraded' : 'ok';
    sendJson(res, listening ? 200 : 503, {
      status,
      uptimeMs: stats.uptime_ms,
      sensors: stats.sensors,
      durable: stats.storage_durable === 1,
    });
  }

  #sensors(res: ServerResponse, query: Query, who: Who | undefined): void {
    const pattern = query.pattern('pattern', '*');
    let sensors = this.#server.store.list(pattern === '*' ? undefined : compilePattern(pattern));
    if (who !== undefined) sensors = sensors.filter((s) => who.rights.canRead(s.name));
    sendJson(res, 200, { sensors: sensors.map(describeSensor) });
  }

  #sensor(res: ServerResponse, name: string): void {
    if (!isValidName(name)) {
      throw new HttpError(400, 'bad-args', `not a sensor name: ${JSON.stringify(name.slice(0, 80))}`);
    }
    const sensor = this.#server.store.get(name);
    if (sensor === undefined) throw new HttpError(404, 'not-found', `no sensor named ${name}`);
    sendJson(res, 200, describeSensor(sensor));
  }

  /** `RANGE` over HTTP (docs/PROTOCOL.md, "History: RANGE"), as JSON or CSV. */
  #range(res: ServerResponse, url: URL, query: Query): void {
    const options = this.#options;
    const name = query.sensor('sensor');
    const fromArg = query.time('from');
    const toArg = query.time('to', NOW);
    const points = query.int('points', 1, options.maxPoints);
    const limit = query.int('limit', 1, options.maxRangeReply, options.maxRangeReply)!;
    const format = query.oneOf('format', ['json', 'csv']);
    if (points !== undefined && query.get('limit') !== undefined) {
      throw new HttpError(400, 'bad-args', "arguments 'points' and 'limit' do not go together (limit cuts readings)");
    }
    const now = options.now();
    const fromMs = resolveTime(fromArg, now);
    const toMs = resolveTime(toArg, now);
    if (fromMs > toMs) throw new HttpError(400, 'bad-args', `from is after to (${fromMs} > ${toMs})`);
    const sensor = this.#server.store.get(name);
    if (sensor === undefined) throw new HttpError(404, 'not-found', `no sensor named ${name}`);
    const { body, more } = rangeBody(this.#server.history, { sensor, fromMs, toMs, points, limit, format });
    const headers: Record<string, string> = { ...API_HEADERS };
    if (more !== undefined) {
      const next = new URLSearchParams(url.searchParams);
      next.set('from', String(more));
      next.set('to', String(toMs));
      headers.Link = `<${url.pathname}?${next.toString()}>; rel="next"`;
    }
    if (format === 'csv') {
      headers['Content-Type'] = CSV_TYPE;
      headers['Content-Disposition'] = `inline; filename="${name.replaceAll('/', '_')}.csv"`;
      send(res, 200, body, headers);
    } else {
      send(res, 200, body, { 'Content-Type': JSON_TYPE, ...headers });
    }
  }

  #stream(req: IncomingMessage, res: ServerResponse, query: Query, who: Who | undefined): void {
    const pattern = query.pattern('pattern', '*');
    const backlog = query.int('backlog', 0, this.#options.maxStreamBacklog, 0)!;
    const header = req.headers['last-event-id'];
    const after = query.get('after');
    // The browser's Last-Event-ID is newer than an `after` written into the URL when the stream was first opened.
    const idText = typeof header === 'string' ? header : after;
    const source = typeof header === 'string' ? 'Last-Event-ID' : "argument 'after'";
    let resume: Map<string, number> | undefined;
    if (idText !== undefined) {
      resume = parseEventId(idText.trim());
      if (resume === undefined) {
        throw new HttpError(
          400,
          'bad-args',
          `${source} is not a stream id (name:seq, comma-separated): ${JSON.stringify(idText.slice(0, 80))}`,
        );
      }
    }
    if (this.streams.size >= this.#options.maxStreams) {
      throw new HttpError(503, 'too-many-streams', `at most ${this.#options.maxStreams} streams`, {
        headers: { 'Retry-After': '5' },
      });
    }
    const auth = who === undefined ? undefined : this.#auth;
    const filter = auth?.readFilter(who!);
    // A reload that withdraws the token, or every read right, ends the stream (docs/SECURITY.md, "Reloading the file").
    const watch =
      auth && ((end: (code: string, detail: string) => void, changed: () => void) => auth.watch(who!, end, changed));
    this.streams.open(res, { pattern, resume, backlog, ...(filter && { filter }), ...(watch && { watch }) });
  }

  #fail(res: ServerResponse, err: unknown): void {
    if (!(err instanceof HttpError)) {
      this.#options.logger.error({ err }, 'HTTP request failed');
      err = new HttpError(500, 'internal', 'internal error (logged by the server)');
    }
    const error = err as HttpError;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, error.status, error.toJSON(), error.headers);
  }
}

/** What `/api/sensors` says of a sensor (docs/HTTP.md, "GET /api/sensors"). */
export interface SensorInfo {
  name: string;
  /** Latest value; null before any reading. */
  value: number | null;
  /** Its timestamp, Unix epoch ms; null before any reading. */
  ts: number | null;
  /** Its server seq (0 before any). */
  seq: number;
  /** Readings stored since the sensor appeared. */
  count: number;
  loss: { lost: number; duplicate: number; late: number; restarts: number };
}

function describeSensor(sensor: Sensor): SensorInfo {
  const { lost, duplicate, late, restarts } = sensor.loss;
  return {
    name: sensor.name,
    value: sensor.seq === 0 ? null : sensor.lastValue,
    ts: sensor.seq === 0 ? null : sensor.lastTimestampMs,
    seq: sensor.seq,
    count: sensor.count,
    loss: { lost, duplicate, late, restarts },
  };
}

function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) {
    throw new HttpError(405, 'method-not-allowed', `${method} is not allowed here (allowed: ${methods.join(', ')})`, {
      headers: { Allow: methods.join(', ') },
    });
  }
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (err) {
    throw new HttpError(400, 'bad-args', `bad percent-encoding in ${JSON.stringify(text.slice(0, 80))}`, {
      cause: err,
    });
  }
}

/**
 * A write from a page of another origin is refused: a browser sends a cross-origin text POST without asking,
 * and the server usually listens on loopback, where any page the user opens could reach it.
 */
function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== req.headers.host) {
    throw new HttpError(403, 'forbidden-origin', `writes from another origin (${origin.slice(0, 80)}) are refused`);
  }
}

function describeRemote(req: IncomingMessage): string {
  const { remoteAddress: host, remotePort: port } = req.socket;
  if (host === undefined) return 'http';
  return host.includes(':') ? `http [${host}]:${port}` : `http ${host}:${port}`;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(value), { 'Content-Type': JSON_TYPE, ...API_HEADERS, ...headers });
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers: Record<string, string> = {
    ...PAGE_HEADERS,
    'Content-Type': asset.type,
    'Cache-Control': asset.cacheControl,
    ETag: asset.etag,
    Vary: 'Accept-Encoding',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = asset.gzip !== undefined && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzip : asset.body;
  if (gzip) headers['Content-Encoding'] = 'gzip';
  headers['Content-Length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(body);
}
