/**
 * The CLI's side of TLS (docs/SECURITY.md, "TLS"): the `--tls-*` flags, loading the files at start, and reloading
 * them on SIGHUP.
 */
import path from 'node:path';
import { TlsConfigError, TlsCredentials, type Logger, type TlsFiles } from '@opc-lite/opc-server';

/** A flag's text and where it came from (`--tls-cert` or `OPC_TLS_CERT`), as options.ts picks them. */
type Pick = (flag: string, envName: string) => { text: string; what: string } | undefined;

/**
 * `--tls-cert`, `--tls-key`, `--tls-ca` (env `OPC_TLS_CERT`, `OPC_TLS_KEY`, `OPC_TLS_CA`) as absolute paths; undefined
 * when none is given. The files are read later, by {@link loadTls}. A flag without its partner is a `usage` error.
 */
export function parseTlsFlags(pick: Pick, cwd: string, usage: (message: string) => Error): TlsFiles | undefined {
  const cert = pick('tls-cert', 'OPC_TLS_CERT');
  const key = pick('tls-key', 'OPC_TLS_KEY');
  const ca = pick('tls-ca', 'OPC_TLS_CA');
  if (cert === undefined && key === undefined) {
    if (ca !== undefined) throw usage(`${ca.what} goes with --tls-cert and --tls-key`);
    return undefined;
  }
  if (cert === undefined) throw usage(`${key!.what} needs --tls-cert, the certificate of that key`);
  if (key === undefined) throw usage(`${cert.what} needs --tls-key, the private key of the certificate`);
  return {
    certFile: path.resolve(cwd, cert.text),
    keyFile: path.resolve(cwd, key.text),
    ...(ca !== undefined && { caFile: path.resolve(cwd, ca.text) }),
  };
}

/** The `--help` rows of the TLS flags. */
export const TLS_HELP_ROWS: readonly [string, string][] = Object.freeze([
  [
    '--tls-cert <file>',
    'speak TLS on the TCP and HTTP ports with this PEM certificate (and chain); reloaded on SIGHUP (docs/SECURITY.md; env OPC_TLS_CERT)',
  ],
  ['--tls-key <file>', 'the PEM private key of --tls-cert, unencrypted (env OPC_TLS_KEY)'],
  ['--tls-ca <file>', 'require client certificates signed by this PEM CA, and verify them (env OPC_TLS_CA)'],
] as const);

/** Loads the files at start; a file that is missing, unreadable, not PEM or not matching is one line and exit 1. */
export function loadTls(files: TlsFiles, log: Logger, fail: (message: string, code: number) => never): TlsCredentials {
  let credentials: TlsCredentials;
  try {
    credentials = TlsCredentials.fromFiles(files);
  } catch (err) {
    if (err instanceof TlsConfigError) return fail(err.message, 1);
    throw err;
  }
  const cert = credentials.certificate;
  log.info(
    {
      tlsCert: files.certFile,
      subject: cert.subject,
      names: cert.subjectAltName,
      validTo: cert.validTo.toISOString(),
      clientCertificates: credentials.requireClientCert ? 'required' : 'not asked for',
    },
    `TLS on the TCP and HTTP ports (UDP stays plain), certificate ${cert.subject}`,
  );
  warnExpiry(credentials, log);
  return credentials;
}

/** SIGHUP: reads the files again; files with a mistake leave the certificate in force (and say why). */
export function reloadTls(credentials: TlsCredentials, log: Logger): void {
  const files = credentials.files;
  try {
    const cert = credentials.reload();
    log.info(
      { tlsCert: files?.certFile, subject: cert.subject, validTo: cert.validTo.toISOString() },
      `TLS certificate reloaded: new connections get ${cert.subject}, open ones keep theirs`,
    );
    warnExpiry(credentials, log);
  } catch (err) {
    if (!(err instanceof TlsConfigError)) throw err;
    log.error(
      { tlsCert: files?.certFile, code: err.code },
      `TLS certificate not reloaded, the previous one stays in force: ${err.message}`,
    );
  }
}

const WEEK_MS = 7 * 86_400_000;

function warnExpiry(credentials: TlsCredentials, log: Logger): void {
  const { validTo, subject } = credentials.certificate;
  const left = validTo.getTime() - Date.now();
  if (left <= 0) log.warn({ validTo: validTo.toISOString() }, `the TLS certificate ${subject} has expired`);
  else if (left < WEEK_MS) log.warn({ validTo: validTo.toISOString() }, `the TLS certificate ${subject} expires soon`);
}
