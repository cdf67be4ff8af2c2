/**
 * Error codes a server sends in `ERR <code> <detail>` replies (PROTOCOL.md "TCP commands and replies"). The list
 * is closed: clients may switch on it. Those in {@link CLOSING_ERROR_CODES}
 * close the connection after the line is sent.
 *
 * @example
 * ```ts
 * import { ERROR_CODES } from '@opc-lite/protocol';
 * ERROR_CODES.includes('not-found'); // true
 * ```
 */
export const ERROR_CODES = Object.freeze([
  'unknown-command',
  'bad-args',
  'not-found',
  'line-too-long',
  'too-many-subscriptions',
  'slow-consumer',
  'server-busy',
  'idle-timeout',
  'shutting-down',
  'auth-required',
  'auth-failed',
  'forbidden',
  'tls-required',
] as const);

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Error codes after which the server closes the connection: the client's
 * state or the server's leaves nothing to continue with. The others
 * (`unknown-command`, `bad-args`, `not-found`) answer one command and the
 * connection goes on.
 *
 * @example
 * ```ts
 * import { CLOSING_ERROR_CODES } from '@opc-lite/protocol';
 * CLOSING_ERROR_CODES.has('slow-consumer'); // true
 * ```
 */
export const CLOSING_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'line-too-long',
  'too-many-subscriptions',
  'slow-consumer',
  'server-busy',
  'idle-timeout',
  'shutting-down',
  'tls-required',
]);

/**
 * Tells whether a string is one of {@link ERROR_CODES}.
 *
 * @example
 * ```ts
 * isErrorCode('bad-args'); // true
 * isErrorCode('oops'); // false
 * ```
 */
export function isErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Why a line of a UDP datagram, a line of an InfluxDB or TCP ingest stream, or
 * an MQTT message was dropped (PROTOCOL.md "UDP ingest"). The server counts
 * drops by these reasons; `too-many-sensors` is decided by the server's store,
 * `forbidden` by the server's rights (a reading for a sensor its sender may
 * not write: docs/SECURITY.md, "Writing on the ingest paths"), all the others
 * by the parsers. `too-large` and `too-deep` come only from `mapMqttMessage`:
 * a payload over `maxPayloadBytes` or with more numbers than `maxLeaves`, and
 * JSON nested deeper than `maxDepth`.
 *
 * @example
 * ```ts
 * import { REJECT_REASONS } from '@opc-lite/protocol';
 * for (const reason of REJECT_REASONS) console.log(reason);
 * ```
 */
export const REJECT_REASONS = Object.freeze([
  'bad-number',
  'bad-name',
  'bad-timestamp',
  'bad-sequence',
  'bad-syntax',
  'unsupported-type',
  'line-too-long',
  'too-many-sensors',
  'too-large',
  'too-deep',
  'forbidden',
] as const);

/** One of {@link REJECT_REASONS}. */
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * An error raised by the protocol layer or reported by a server, with a
 * stable {@link ErrorCode}.
 *
 * @example
 * ```ts
 * try {
 *   await client.get('missing');
 * } catch (err) {
 *   if (err instanceof ProtocolError && err.code === 'not-found') console.log('no such sensor');
 * }
 * ```
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** The stable error code, one of {@link ERROR_CODES}. */
  readonly code: ErrorCode;
  /** The detail text that follows the code on the wire (may be empty). */
  readonly detail: string;

  constructor(code: ErrorCode, detail = '', options?: { cause?: unknown }) {
    super(detail ? `${code}: ${detail}` : code, options);
    this.code = code;
    this.detail = detail;
  }
}
