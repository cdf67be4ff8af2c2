/**
 * Certificates for TLS tests, made by the `openssl` command line in a temp directory: a CA, server certificates
 * for 127.0.0.1 and localhost, one that has expired, one for another host, one from a CA nobody trusts, and a
 * client certificate. P-256 keys, so that making them all takes a few tens of milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The PEM files made by {@link makeCertificates}, as paths. */
export interface TestCertificates {
  dir: string;
  /** The CA that signed every certificate below but `untrusted`. */
  caCert: string;
  /** For 127.0.0.1 and localhost. */
  serverCert: string;
  serverKey: string;
  /** Also for 127.0.0.1 and localhost, another key and subject (CN=second): what a reload swaps in. */
  secondCert: string;
  secondKey: string;
  /** For 127.0.0.1 and localhost, but it expired yesterday. */
  expiredCert: string;
  expiredKey: string;
  /** For other.example only. */
  wrongHostCert: string;
  wrongHostKey: string;
  /** For 127.0.0.1, signed by a CA of its own that nobody trusts. */
  untrustedCert: string;
  untrustedKey: string;
  /** A client certificate (CN=reader-1), signed by the CA. */
  clientCert: string;
  clientKey: string;
  /** Reads one of the files. */
  read(path: string): Buffer;
  /** Removes the directory. */
  remove(): void;
}

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
};

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Makes the CA and every certificate in a new temp directory. */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'opc-tls-'));
  const ca = (name: string): void =>
    openssl(dir, [
      'req',
      '-x509',
      ...KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    ]);
  const signed = (name: string, caName: string, san: string, days: string): void => {
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    openssl(dir, ['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.pem`,
      '-CAkey',
      `${caName}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      days,
      '-extfile',
      `${name}.ext`,
    ]);
  };
  const local = 'IP:127.0.0.1,DNS:localhost';
  ca('test-ca');
  ca('rogue-ca');
  signed('server', 'test-ca', local, '2');
  signed('second', 'test-ca', local, '2');
  signed('expired', 'test-ca', local, '-1');
  signed('wrong-host', 'test-ca', 'DNS:other.example', '2');
  signed('untrusted', 'rogue-ca', local, '2');
  signed('reader-1', 'test-ca', 'DNS:reader-1', '2');
  const at = (file: string): string => join(dir, file);
  return {
    dir,
    caCert: at('test-ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    secondCert: at('second.pem'),
    secondKey: at('second.key'),
    expiredCert: at('expired.pem'),
    expiredKey: at('expired.key'),
    wrongHostCert: at('wrong-host.pem'),
    wrongHostKey: at('wrong-host.key'),
    untrustedCert: at('untrusted.pem'),
    untrustedKey: at('untrusted.key'),
    clientCert: at('reader-1.pem'),
    clientKey: at('reader-1.key'),
    read: (path) => readFileSync(path),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
