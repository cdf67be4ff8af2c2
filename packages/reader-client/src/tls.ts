/**
 * TLS for the client (docs/SECURITY.md, "TLS"): the `tls` option, the socket it opens, and what a failed
 * handshake means in words.
 *
 * How it works: with `tls`, every connection (the first, each reconnection, `pollOnce`) is `tls.connect` with
 * Node's defaults (TLS 1.2 at least, the system's CAs unless `ca` is given, the host name checked), and is ready at
 * `'secureConnect'` rather than `'connect'`. OpenSSL reports a refused handshake by codes such as
 * `CERT_HAS_EXPIRED` or `ERR_SSL_WRONG_VERSION_NUMBER`; {@link tlsErrorOf} turns each into a {@link TlsError} with
 * a stable code and a sentence that says what is wrong and what to do about it.
 */
import net from 'node:net';
import tls from 'node:tls';

/** PEM text, or several. */
type Pem = string | Buffer | ReadonlyArray<string | Buffer>;

/**
 * The `tls` option of `connect()` and `pollOnce()`: `true` for Node's defaults (the system's CAs), or settings.
 *
 * @example
 * ```ts
 * const client = await connect({ host: 'opc.example.org', tls: { ca: readFileSync('ca.pem') } });
 * ```
 */
export interface TlsOptions {
  /** The CA(s) the server's certificate must be signed by, PEM (default: the system's CAs). */
  ca?: Pem;
  /** A client certificate, PEM, for a server that requires one (`--tls-ca` on the server); needs `key`. */
  cert?: Pem;
  /** The private key of `cert`, PEM. */
  key?: string | Buffer;
  /** The name the certificate must be for, when it is not `host` (also sent as SNI). */
  servername?: string;
  /**
   * `false` skips checking the server's certificate: anyone between the client and the server can then read and
   * change everything. For a lab with a self-signed certificate only. Default `true`.
   */
  rejectUnauthorized?: boolean;
}

/**
 * Why a TLS connection could not be made.
 *
 * @example
 * ```ts
 * const code: TlsErrorCode = 'ERR_TLS_CERT_EXPIRED';
 * ```
 */
export type TlsErrorCode =
  | 'ERR_TLS_CERT_EXPIRED'
  | 'ERR_TLS_CERT_NOT_YET_VALID'
  | 'ERR_TLS_HOSTNAME'
  | 'ERR_TLS_UNKNOWN_CA'
  | 'ERR_TLS_NOT_TLS'
  | 'ERR_TLS_CERT_REQUIRED'
  | 'ERR_TLS_CERT_REFUSED'
  | 'ERR_TLS_HANDSHAKE';

/**
 * A TLS connection was refused, by this client (the server's certificate) or by the server (this client's). `code`
 * says which case it is; `cause` is Node's error (its `code` is OpenSSL's).
 *
 * @example
 * ```ts
 * try {
 *   await connect({ host: 'opc.example.org', tls: true });
 * } catch (err) {
 *   if (err instanceof TlsError && err.code === 'ERR_TLS_CERT_EXPIRED') console.error(err.message);
 * }
 * ```
 */
export class TlsError extends Error {
  override readonly name = 'TlsError';
  readonly code: TlsErrorCode;

  constructor(code: TlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The `tls` option checked, as `tls.connect` options; undefined for plaintext. */
export type ResolvedTls = tls.ConnectionOptions | undefined;

const isPem = (v: unknown): boolean => typeof v === 'string' || Buffer.isBuffer(v);
const isPems = (v: unknown): boolean => isPem(v) || (Array.isArray(v) && v.length > 0 && v.every(isPem));

/** Checks the `tls` option, throwing a TypeError naming the field. */
export function resolveTls(option: unknown): ResolvedTls {
  if (option === undefined || option === false) return undefined;
  if (option === true) return {};
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new TypeError('tls must be true, false or an object ({ ca, cert, key, servername, rejectUnauthorized })');
  }
  const o = option as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'].includes(key)) {
      throw new TypeError(`unknown tls option '${key}' (known: ca, cert, key, servername, rejectUnauthorized)`);
    }
  }
  if (o.ca !== undefined && !isPems(o.ca))
    throw new TypeError('tls.ca must be PEM text (a string or a Buffer) or a list');
  if (o.cert !== undefined && !isPems(o.cert)) throw new TypeError('tls.cert must be PEM text (a string or a Buffer)');
  if (o.key !== undefined && !isPem(o.key)) throw new TypeError('tls.key must be PEM text (a string or a Buffer)');
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new TypeError('tls.cert and tls.key go together: a client certificate and its private key');
  }
  if (o.servername !== undefined && (typeof o.servername !== 'string' || o.servername === '')) {
    throw new TypeError('tls.servername must be a non-empty string');
  }
  if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== 'boolean') {
    throw new TypeError('tls.rejectUnauthorized must be a boolean');
  }
  return { ...(o as tls.ConnectionOptions) };
}

/**
 * Opens a connection, plain or TLS; `ready` is the event after which it may carry commands.
 *
 * @example
 * ```ts
 * const { socket, ready } = openSocket('127.0.0.1', 7330, resolveTls(true));
 * socket.once(ready, () => socket.write('PING\n'));
 * ```
 */
export function openSocket(
  host: string,
  port: number,
  options: ResolvedTls,
): { socket: net.Socket; ready: 'connect' | 'secureConnect' } {
  if (options === undefined) return { socket: net.createConnection({ host, port }), ready: 'connect' };
  // An IP address is checked against the certificate's IP names, and is no SNI name (RFC 6066, 3).
  const servername = options.servername ?? (net.isIP(host) === 0 ? host : undefined);
  const socket = tls.connect({ ...options, host, port, ...(servername !== undefined && { servername }) });
  return { socket, ready: 'secureConnect' };
}

const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
/** What OpenSSL says when the bytes that came back are not TLS records. */
const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);
const CERT_REQUIRED = new Set(['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED']);
const CERT_REFUSED = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
]);

/**
 * The {@link TlsError} a socket error stands for, or undefined when it is not about TLS (a refused connection, a
 * reset after the handshake). `handshaking`: the error came before `'secureConnect'`; `hasCert`: this client
 * offered a certificate.
 *
 * @example
 * ```ts
 * socket.on('error', (err) => reject(tlsErrorOf(err, { host, port, handshaking: true, hasCert: false }) ?? err));
 * ```
 */
export function tlsErrorOf(
  error: Error,
  at: { host: string; port: number; handshaking: boolean; hasCert: boolean },
): TlsError | undefined {
  if (error instanceof TlsError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const where = `${at.host}:${at.port}`;
  const make = (c: TlsErrorCode, message: string): TlsError => new TlsError(c, message, { cause: error });
  if (code === 'CERT_HAS_EXPIRED') {
    return make(
      'ERR_TLS_CERT_EXPIRED',
      `the certificate of ${where} has expired: the server must get a new one (or this machine's clock is wrong)`,
    );
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return make(
      'ERR_TLS_CERT_NOT_YET_VALID',
      `the certificate of ${where} is not valid yet: this machine's clock or the server's certificate is wrong`,
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const reason = (error as { reason?: unknown }).reason;
    return make(
      'ERR_TLS_HOSTNAME',
      `the certificate of ${where} is not for that name${typeof reason === 'string' ? ` (${reason})` : ''}: connect by a name it lists, or give that name as the servername`,
    );
  }
  if (UNKNOWN_CA.has(code)) {
    return make(
      'ERR_TLS_UNKNOWN_CA',
      `the certificate of ${where} is signed by a CA this client does not trust (${code}): give the CA that signed it (--tls-ca)`,
    );
  }
  if (NOT_TLS.has(code)) {
    return make(
      'ERR_TLS_NOT_TLS',
      `${where} does not speak TLS (it answered in plaintext): connect without TLS, or start the server with --tls-cert`,
    );
  }
  if (CERT_REQUIRED.has(code) || (!at.hasCert && code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')) {
    return make(
      'ERR_TLS_CERT_REQUIRED',
      `${where} requires a client certificate: give one signed by its CA (--tls-cert and --tls-key)`,
    );
  }
  if (CERT_REFUSED.has(code) || (at.hasCert && code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')) {
    return make(
      'ERR_TLS_CERT_REFUSED',
      `${where} refused this client's certificate (${code}): is it signed by the server's CA, and still valid?`,
    );
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return make('ERR_TLS_HANDSHAKE', `TLS with ${where} failed: ${error.message.split('\n')[0]}`);
  }
  if (at.handshaking && (code === 'ECONNRESET' || /socket disconnected before secure TLS/.test(error.message))) {
    return make(
      'ERR_TLS_HANDSHAKE',
      `${where} closed the connection during the TLS handshake: it may not speak TLS, or it refused this client`,
    );
  }
  return undefined;
}

/**
 * Whether `error` is a TLS refusal that a new attempt would meet again (a certificate, a name, a server without
 * TLS), as opposed to a connection cut during the handshake: the client gives up on it even with `reconnect`.
 *
 * @example
 * ```ts
 * isLastingTlsError(new TlsError('ERR_TLS_CERT_EXPIRED', 'expired')); // true
 * ```
 */
export function isLastingTlsError(error: unknown): error is TlsError {
  return error instanceof TlsError && error.code !== 'ERR_TLS_HANDSHAKE';
}
