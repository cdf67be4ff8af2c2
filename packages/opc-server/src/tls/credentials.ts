/**
 * The certificate, key and (optionally) client CA of the server's TLS ports (docs/SECURITY.md, "TLS").
 *
 * How it works: the PEM texts are checked once, in order (each is PEM, the certificate parses, the key parses, the
 * key belongs to the certificate, the CA parses, Node builds a secure context from them), so that a mistake is one
 * {@link TlsConfigError} naming the file and what is wrong with it rather than an OpenSSL message at the first
 * handshake. The `tls.Server`s of the TCP port, the HTTP port and the ingest port {@link TlsCredentials.attach}
 * themselves; {@link TlsCredentials.reload} reads the files again and, only when all of the checks pass, swaps each
 * server's secure context (`setSecureContext`): connections already open keep theirs, new ones get the new
 * certificate. A reload that fails changes nothing.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

/**
 * PEM texts, as `tls.createSecureContext` takes them.
 *
 * @example
 * ```ts
 * const material: TlsMaterial = { cert: readFileSync('server.pem'), key: readFileSync('server.key') };
 * ```
 */
export interface TlsMaterial {
  /** The server's certificate, then any intermediate certificates (PEM). */
  cert: string | Buffer;
  /** The private key of the certificate (PEM, unencrypted). */
  key: string | Buffer;
  /** With it, clients must present a certificate signed by one of these CAs (PEM); without, none is asked for. */
  ca?: string | Buffer | undefined;
}

/**
 * Where the PEM files are, for {@link TlsCredentials.fromFiles} (and for every reload).
 *
 * @example
 * ```ts
 * const files: TlsFiles = { certFile: '/etc/opc-lite/server.pem', keyFile: '/etc/opc-lite/server.key' };
 * ```
 */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** The CA that signs client certificates; given, they are required and verified. */
  caFile?: string | undefined;
}

/**
 * What is wrong with the TLS files or texts.
 *
 * @example
 * ```ts
 * try {
 *   TlsCredentials.fromFiles({ certFile: 'server.pem', keyFile: 'other.key' });
 * } catch (err) {
 *   if (err instanceof TlsConfigError && err.code === 'ERR_TLS_KEY_MISMATCH') console.error(err.message);
 * }
 * ```
 */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
  /**
   * `ERR_TLS_FILE` (cannot be read), `ERR_TLS_NOT_PEM`, `ERR_TLS_BAD_CERT`, `ERR_TLS_BAD_KEY`, `ERR_TLS_BAD_CA`,
   * `ERR_TLS_KEY_MISMATCH` (the key is not the certificate's), `ERR_TLS_CA_CHANGE` (a reload would add or remove the
   * client CA, which needs a restart).
   */
  readonly code: TlsConfigErrorCode;

  constructor(code: TlsConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The codes of {@link TlsConfigError}. */
export type TlsConfigErrorCode =
  | 'ERR_TLS_FILE'
  | 'ERR_TLS_NOT_PEM'
  | 'ERR_TLS_BAD_CERT'
  | 'ERR_TLS_BAD_KEY'
  | 'ERR_TLS_BAD_CA'
  | 'ERR_TLS_KEY_MISMATCH'
  | 'ERR_TLS_CA_CHANGE';

/**
 * What the server presents, for logs.
 *
 * @example
 * ```ts
 * const { subject, validTo } = credentials.certificate;
 * ```
 */
export interface TlsCertificateInfo {
  /** As OpenSSL prints it, e.g. `CN=opc.example.org`. */
  subject: string;
  issuer: string;
  /** The names it is valid for, e.g. `DNS:opc.example.org, IP Address:10.0.0.5`; empty when it has none. */
  subjectAltName: string;
  validFrom: Date;
  validTo: Date;
  /** SHA-256, colon-separated hex (as `openssl x509 -fingerprint -sha256` shows it). */
  fingerprint256: string;
}

/** The protocol floor of every TLS port (docs/SECURITY.md, "TLS"): ciphers are Node's defaults. */
export const TLS_MIN_VERSION = 'TLSv1.2';
/** How long a connection to a TLS port may take to send its first byte and finish the handshake. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Which text is which, for messages: the file's path, or the option's name. */
interface Labels {
  cert: string;
  key: string;
  ca: string;
}

const OPTION_LABELS: Labels = { cert: 'tls.cert', key: 'tls.key', ca: 'tls.ca' };

/**
 * The TLS set-up of a server: checked PEM texts, the `tls.Server`s that use them, and reloads.
 *
 * @example
 * ```ts
 * import { createOpcServer, TlsCredentials } from '@opc-lite/opc-server';
 *
 * const tls = TlsCredentials.fromFiles({ certFile: 'server.pem', keyFile: 'server.key' });
 * const server = createOpcServer({ port: 7330, tls });
 * await server.listen();
 * process.on('SIGHUP', () => tls.reload()); // new connections get the new certificate
 * ```
 */
export class TlsCredentials {
  readonly #files: TlsFiles | undefined;
  readonly #servers = new Set<tls.Server>();
  #material: TlsMaterial;
  #certificate: TlsCertificateInfo;
  /** Whether clients must present a certificate (a CA was given); fixed for the life of the object. */
  readonly requireClientCert: boolean;

  /** Checks `material` (throws a {@link TlsConfigError}). */
  constructor(material: TlsMaterial, files?: TlsFiles) {
    this.#files = files;
    this.#certificate = checkMaterial(material, files === undefined ? OPTION_LABELS : labelsOf(files));
    this.#material = { ...material };
    this.requireClientCert = material.ca !== undefined;
  }

  /** Reads and checks the files (throws a {@link TlsConfigError} naming the file). */
  static fromFiles(files: TlsFiles): TlsCredentials {
    return new TlsCredentials(readMaterial(files), files);
  }

  /** The certificate presented now. */
  get certificate(): TlsCertificateInfo {
    return { ...this.#certificate };
  }

  /** The files it was made from, if any. */
  get files(): TlsFiles | undefined {
    return this.#files === undefined ? undefined : { ...this.#files };
  }

  /**
   * The options for `tls.createServer` / `https.createServer`: the texts, TLS 1.2 at least, client certificates
   * asked for and verified when there is a CA, and the handshake timeout.
   */
  serverOptions(): tls.TlsOptions {
    const { cert, key, ca } = this.#material;
    return {
      cert,
      key,
      ...(ca !== undefined && { ca }),
      minVersion: TLS_MIN_VERSION,
      requestCert: this.requireClientCert,
      rejectUnauthorized: this.requireClientCert,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    };
  }

  /**
   * Reads the files again (or takes `material`) and, when every check passes, gives every attached server the new
   * secure context; open connections keep theirs. Throws a {@link TlsConfigError} and changes nothing otherwise.
   * Returns the certificate now presented.
   */
  reload(material?: TlsMaterial): TlsCertificateInfo {
    const files = this.#files;
    if (material === undefined && files === undefined) {
      throw new TypeError('reload() needs the new material: these credentials were not made from files');
    }
    const next = material ?? readMaterial(files!);
    const labels = material === undefined ? labelsOf(files!) : OPTION_LABELS;
    const certificate = checkMaterial(next, labels);
    if ((next.ca !== undefined) !== this.requireClientCert) {
      throw new TlsConfigError(
        'ERR_TLS_CA_CHANGE',
        this.requireClientCert
          ? 'the client CA cannot be removed by a reload: restart the server without it'
          : 'a client CA cannot be added by a reload: restart the server with it',
      );
    }
    this.#material = { ...next };
    this.#certificate = certificate;
    const options = this.serverOptions();
    for (const server of this.#servers) server.setSecureContext(options);
    return this.certificate;
  }

  /** Has `server` follow reloads; the returned function stops that. */
  attach(server: tls.Server): () => void {
    this.#servers.add(server);
    return () => {
      this.#servers.delete(server);
    };
  }
}

function labelsOf(files: TlsFiles): Labels {
  return { cert: files.certFile, key: files.keyFile, ca: files.caFile ?? 'tls.ca' };
}

function readMaterial(files: TlsFiles): TlsMaterial {
  if (typeof files !== 'object' || files === null) throw new TypeError('the TLS files must be an object');
  for (const field of ['certFile', 'keyFile'] as const) {
    if (typeof files[field] !== 'string' || files[field] === '') {
      throw new TypeError(`${field} must be a non-empty string (a PEM file's path)`);
    }
  }
  const cert = readPem(files.certFile, 'certificate');
  const key = readPem(files.keyFile, 'key');
  const ca = files.caFile === undefined ? undefined : readPem(files.caFile, 'client CA');
  return { cert, key, ...(ca !== undefined && { ca }) };
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsConfigError('ERR_TLS_FILE', `cannot read the TLS ${what} file ${path}: ${fileReason(err)}`, {
      cause: err,
    });
  }
}

function fileReason(err: unknown): string {
  switch ((err as { code?: unknown } | null)?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/** Every check, in order; returns what the certificate says of itself. */
function checkMaterial(material: TlsMaterial, labels: Labels): TlsCertificateInfo {
  if (typeof material !== 'object' || material === null) throw new TypeError('tls must be an object');
  const text = (value: unknown, label: string): string => {
    if (typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('latin1');
    throw new TypeError(`${label} must be a string or a Buffer of PEM text (got ${typeof value})`);
  };
  const certText = text(material.cert, 'tls.cert');
  const keyText = text(material.key, 'tls.key');
  if (!PEM_CERT.test(certText)) {
    throw new TlsConfigError('ERR_TLS_NOT_PEM', `${labels.cert} is not a PEM certificate (no BEGIN CERTIFICATE line)`);
  }
  if (!PEM_KEY.test(keyText)) {
    throw new TlsConfigError('ERR_TLS_NOT_PEM', `${labels.key} is not a PEM private key (no BEGIN PRIVATE KEY line)`);
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keyText)) {
    throw new TlsConfigError(
      'ERR_TLS_BAD_KEY',
      `${labels.key} is encrypted with a passphrase; give the server an unencrypted key (openssl pkey -in <file>)`,
    );
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certText);
  } catch (err) {
    throw new TlsConfigError('ERR_TLS_BAD_CERT', `${labels.cert} holds no certificate that can be read`, {
      cause: err,
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (err) {
    throw new TlsConfigError('ERR_TLS_BAD_KEY', `${labels.key} holds no private key that can be read`, { cause: err });
  }
  if (!x509.checkPrivateKey(key)) {
    throw new TlsConfigError(
      'ERR_TLS_KEY_MISMATCH',
      `the key in ${labels.key} is not the key of the certificate in ${labels.cert}`,
    );
  }
  if (material.ca !== undefined) {
    const caText = text(material.ca, 'tls.ca');
    if (!PEM_CERT.test(caText)) {
      throw new TlsConfigError('ERR_TLS_NOT_PEM', `${labels.ca} is not a PEM certificate (no BEGIN CERTIFICATE line)`);
    }
    try {
      new X509Certificate(caText);
    } catch (err) {
      throw new TlsConfigError('ERR_TLS_BAD_CA', `${labels.ca} holds no CA certificate that can be read`, {
        cause: err,
      });
    }
  }
  try {
    tls.createSecureContext({
      cert: material.cert,
      key: material.key,
      ...(material.ca !== undefined && { ca: material.ca }),
    });
  } catch (err) {
    throw new TlsConfigError(
      'ERR_TLS_BAD_CERT',
      `${labels.cert} and ${labels.key} cannot be used: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return {
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    subjectAltName: x509.subjectAltName ?? '',
    validFrom: new Date(x509.validFrom),
    validTo: new Date(x509.validTo),
    fingerprint256: x509.fingerprint256,
  };
}
