/**
 * The original lector's whole exchange (docs/PROTOCOL.md, "Legacy poll"):
 * connect, send the byte `n`, read one line, close. Works against the original
 * Python server, which knows nothing but `n`, answers with a bare number and
 * may hang up without a line end.
 *
 * With a token (docs/SECURITY.md, "Tokens on TCP") it sends `AUTH <token>` and `n` at once; the server answers
 * them in order, so the first line is the answer to `AUTH` and the next one the value.
 */
import { decodeReplyLine, isValidToken, MAX_TOKEN_BYTES, ProtocolError } from '@opc-lite/protocol';
import { abortReason, ConnectionError, TimeoutError, UnexpectedReplyError } from './errors.js';
import { checkNumber, DEFAULTS } from './options.js';
import { errorFromReply } from './request.js';
import { openSocket, resolveTls, tlsErrorOf, type TlsOptions } from './tls.js';

/**
 * Options of {@link pollOnce}.
 *
 * @example
 * ```ts
 * const options: PollOnceOptions = { host: '127.0.0.1', port: 7330, timeoutMs: 2000 };
 * ```
 */
export interface PollOnceOptions {
  /** Default `'127.0.0.1'`. */
  host?: string;
  /** Default 7330. */
  port?: number;
  /** Aborting it rejects with the signal's reason and closes the socket. */
  signal?: AbortSignal;
  /** Limit for the whole exchange, connect included, in ms. Default 5000. */
  timeoutMs?: number;
  /**
   * Sent as `AUTH <token>` before `n`, for a server with an auth file that does not let anonymous clients read
   * `default`. A token it refuses rejects with a `ProtocolError` of code `auth-failed`.
   */
  token?: string;
  /** Poll over TLS, as `connect()`'s `tls` option (docs/SECURITY.md, "TLS"). Default `false`. */
  tls?: boolean | TlsOptions;
}

/** A reply line longer than this is not a number. */
const MAX_REPLY_BYTES = 1024;

/**
 * Connects, sends `n`, reads one line and closes: the latest value of sensor
 * `default`, or `NaN` when the server has none yet (`nan`). A new connection
 * per poll, exactly as the original lector does.
 *
 * @example
 * ```ts
 * import { pollOnce } from '@opc-lite/reader-client';
 *
 * const value = await pollOnce({ host: '127.0.0.1', port: 7330, timeoutMs: 1000 });
 * console.log(Number.isNaN(value) ? 'no reading yet' : value);
 * ```
 */
export function pollOnce(options: PollOnceOptions = {}): Promise<number> {
  const host = options.host ?? DEFAULTS.host;
  const port = checkNumber(
    'port',
    options.port ?? DEFAULTS.port,
    (v) => Number.isInteger(v) && v >= 1 && v <= 65535,
    'an integer in 1..65535',
  );
  const timeoutMs = checkNumber(
    'timeoutMs',
    options.timeoutMs ?? DEFAULTS.connectTimeoutMs,
    (v) => Number.isFinite(v) && v > 0,
    'a finite number > 0',
  );
  const { signal, token } = options;
  if (token !== undefined) {
    if (typeof token !== 'string') throw new TypeError(`token must be a string, got ${typeof token}`);
    if (!isValidToken(token)) {
      throw new RangeError(`token must be 1 to ${MAX_TOKEN_BYTES} printable ASCII characters without blanks`);
    }
  }
  const tls = resolveTls(options.tls);
  if (signal?.aborted) return Promise.reject(abortReason(signal));

  return new Promise<number>((resolve, reject) => {
    const { socket, ready } = openSocket(host, port, tls);
    let handshaking = tls !== undefined;
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    /** Whether the answer to `AUTH` is still to come. */
    let authPending = token !== undefined;

    const finish = (error: Error | undefined, value?: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error === undefined) resolve(value as number);
      else reject(error);
    };
    const onAbort = (): void => finish(abortReason(signal as AbortSignal));
    const timer = setTimeout(
      () => finish(new TimeoutError(`no answer to n from ${host}:${port} within ${timeoutMs} ms`, timeoutMs)),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });

    const answer = (text: string): void => {
      const reply = decodeReplyLine(text.endsWith('\r') ? text.slice(0, -1) : text);
      if (reply.kind === 'value') finish(undefined, reply.value);
      else if (reply.kind === 'err') finish(errorFromReply(reply));
      else finish(new UnexpectedReplyError(`not a number in answer to n: ${JSON.stringify(text)}`, text));
    };

    /** The answer to `AUTH`: go on to the value, or fail with the server's reason. */
    const authAnswer = (text: string): void => {
      const reply = decodeReplyLine(text.endsWith('\r') ? text.slice(0, -1) : text);
      if (reply.kind === 'ok' && reply.verb === 'AUTH') return;
      if (reply.kind === 'err') {
        const error = errorFromReply(reply);
        const message = `${host}:${port} refused the token: ${reply.detail}`;
        finish(error instanceof ProtocolError ? new ProtocolError(error.code, message, { cause: error }) : error);
      } else finish(new UnexpectedReplyError(`not an answer to AUTH: ${JSON.stringify(text)}`, text));
    };

    socket.setNoDelay(true);
    socket.on(ready, () => {
      handshaking = false;
      socket.write(token === undefined ? 'n' : `AUTH ${token}\nn`);
    });
    socket.on('data', (data: Buffer) => {
      let chunk = data;
      let lf = chunk.indexOf(0x0a);
      while (authPending && lf !== -1) {
        chunks.push(chunk.subarray(0, lf));
        const line = Buffer.concat(chunks).toString('latin1');
        chunks.length = 0;
        length = 0;
        authPending = false;
        authAnswer(line);
        if (settled) return;
        chunk = chunk.subarray(lf + 1);
        lf = chunk.indexOf(0x0a);
      }
      chunks.push(lf === -1 ? chunk : chunk.subarray(0, lf));
      length += lf === -1 ? chunk.length : lf;
      if (lf !== -1) answer(Buffer.concat(chunks).toString('latin1'));
      else if (length > MAX_REPLY_BYTES) {
        const text = Buffer.concat(chunks).toString('latin1', 0, 64);
        finish(new UnexpectedReplyError(`answer to n longer than ${MAX_REPLY_BYTES} bytes`, text));
      }
    });
    socket.on('end', () => {
      // The original server may hang up right after the number, without LF.
      if (length > 0 && authPending) authAnswer(Buffer.concat(chunks).toString('latin1'));
      else if (length > 0) answer(Buffer.concat(chunks).toString('latin1'));
      else finish(new ConnectionError(`${host}:${port} closed the connection without answering n`));
    });
    socket.on('error', (error) => {
      const refused = tls && tlsErrorOf(error, { host, port, handshaking, hasCert: tls.cert !== undefined });
      finish(refused || new ConnectionError(`cannot poll ${host}:${port}: ${error.message}`, { cause: error }));
    });
    socket.on('close', () => finish(new ConnectionError(`${host}:${port} closed the connection without answering n`)));
  });
}
