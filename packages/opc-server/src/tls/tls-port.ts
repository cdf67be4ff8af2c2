/**
 * A TCP listener's door to TLS (docs/SECURITY.md, "TLS"): every accepted connection is looked at before the
 * handshake, so that a client speaking plaintext to a TLS port learns why at once instead of waiting.
 *
 * How it works: the first bytes a connection sends are read and put back (`unshift`). A TLS client's first byte
 * is 0x16, the record type of a handshake; then the raw socket is given to the `tls.Server` as its own
 * `'connection'`, which does the handshake and emits `'secureConnection'` with the decrypted socket as if it had
 * accepted it itself. Anything else gets the plaintext answer (an `ERR tls-required` line on the command port, an
 * HTTP 400 on the HTTP port) and is closed. A connection that sends nothing for the handshake timeout is closed.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from '../options.js';
import { TLS_HANDSHAKE_TIMEOUT_MS, type TlsCredentials } from './credentials.js';

/** The first byte of a TLS record carrying a handshake message (a ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * Options of {@link TlsPort}.
 *
 * @example
 * ```ts
 * const options: TlsPortOptions = { plaintextReply: 'ERR tls-required this port speaks TLS\n' };
 * ```
 */
export interface TlsPortOptions {
  /** Sent to a connection whose first byte is not a TLS handshake, before it is closed. */
  plaintextReply: string | Buffer;
  /** How long a connection may take to send its first byte (default {@link TLS_HANDSHAKE_TIMEOUT_MS}). */
  firstByteTimeoutMs?: number;
  logger?: Logger | undefined;
}

/**
 * Hands the connections of a plain `net.Server` to a `tls.Server` (made with `credentials.serverOptions()`), and
 * answers plaintext clients. The `tls.Server` follows the credentials' reloads until {@link TlsPort.close}.
 *
 * @example
 * ```ts
 * const secure = tls.createServer(credentials.serverOptions(), (socket) => serve(socket));
 * const port = new TlsPort(credentials, secure, { plaintextReply: 'ERR tls-required this port speaks TLS\n' });
 * net.createServer(port.accept).listen(7330);
 * ```
 */
export class TlsPort {
  readonly #server: tls.Server;
  readonly #detach: () => void;
  readonly #reply: string | Buffer;
  readonly #timeoutMs: number;
  readonly #logger: Logger | undefined;
  /** Raw connections given to this port and not closed yet (handshaking, or carrying TLS). */
  readonly #sockets = new Set<net.Socket>();
  /** Those of them that have not sent a byte yet. */
  readonly #silent = new Set<net.Socket>();
  /** Connections answered in plaintext and closed. */
  plaintextRefused = 0;
  /** Handshakes that failed (a bad or missing client certificate, an unknown protocol version, a timeout). */
  handshakeFailures = 0;

  constructor(credentials: TlsCredentials, server: tls.Server, options: TlsPortOptions) {
    this.#server = server;
    this.#reply = options.plaintextReply;
    this.#timeoutMs = options.firstByteTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS;
    this.#logger = options.logger;
    this.#detach = credentials.attach(server);
    server.on('tlsClientError', (err, socket) => {
      this.handshakeFailures++;
      this.#logger?.debug({ err, remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'TLS handshake failed');
    });
  }

  /** Raw connections open now (also those still in the handshake). */
  get connections(): number {
    return this.#sockets.size;
  }

  /** The `net.Server` connection listener. */
  readonly accept = (socket: net.Socket): void => {
    this.#sockets.add(socket);
    this.#silent.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    const timer = setTimeout(() => socket.destroy(), this.#timeoutMs);
    timer.unref();
    const done = (): void => {
      this.#silent.delete(socket);
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      done();
      socket.pause();
      if (chunk[0] === TLS_HANDSHAKE_RECORD) {
        socket.unshift(chunk);
        this.#server.emit('connection', socket);
        return;
      }
      this.plaintextRefused++;
      this.#logger?.debug({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'plaintext on a TLS port');
      socket.on('error', () => {});
      socket.resume(); // read and drop the rest, so that the peer's FIN is seen
      socket.end(this.#reply);
      const linger = setTimeout(() => socket.destroy(), this.#timeoutMs);
      linger.unref();
      socket.once('close', () => clearTimeout(linger));
    };
    const onEnd = (): void => {
      done();
      socket.destroy();
    };
    const onError = (): void => {
      done();
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.resume();
  };

  /** Stops following reloads, and closes the connections that have not sent a byte yet. */
  close(): void {
    this.#detach();
    for (const socket of this.#silent) socket.destroy();
  }

  /** Destroys every connection still open (the end of a close's grace period). */
  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }
}
