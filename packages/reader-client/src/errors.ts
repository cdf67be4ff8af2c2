/**
 * Error classes of the client. Every one has a stable `code` and keeps the
 * underlying error as `cause`. Errors the server reports in `ERR <code>
 * <detail>` lines are {@link ProtocolError}s from `@opc-lite/protocol`.
 */

/**
 * The connection to the server could not be made, was lost, or the client was
 * closed. `code` tells which: `'ECONNECTION'` (connect failed or the
 * connection dropped; `cause` holds the socket's error, when there was one) or
 * `'ECLOSED'` (the client was closed before the request completed).
 *
 * @example
 * ```ts
 * try {
 *   await client.get('ramp');
 * } catch (err) {
 *   if (err instanceof ConnectionError) console.log('no connection:', err.code);
 * }
 * ```
 */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  readonly code: 'ECONNECTION' | 'ECLOSED';

  constructor(message: string, options?: { code?: 'ECONNECTION' | 'ECLOSED'; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? 'ECONNECTION';
  }
}

/**
 * A connect attempt or a request took longer than its timeout
 * (`connectTimeoutMs`, `requestTimeoutMs`). `code` is `'ETIMEDOUT'`;
 * `timeoutMs` is the limit that was passed.
 *
 * @example
 * ```ts
 * try {
 *   await client.ping({ timeoutMs: 100 });
 * } catch (err) {
 *   if (err instanceof TimeoutError) console.log(`no answer within ${err.timeoutMs} ms`);
 * }
 * ```
 */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number) {
    super(message);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The server sent a line the client cannot match to the request it answers
 * (a reply of the wrong kind, an unparseable line, or an `ERR` with a code
 * this client does not know). `code` is `'EPROTO'`; `line` is the text
 * received. The client drops the connection after it, since the reply stream
 * can no longer be trusted to be in step with the requests.
 *
 * @example
 * ```ts
 * client.on('error', (err) => {
 *   if (err instanceof UnexpectedReplyError) console.error('bad line from server:', err.line);
 * });
 * ```
 */
export class UnexpectedReplyError extends Error {
  override readonly name = 'UnexpectedReplyError';
  readonly code = 'EPROTO';
  readonly line: string;

  constructor(message: string, line: string) {
    super(message);
    this.line = line;
  }
}

/**
 * The reason an aborted signal carries (passed on as it is, even when it is
 * not an Error), or a standard `AbortError` when it carries none.
 */
export function abortReason(signal: AbortSignal): Error {
  return (signal.reason ?? new DOMException('This operation was aborted', 'AbortError')) as Error;
}

/** `value` if it is an Error, else an Error describing it. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
