/**
 * An in-memory, connected pair of duplex streams with real backpressure, for
 * tests: what one side writes the other reads. A side whose reader has
 * stopped (paused, or nobody reads) fills up: the writer's `write()` returns
 * false and its `writableLength` grows, like a socket to a stuck client.
 */
import { Duplex } from 'node:stream';

class End extends Duplex {
  peer!: End;
  /** Write callback held while the peer's readable buffer is full. */
  #held: (() => void) | undefined;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.peer.destroyed) {
      callback();
      return;
    }
    if (this.peer.push(chunk)) callback();
    else this.peer.#held = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer.push(null);
    callback();
  }

  override _read(): void {
    const held = this.#held;
    if (held !== undefined) {
      this.#held = undefined;
      held();
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.#held = undefined;
    // Like a TCP reset: the other side sees its stream end and close.
    if (!peer.destroyed) process.nextTick(() => peer.destroy());
    callback(error);
  }
}

/**
 * Two connected streams, `[server, client]`. `highWaterMark` (bytes) applies
 * to both directions. The server end allows half-open streams (as the
 * server's TCP listener does); the client end, like a default `net.Socket`,
 * ends its side when the server ends.
 *
 * @example
 * ```ts
 * const [server, client] = duplexPair();
 * client.write('PING\n');
 * server.on('data', (chunk) => console.log(String(chunk)));
 * ```
 */
export function duplexPair(options: { highWaterMark?: number } = {}): [Duplex, Duplex] {
  const hwm = options.highWaterMark ?? 16 * 1024;
  const a = new End({ highWaterMark: hwm, allowHalfOpen: true, decodeStrings: true });
  const b = new End({ highWaterMark: hwm, allowHalfOpen: false, decodeStrings: true });
  a.peer = b;
  b.peer = a;
  return [a, b];
}
