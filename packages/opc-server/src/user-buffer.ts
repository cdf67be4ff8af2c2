/**
 * TCP input read into one reusable buffer instead of a new Buffer per read.
 *
 * A `net.Socket` from `net.Server` reads through the Readable stream layer:
 * every read allocates a fresh Buffer in C++ and pushes it through
 * `Readable.push` to a `'data'` event. With one small request per read (the
 * legacy `n` poll, many clients each waiting for their answer) that layer is
 * most of the server's user-space time. Node's `onread` option of
 * `new net.Socket()` reads into a caller's buffer and calls back with the byte
 * count, skipping both; pause/resume, `'end'`, `'error'`, `'close'` and the
 * whole write side stay as they are.
 *
 * `net.Server` offers no `onread` for the sockets it accepts, so the accepted
 * socket's handle is moved into a new `net.Socket` built with it, before the
 * first byte is read. That uses the `handle` constructor option and the
 * `_handle`/`_server` fields, which Node keeps for its own child_process and
 * cluster handle passing but does not document. Every one of them is checked
 * first: where one is missing, {@link readIntoBuffer} returns `undefined` and
 * the caller keeps the ordinary stream.
 */
import net from 'node:net';

/** Reads up to this many bytes are handed over as a view made once, not a new one per read. */
const SMALL_READ_BYTES = 64;
/**
 * Views of each buffer's first bytes, by length, shared by every connection
 * reading into that buffer: small reads (a poll is one byte) allocate nothing.
 */
const viewsOf = new WeakMap<Uint8Array, Uint8Array[]>();

/** The parts of a libuv stream handle this module relies on. */
interface StreamHandle {
  readStart?: unknown;
  readStop?: unknown;
  useUserBuffer?: unknown;
}

/** The undocumented fields of an accepted socket that are moved to the new one. */
interface AcceptedSocket {
  _handle?: StreamHandle | null;
  _server?: net.Server | null;
  server?: net.Server | null;
}

/**
 * Moves an accepted TCP socket, not yet read from (the server was created
 * with `pauseOnConnect: true`), to a new socket whose input is read into
 * `buffer` and handed to `onChunk`. The chunk is a view of `buffer`, valid
 * only during the call: the next read overwrites it, so keep a copy of
 * anything needed later. As reads happen one at a time on the event loop,
 * one buffer can serve every connection.
 *
 * Returns the socket to use from then on (the one passed in is left without
 * a handle and must not be used), or `undefined` when this Node.js does not
 * offer what it needs, in which case the socket passed in is untouched.
 *
 * The new socket starts reading at once; `pause()` and `resume()` stop and
 * restart reads as on any socket. The `net.Server` counts it as its
 * connection (`getConnections()`, `close()` waiting for it).
 *
 * @example
 * ```ts
 * const shared = Buffer.allocUnsafe(64 * 1024);
 * net.createServer({ pauseOnConnect: true }, (accepted) => {
 *   const socket = readIntoBuffer(accepted, shared, (chunk) => decoder.push(chunk)) ?? accepted.resume();
 * });
 * ```
 */
export function readIntoBuffer(
  socket: net.Socket,
  buffer: Uint8Array,
  onChunk: (chunk: Uint8Array) => void,
  options: { allowHalfOpen?: boolean } = {},
): net.Socket | undefined {
  const accepted = socket as net.Socket & AcceptedSocket;
  const handle = accepted._handle;
  if (
    handle === null ||
    typeof handle !== 'object' ||
    typeof handle.useUserBuffer !== 'function' ||
    typeof handle.readStart !== 'function' ||
    typeof handle.readStop !== 'function' ||
    socket.destroyed ||
    socket.bytesRead > 0 ||
    !socket.isPaused()
  ) {
    return undefined;
  }
  let views = viewsOf.get(buffer);
  if (views === undefined) viewsOf.set(buffer, (views = []));
  const callback = (bytes: number): boolean => {
    onChunk(bytes <= SMALL_READ_BYTES ? (views[bytes] ??= buffer.subarray(0, bytes)) : buffer.subarray(0, bytes));
    return true; // keep reading: the consumer pauses the socket itself when it must
  };
  // Node's typings have neither option on the constructor: `handle` is how net.Server builds the
  // sockets it accepts, and `onread` is documented for `new net.Socket()` but typed on connect().
  const socketOptions: net.SocketConstructorOpts & { handle: StreamHandle; onread: net.OnReadOpts } = {
    handle,
    allowHalfOpen: options.allowHalfOpen ?? false,
    readable: true,
    writable: true,
    onread: { buffer, callback },
  };
  let adopted: net.Socket & AcceptedSocket;
  try {
    adopted = new net.Socket(socketOptions);
  } catch {
    return undefined;
  }
  if (adopted._handle !== handle) return undefined; // the `handle` option was not honoured
  accepted._handle = null;
  // The server counts the connection on the accepted socket and uncounts it when that one is destroyed.
  adopted.server = accepted.server ?? null;
  adopted._server = accepted._server ?? null;
  accepted.server = null;
  accepted._server = null;
  return adopted;
}
