/**
 * The errors of `@opc-lite/web`. An {@link HttpError} is what a request is answered with: its `status`, and the
 * JSON body `{ "error": { "code", "message" } }` (docs/HTTP.md, "Errors"). A {@link WebError} is thrown to the
 * program that embeds the package (a port that cannot be bound, a page directory that cannot be read).
 */

/**
 * The stable codes of HTTP error bodies (docs/HTTP.md, "Errors").
 *
 * @example
 * ```ts
 * const code: HttpErrorCode = 'bad-args';
 * ```
 */
export type HttpErrorCode =
  | 'bad-args'
  | 'not-found'
  | 'method-not-allowed'
  | 'rejected'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'forbidden-origin'
  | 'too-many-streams'
  | 'shutting-down'
  | 'auth-required'
  | 'auth-failed'
  | 'forbidden'
  | 'internal';

/**
 * An error answered to an HTTP client: the status and the JSON error body.
 *
 * @example
 * ```ts
 * throw new HttpError(400, 'bad-args', "argument 'points' must be an integer from 1 to 100000 (got '0')");
 * ```
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.headers = options?.headers ?? {};
  }

  /** Headers to send with the error (`Allow` with a 405). */
  readonly headers: Record<string, string>;

  /** The JSON body: `{ "error": { "code", "message" } }`. */
  toJSON(): { error: { code: HttpErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/**
 * An error of the package itself, for the program that embeds it: `code` is Node's for a socket error
 * (`EADDRINUSE`, `EACCES`, ...), else one of the package's (`ERR_PAGE_DIR`).
 *
 * @example
 * ```ts
 * try {
 *   await startWebServer(server, { port: 7331 });
 * } catch (err) {
 *   if (err instanceof WebError && err.code === 'EADDRINUSE') console.error('port 7331 is taken');
 * }
 * ```
 */
export class WebError extends Error {
  override readonly name = 'WebError';

  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
