/**
 * The original lector's whole exchange (docs/PROTOCOL.md, "Legacy poll"):
 * connect, send the byte `n`, read one line, close. Works against the original
 * Python server, which knows nothing but `n`, answers with a bare number and
 * may hang up without a line end.
 */
import net from 'node:net';
import { decodeReplyLine } from '@opc-lite/protocol';
import { abortReason, ConnectionError, TimeoutError, UnexpectedReplyError } from './errors.js';
import { checkNumber, DEFAULTS } from './options.js';
import { errorFromReply } from './request.js';

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
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortReason(signal));

  return new Promise<number>((resolve, reject) => {
    const socket = net.createConnection({ host, port });
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;

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

    socket.setNoDelay(true);
    socket.on('connect', () => socket.write('n'));
    socket.on('data', (chunk: Buffer) => {
      const lf = chunk.indexOf(0x0a);
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
      if (length > 0) answer(Buffer.concat(chunks).toString('latin1'));
      else finish(new ConnectionError(`${host}:${port} closed the connection without answering n`));
    });
    socket.on('error', (error) =>
      finish(new ConnectionError(`cannot poll ${host}:${port}: ${error.message}`, { cause: error })),
    );
    socket.on('close', () => finish(new ConnectionError(`${host}:${port} closed the connection without answering n`)));
  });
}
