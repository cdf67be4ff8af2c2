/**
 * The client over TLS (docs/SECURITY.md, "TLS"), against a real server with certificates made by openssl.
 */
import { once } from 'node:events';
import { ProtocolError } from '@opc-lite/protocol';
import { TlsCredentials, type OpcServerOptions } from '@opc-lite/opc-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates, type TestCertificates } from '../../opc-server/src/testing/certs.js';
import { connect, type OpcClient } from './client.js';
import type { ConnectOptions } from './options.js';
import { pollOnce } from './poll-once.js';
import { cleanup, defer, startServer } from './testing/fixtures.js';
import { resolveTls, TlsError } from './tls.js';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => certs.remove());
afterEach(cleanup);

function serverTls(cert = certs.serverCert, key = certs.serverKey, caFile?: string): OpcServerOptions {
  return { tls: TlsCredentials.fromFiles({ certFile: cert, keyFile: key, caFile }) };
}

async function client(options: ConnectOptions): Promise<OpcClient> {
  const c = await connect(options);
  defer(() => c.close());
  return c;
}

const trusting = () => ({ ca: certs.read(certs.caCert) });

describe('the tls option', () => {
  it('polls, gets and subscribes over TLS', async () => {
    const t = await startServer(serverTls());
    t.server.ingest(Buffer.from('temp 21.5\n'));
    const c = await client({ port: t.port, tls: trusting() });
    expect(await c.get('temp')).toMatchObject({ name: 'temp', value: 21.5 });
    const sub = c.subscribe('temp', { backlog: 1 });
    await sub.ready;
    expect((await sub.next()).value).toMatchObject({ value: 21.5 });
  });

  it('reconnects over TLS and subscribes again', async () => {
    const first = await startServer(serverTls());
    const port = first.port;
    const c = await client({ port, tls: trusting(), reconnect: { initialDelayMs: 5, maxDelayMs: 50, jitter: 0 } });
    c.on('error', () => undefined);
    const sub = c.subscribe('ramp');
    await sub.ready;
    const disconnected = once(c, 'disconnect');
    await first.server.close();
    await disconnected;
    const reconnected = once(c, 'connect');
    const second = await startServer({ port, ...serverTls() });
    await reconnected;
    await expect.poll(() => second.server.hub.subscriptionCount).toBe(1);
    second.server.ingest(Buffer.from('ramp 3\n'));
    expect((await sub.next()).value).toMatchObject({ name: 'ramp', value: 3 });
  });

  it('polls once over TLS', async () => {
    const t = await startServer(serverTls());
    t.server.ingest(Buffer.from('default 0.35\n'));
    expect(await pollOnce({ port: t.port, tls: trusting() })).toBe(0.35);
  });

  it('refuses an expired certificate with ERR_TLS_CERT_EXPIRED', async () => {
    const t = await startServer(serverTls(certs.expiredCert, certs.expiredKey));
    const err = await connect({ port: t.port, tls: trusting() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect(err).toMatchObject({
      code: 'ERR_TLS_CERT_EXPIRED',
      message: `the certificate of 127.0.0.1:${t.port} has expired: the server must get a new one (or this machine's clock is wrong)`,
    });
    await expect(pollOnce({ port: t.port, tls: trusting() })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_EXPIRED' });
  });

  it('refuses a certificate for another host with ERR_TLS_HOSTNAME', async () => {
    const t = await startServer(serverTls(certs.wrongHostCert, certs.wrongHostKey));
    const err = await connect({ port: t.port, tls: trusting() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_TLS_HOSTNAME' });
    expect((err as Error).message).toMatch(
      /^the certificate of 127\.0\.0\.1:\d+ is not for that name \(.*127\.0\.0\.1/,
    );
    // Named as the certificate has it, it is accepted.
    const c = await client({ port: t.port, tls: { ...trusting(), servername: 'other.example' } });
    await c.ping();
  });

  it('refuses a certificate from a CA it was not given with ERR_TLS_UNKNOWN_CA, unless told not to check', async () => {
    const t = await startServer(serverTls(certs.untrustedCert, certs.untrustedKey));
    await expect(connect({ port: t.port, tls: trusting() })).rejects.toMatchObject({ code: 'ERR_TLS_UNKNOWN_CA' });
    const c = await client({ port: t.port, tls: { rejectUnauthorized: false } });
    await c.ping();
  });

  it('says the server does not speak TLS when it answers in plaintext', async () => {
    const t = await startServer();
    const err = await connect({ port: t.port, tls: trusting() }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_TLS_NOT_TLS',
      message: `127.0.0.1:${t.port} does not speak TLS (it answered in plaintext): connect without TLS, or start the server with --tls-cert`,
    });
    await expect(pollOnce({ port: t.port, tls: trusting() })).rejects.toMatchObject({ code: 'ERR_TLS_NOT_TLS' });
  });

  it('gets tls-required from a TLS server when it connects in plaintext', async () => {
    const t = await startServer(serverTls());
    const c = await connect({ port: t.port });
    c.on('error', () => undefined);
    const err = await c.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: 'tls-required' });
    await c.close();
    await expect(pollOnce({ port: t.port })).rejects.toMatchObject({ code: 'tls-required' });
  });

  it('needs a client certificate where the server requires one, and is served with one', async () => {
    const t = await startServer(serverTls(certs.serverCert, certs.serverKey, certs.caCert));
    // TLS 1.3: the refusal may come after the handshake, on the first request.
    const err = await connect({ port: t.port, tls: trusting() })
      .then(async (c) => {
        c.on('error', () => undefined);
        return c.ping().then(
          () => 'served',
          (e: unknown) => e,
        );
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_TLS_CERT_REQUIRED' });
    // With reconnect too: the subscription ends with the reason instead of the client retrying for ever.
    const retrying = await connect({ port: t.port, tls: trusting(), reconnect: true }).catch((e: unknown) => e);
    if (retrying instanceof Error) expect(retrying).toMatchObject({ code: 'ERR_TLS_CERT_REQUIRED' });
    else {
      const sub = (retrying as OpcClient).subscribe('*');
      await expect(sub.ready).rejects.toMatchObject({ code: 'ERR_TLS_CERT_REQUIRED' });
    }
    const withCert = { ...trusting(), cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) };
    const c = await client({ port: t.port, tls: withCert });
    await c.ping();
    expect(await pollOnce({ port: t.port, tls: withCert })).toBeNaN();
  });

  it('checks the option', () => {
    expect(resolveTls(undefined)).toBeUndefined();
    expect(resolveTls(false)).toBeUndefined();
    expect(resolveTls(true)).toEqual({});
    expect(() => resolveTls({ cert: 'x' })).toThrow('tls.cert and tls.key go together');
    expect(() => resolveTls({ verify: false })).toThrow("unknown tls option 'verify'");
    expect(() => resolveTls('yes')).toThrow(TypeError);
  });
});

describe('with reconnect', () => {
  it('gives up at once on a certificate it refuses rather than retrying', async () => {
    const t = await startServer(serverTls(certs.expiredCert, certs.expiredKey));
    const err = await connect({ port: t.port, tls: trusting(), reconnect: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_TLS_CERT_EXPIRED' });
  });
});
