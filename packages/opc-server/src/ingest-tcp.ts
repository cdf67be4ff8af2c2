/**
 * The TCP ingest port (docs/INGEST.md, "Graphite over TCP"): newline-separated native, Graphite, StatsD-gauge,
 * bare-number and InfluxDB lines on a stream, as Graphite's plaintext port 2003 takes them from collectd, Netdata
 * and Telegraf.
 *
 * How it works: each connection has its own `IngestDecoder` (same `maxLineBytes` as a UDP line, names outside the
 * alphabet sanitized as Graphite paths need), and every chunk read is parsed at once, inside
 * `server.ingestFrom(..., { source: 'tcp' })`, so the readings take the UDP path's store, counters, hub, storage and
 * cluster path. Nothing is queued: a sender faster than the server fills its socket buffers and waits (TCP's
 * backpressure), and no reading is lost. The port answers nothing; a line that is refused is counted, as on UDP.
 */
import net from 'node:net';
import { IngestDecoder, NameCache, type DatagramSink } from '@opc-lite/protocol';
import type { Logger } from './options.js';
import type { IngestOptions, IngestResult } from './server.js';

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
    const remote = `tcp-ingest ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const decoder = new IngestDecoder({ sanitizeNames: true, maxLineBytes: options.maxLineBytes, nameCache });
    const ingestOptions: IngestOptions = { source: 'tcp', remote };
    socket.on('data', (chunk: Buffer) => {
      server.ingestFrom((sink) => decoder.push(chunk, sink), ingestOptions);
    });
    socket.on('end', () => {
      server.ingestFrom((sink) => decoder.end(sink), ingestOptions);
      socket.end();
    });
    socket.on('error', (err) => options.logger?.debug({ err, remote }, 'TCP ingest connection error'));
    socket.on('close', () => this.#sockets.delete(socket));
  }

  close(): Promise<void> {
    return (this.#closePromise ??= new Promise<void>((resolve) => {
      this.#listener.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    }));
  }
}
