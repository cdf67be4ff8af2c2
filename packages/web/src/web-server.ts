/**
 * `startWebServer`: a `node:http` server around {@link createWebHandler}, listening, with an idempotent,
 * awaitable `close()`.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import { TlsCredentials, TlsPort, type OpcServer } from '@opc-lite/opc-server';
import { WebError } from './errors.js';
import { createWebHandler, type WebHandler } from './handler.js';
import { resolveWebOptions, WEB_OPTION_NAMES, type WebOptions } from './options.js';

/**
 * Options of {@link startWebServer}: where to listen, plus every option of {@link createWebHandler}.
 *
 * @example
 * ```ts
 * const options: WebServerOptions = { host: '127.0.0.1', port: 7331, metricsSensors: '*' };
 * ```
 */
export interface WebServerOptions extends WebOptions {
  /** Address to bind (default `'127.0.0.1'`: loopback only). */
  host?: string;
  /** Port (default 7331); 0 picks a free one. */
  port?: number;
  /** How long `close()` waits for requests in progress before it destroys their connections (default 2000). */
  closeGraceMs?: number;
  /** Aborting it calls `close()`. */
  signal?: AbortSignal;
  /**
   * Serve HTTPS with this certificate and key (the opc-server's own, usually); with a CA in them, clients must
   * present a certificate it signed. A plain HTTP request gets a 400 saying so (docs/SECURITY.md, "TLS").
   */
  tls?: TlsCredentials;
}

/**
 * A listening web server.
 *
 * @example
 * ```ts
 * const web = await startWebServer(server, { port: 0 });
 * console.log(web.url); // http://127.0.0.1:40123/
 * await web.close();
 * ```
 */
export interface WebServer extends AsyncDisposable {
  /** `http://host:port/` (`https://` with TLS), the page's address (IPv6 hosts in brackets). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The request handler it serves (its `registry`, its `streams`). */
  readonly handler: WebHandler;
  /** Ends the streams, stops listening, and waits for requests in progress (up to `closeGraceMs`). Idempotent. */
  close(): Promise<void>;
}

/** The default HTTP port. */
export const DEFAULT_HTTP_PORT = 7331;

const SERVER_OPTIONS = new Set([...WEB_OPTION_NAMES, 'host', 'port', 'closeGraceMs', 'signal', 'tls']);

/**
 * Serves the HTTP API, `/metrics` and the page for `server` on `host:port` (docs/HTTP.md).
 *
 * @throws WebError with Node's code (`EADDRINUSE`, `EACCES`, ...) when it cannot listen.
 * @example
 * ```ts
 * import { createOpcServer } from '@opc-lite/opc-server';
 * import { startWebServer } from '@opc-lite/web';
 *
 * const server = createOpcServer();
 * await server.listen();
 * const web = await startWebServer(server, { port: 7331 });
 * console.log(`open ${web.url}`);
 * process.once('SIGINT', () => void web.close().then(() => server.close()));
 * ```
 */
export async function startWebServer(server: OpcServer, options: WebServerOptions = {}): Promise<WebServer> {
  resolveWebOptions(options, SERVER_OPTIONS); // every option checked before anything is bound
  const { host = '127.0.0.1', port = DEFAULT_HTTP_PORT, closeGraceMs = 2000, signal, tls, ...handlerOptions } = options;
  if (typeof host !== 'string' || host.trim() === '') throw new TypeError('host must be a non-empty string');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`port must be an integer from 0 to 65535 (got ${String(port)})`);
  }
  if (!Number.isInteger(closeGraceMs) || closeGraceMs < 0 || closeGraceMs > 2 ** 31 - 1) {
    throw new RangeError(`closeGraceMs must be an integer from 0 to ${2 ** 31 - 1} (got ${String(closeGraceMs)})`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (tls !== undefined && !(tls instanceof TlsCredentials)) {
    throw new TypeError('tls must be a TlsCredentials (docs/SECURITY.md, "TLS")');
  }
  const handler = createWebHandler(server, handlerOptions);
  const https = tls && createHttpsServer({ ...tls.serverOptions(), keepAliveTimeout: 5000 }, handler);
  const http = https ?? createServer({ keepAliveTimeout: 5000 }, handler);
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // With TLS, a plain listener in front looks at each connection's first byte (docs/SECURITY.md, "TLS").
  const tlsPort =
    tls === undefined || https === undefined
      ? undefined
      : new TlsPort(tls, https, { plaintextReply: plainHttpRefusal() });
  const listener = tlsPort === undefined ? http : net.createServer(tlsPort.accept);
  try {
    await listen(listener, port, host.trim());
  } catch (err) {
    tlsPort?.close();
    await handler.close();
    const code = (err as { code?: unknown }).code;
    throw new WebError(
      typeof code === 'string' ? code : 'ERR_LISTEN',
      `cannot listen on HTTP ${host}:${port}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const address = listener.address() as AddressInfo;
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      signal?.removeEventListener('abort', onAbort);
      // No new connection first, so that a browser whose stream ends next finds the port closed (and retries)
      // rather than an answer that makes it give up.
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      tlsPort?.close();
      http.closeIdleConnections();
      await handler.close();
      const grace = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
        tlsPort?.destroyAll();
      }, closeGraceMs);
      grace.unref();
      try {
        await closed;
      } finally {
        clearTimeout(grace);
      }
    })());
  const onAbort = (): void => void close();
  if (signal?.aborted === true) void close();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    url: `${tls === undefined ? 'http' : 'https'}://${urlHost}:${address.port}/`,
    host: address.address,
    port: address.port,
    handler,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** What a plain HTTP request to the HTTPS port gets: a 400 that says why, then the connection closes. */
function plainHttpRefusal(): string {
  const body = 'This port speaks HTTPS: use https:// in the address.\n';
  return (
    'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function listen(http: Server | net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    http.once('error', onError);
    http.listen({ port, host, exclusive: true }, () => {
      http.off('error', onError);
      resolve();
    });
  });
}
