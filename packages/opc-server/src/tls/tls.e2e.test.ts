/**
 * TLS on the TCP port (docs/SECURITY.md, "TLS"), over loopback with certificates made by openssl.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpcServer, type OpcServer } from '../server.js';
import { makeCertificates, type TestCertificates } from '../testing/certs.js';
import { LineClient } from '../testing/line-client.js';
import { TlsConfigError, TlsCredentials } from './credentials.js';

let certs: TestCertificates;
const servers: OpcServer[] = [];
const sockets: net.Socket[] = [];

beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => certs.remove());
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(credentials: TlsCredentials): Promise<number> {
  const server = createOpcServer({ port: 0, tls: credentials, idleTimeoutMs: 0 });
  servers.push(server);
  return (await server.listen()).port;
}

function connectTls(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.read(certs.caCert), ...options }, () =>
      resolve(socket),
    );
    sockets.push(socket);
    socket.once('error', reject);
  });
}

const serverFiles = () => ({ certFile: certs.serverCert, keyFile: certs.serverKey });

describe('TlsCredentials', () => {
  it('names the missing file and says it does not exist', () => {
    const err = captured(() => TlsCredentials.fromFiles({ ...serverFiles(), certFile: join(certs.dir, 'nope.pem') }));
    expect(err).toBeInstanceOf(TlsConfigError);
    expect(err).toMatchObject({ code: 'ERR_TLS_FILE' });
    expect(err.message).toBe(`cannot read the TLS certificate file ${join(certs.dir, 'nope.pem')}: no such file`);
  });

  it('refuses a file that is not PEM', () => {
    const junk = join(certs.dir, 'junk.pem');
    writeFileSync(junk, 'hello\n');
    const err = captured(() => TlsCredentials.fromFiles({ ...serverFiles(), keyFile: junk }));
    expect(err).toMatchObject({
      code: 'ERR_TLS_NOT_PEM',
      message: `${junk} is not a PEM private key (no BEGIN PRIVATE KEY line)`,
    });
  });

  it('refuses a key that is not the certificate’s', () => {
    const err = captured(() => TlsCredentials.fromFiles({ ...serverFiles(), keyFile: certs.secondKey }));
    expect(err).toMatchObject({ code: 'ERR_TLS_KEY_MISMATCH' });
    expect(err.message).toContain(certs.secondKey);
  });

  it('refuses a client CA file that holds no certificate', () => {
    const junk = join(certs.dir, 'junk-ca.pem');
    writeFileSync(junk, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const err = captured(() => TlsCredentials.fromFiles({ ...serverFiles(), caFile: junk }));
    expect(err).toMatchObject({ code: 'ERR_TLS_BAD_CA' });
  });

  it('keeps the certificate in force when a reload fails', () => {
    const files = { certFile: join(certs.dir, 'live.pem'), keyFile: join(certs.dir, 'live.key') };
    writeFileSync(files.certFile, certs.read(certs.serverCert));
    writeFileSync(files.keyFile, certs.read(certs.serverKey));
    const credentials = TlsCredentials.fromFiles(files);
    const before = credentials.certificate.fingerprint256;
    writeFileSync(files.keyFile, certs.read(certs.secondKey)); // the new key is there, the new certificate not yet
    expect(() => credentials.reload()).toThrow(expect.objectContaining({ code: 'ERR_TLS_KEY_MISMATCH' }));
    expect(credentials.certificate.fingerprint256).toBe(before);
    writeFileSync(files.certFile, certs.read(certs.secondCert));
    expect(credentials.reload().subject).toBe('CN=second');
  });

  it('cannot add a client CA by a reload', () => {
    const credentials = new TlsCredentials({ cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) });
    expect(() =>
      credentials.reload({
        cert: certs.read(certs.serverCert),
        key: certs.read(certs.serverKey),
        ca: certs.read(certs.caCert),
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_TLS_CA_CHANGE' }));
  });
});

describe('the TCP port with TLS', () => {
  it('answers commands over TLS, TLS 1.2 at least', async () => {
    const port = await start(TlsCredentials.fromFiles(serverFiles()));
    const socket = await connectTls(port, { servername: 'localhost' });
    const client = new LineClient(socket);
    client.send('PING\n');
    expect(await client.next()).toBe('PONG');
    expect(['TLSv1.2', 'TLSv1.3']).toContain(socket.getProtocol());
    await expect(connectTls(port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).rejects.toThrow();
  });

  it('tells a plaintext client that the port speaks TLS, and closes', async () => {
    const port = await start(TlsCredentials.fromFiles(serverFiles()));
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    const client = new LineClient(socket);
    client.send('GET x\n');
    expect(await client.rest()).toEqual(['ERR tls-required this port speaks TLS; connect with TLS (opc-reader --tls)']);
    expect(servers[0]!.stats()).toMatchObject({ tls_plaintext_refused: 1 });
  });

  it('answers the legacy one-byte poll sent in plaintext with the same error', async () => {
    const port = await start(TlsCredentials.fromFiles(serverFiles()));
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    const client = new LineClient(socket);
    client.send('n');
    expect((await client.rest())[0]).toMatch(/^ERR tls-required /);
  });

  it('with a client CA, refuses a client without a certificate and serves one with', async () => {
    const port = await start(TlsCredentials.fromFiles({ ...serverFiles(), caFile: certs.caCert }));
    expect(await pingOver(port)).toMatch(/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/);
    expect(await pingOver(port, { cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) })).toBe('PONG');
    expect(servers[0]!.stats()).toMatchObject({ tls_handshake_failures: 1 });
  });

  it('refuses a client certificate from another CA', async () => {
    const port = await start(TlsCredentials.fromFiles({ ...serverFiles(), caFile: certs.caCert }));
    const rogue = { cert: certs.read(certs.untrustedCert), key: certs.read(certs.untrustedKey) };
    expect(await pingOver(port, rogue)).toMatch(/UNKNOWN_CA|HANDSHAKE_FAILURE|ECONNRESET|closed/);
  });

  it('presents the new certificate to new connections after a reload, and keeps the old ones open', async () => {
    const files = { certFile: join(certs.dir, 'reload.pem'), keyFile: join(certs.dir, 'reload.key') };
    writeFileSync(files.certFile, certs.read(certs.serverCert));
    writeFileSync(files.keyFile, certs.read(certs.serverKey));
    const credentials = TlsCredentials.fromFiles(files);
    const port = await start(credentials);
    const old = await connectTls(port);
    expect(old.getPeerCertificate().subject.CN).toBe('server');
    writeFileSync(files.certFile, certs.read(certs.secondCert));
    writeFileSync(files.keyFile, certs.read(certs.secondKey));
    credentials.reload();
    const fresh = await connectTls(port);
    expect(fresh.getPeerCertificate().subject.CN).toBe('second');
    const client = new LineClient(old);
    client.send('PING\n');
    expect(await client.next()).toBe('PONG');
  });
});

/**
 * `PONG`, or the code of the error that ended the connection. TLS 1.3 ends the client's side of the handshake before
 * the server has judged its certificate, so a refusal may arrive as an alert on the first read.
 */
function pingOver(port: number, options: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.read(certs.caCert), ...options }, () =>
      socket.write('PING\n'),
    );
    sockets.push(socket);
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => resolve(text.trim()));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.on('close', () => resolve('closed'));
  });
}

function captured(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('it did not throw');
}
