/**
 * The TCP ingest port (docs/INGEST.md, "Graphite over TCP"): newline-separated native, Graphite, StatsD-gauge,
 * bare-number and InfluxDB lines on a stream, as Graphite's plaintext port 2003 takes them from collectd, Netdata
 * and Telegraf.
 *
 * How it works: each connection has its own `IngestDecoder` (same `maxLineBytes` as a UDP line, names outside the
 * alphabet sanitized as Graphite paths need), and every chunk read is parsed at once, inside
 * `server.ingestFrom(..., { source: 'tcp' })`, so the readings take the UDP path's store, counters, hub, storage and
 * cluster path. Nothing is queued: a sender faster than the server fills its socket buffers and waits (TCP's
 * backpressure), and no reading is lost. The port answers nothing but an `AUTH` line; a line that is refused is
 * counted, as on UDP.
 *
 * Rights (docs/SECURITY.md, "Writing on the ingest paths"): with the server's auth file, each connection holds an
 * `AuthSession`, so a reload applies to it as to a TCP client. Its readings are checked against the anonymous
 * write patterns, or, once a first line `AUTH <token>` is answered `OK AUTH <name>`, against that token's; a
 * reading it may not write is rejected as `forbidden`. The first bytes of a connection are held until they
 * cannot be the start of `AUTH `; while a token is checked the socket is paused, so the lines after it wait and
 * are judged with the token's rights.
 */
import net from 'node:net';
import { encodeError, encodeOk, IngestDecoder, isValidToken, NameCache, type DatagramSink } from '@opc-lite/protocol';
import type { Authenticator, AuthSession } from './auth/authenticator.js';
import type { Logger } from './options.js';
import type { IngestOptions, IngestResult } from './server.js';

const AUTH_PREFIX = Buffer.from('AUTH ');

/**
 * Options of {@link TcpIngest.listen}.
 *
 * @example
 * ```ts
 * const options: TcpIngestOptions = { host: '127.0.0.1', port: 2003, maxLineBytes: 1024, maxConnections: 1024 };
 * ```
 */
export interface TcpIngestOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Longest line, every byte before its LF (the server's `maxLineBytes`, as on UDP). */
  maxLineBytes: number;
  /** Connections at once; one more is closed at once (the server's `maxClients`). */
  maxConnections: number;
  logger?: Logger;
}

/** What the ingest port needs of the server. */
interface Ingester {
  ingestFrom(feed: (sink: DatagramSink) => void, options?: IngestOptions): IngestResult;
  /** The server's tokens and rights; without, every connection may write every sensor. */
  readonly auth?: Authenticator | undefined;
}

/**
 * A listening TCP ingest port; `close()` is idempotent and ends every connection.
 *
 * @example
 * ```ts
 * const ingest = await TcpIngest.listen(server, { host: '127.0.0.1', port: 0, maxLineBytes: 1024, maxConnections: 64 });
 * // printf 'nas.cpu-0.cpu-idle 98.5 1764316800\n' | nc 127.0.0.1 <ingest.port>
 * await ingest.close();
 * ```
 */
export class TcpIngest {
  readonly #listener: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #closePromise: Promise<void> | undefined;

  private constructor(listener: net.Server) {
    this.#listener = listener;
  }

  /** Binds the port; rejects with Node's error (`EADDRINUSE`, ...). */
  static async listen(server: Ingester, options: TcpIngestOptions): Promise<TcpIngest> {
    const names = new NameCache();
    const logger = options.logger;
    const listener = net.createServer({ noDelay: true });
    const ingest = new TcpIngest(listener);
    listener.on('connection', (socket) => ingest.#accept(server, socket, options, names));
    listener.on('error', (err) => logger?.error({ err }, 'TCP ingest listener error'));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ port: options.port, host: options.host, exclusive: true }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    return ingest;
  }

  /** The bound port. */
  get port(): number {
    return (this.#listener.address() as net.AddressInfo).port;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#sockets.size;
  }

  #accept(server: Ingester, socket: net.Socket, options: TcpIngestOptions, nameCache: NameCache): void {
    if (this.#closePromise !== undefined || this.#sockets.size >= options.maxConnections) {
      options.logger?.warn({ maxConnections: options.maxConnections }, 'TCP ingest connection refused: too many');
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    const logger = options.logger;
    const remote = `tcp-ingest ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const decoder = new IngestDecoder({ sanitizeNames: true, maxLineBytes: options.maxLineBytes, nameCache });
    let ended = false;
    /** Ends the connection with a last line; nothing read after it is stored. */
    const refuse = (line: string): void => {
      ended = true;
      socket.end(line);
      socket.resume();
    };
    const session: AuthSession | undefined = server.auth?.open(
      () => socket.remoteAddress ?? 'unknown',
      (detail) => {
        logger?.info({ remote, detail }, 'TCP ingest connection revoked');
        refuse(encodeError('auth-failed', detail));
      },
    );
    const ingestOptions: IngestOptions = {
      source: 'tcp',
      remote,
      ...(session !== undefined && { canWrite: (name: string) => session.rights.canWrite(name) }),
    };
    const feed = (chunk: Buffer): void => {
      if (chunk.length > 0) server.ingestFrom((sink) => decoder.push(chunk, sink), ingestOptions);
    };
    /** The first bytes, while they may still be the start of an `AUTH` line; undefined once decided. */
    let head: Buffer | undefined = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      const bytes: Buffer = (head = head!.length === 0 ? chunk : Buffer.concat([head!, chunk]));
      const n = Math.min(bytes.length, AUTH_PREFIX.length);
      if (bytes.compare(AUTH_PREFIX, 0, n, 0, n) !== 0) {
        head = undefined;
        return feed(bytes); // not AUTH: readings from the first byte on
      }
      const lf = bytes.indexOf(0x0a);
      if (lf < 0) {
        if (bytes.length > options.maxLineBytes) refuse(encodeError('line-too-long', 'the AUTH line is too long'));
        return; // more to come
      }
      head = undefined;
      const end = lf > 0 && bytes[lf - 1] === 0x0d ? lf - 1 : lf;
      const token = bytes.toString('latin1', AUTH_PREFIX.length, end).trim();
      const rest = bytes.subarray(lf + 1);
      if (session === undefined) {
        // As on the TCP port: the token is not needed, and everything may be written (docs/SECURITY.md, "Defaults").
        socket.write(encodeError('auth-failed', 'this server takes no tokens (no auth file)'));
        return feed(rest);
      }
      if (!isValidToken(token)) return refuse(encodeError('auth-failed', 'not a token'));
      socket.pause();
      session.authenticate(token).then(
        (result) => {
          if (ended || socket.destroyed) return;
          if (!result.ok) {
            logger?.info({ remote }, 'TCP ingest token refused');
            return refuse(encodeError('auth-failed', result.detail));
          }
          socket.write(encodeOk('AUTH', result.name));
          feed(rest);
          socket.resume();
        },
        (err: unknown) => {
          logger?.error({ err, remote }, 'token check failed');
          refuse(encodeError('auth-failed', 'token check failed'));
        },
      );
    };
    socket.on('data', (chunk: Buffer) => {
      if (ended) return;
      if (head !== undefined) onHead(chunk);
      else feed(chunk);
    });
    socket.on('end', () => {
      if (!ended) {
        if (head !== undefined && head.length > 0) feed(head); // `AUT` and no more: a line like any other
        head = undefined;
        server.ingestFrom((sink) => decoder.end(sink), ingestOptions);
      }
      socket.end();
    });
    socket.on('error', (err) => logger?.debug({ err, remote }, 'TCP ingest connection error'));
    socket.on('close', () => {
      this.#sockets.delete(socket);
      session?.close();
    });
  }

  close(): Promise<void> {
    return (this.#closePromise ??= new Promise<void>((resolve) => {
      this.#listener.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    }));
  }
}
