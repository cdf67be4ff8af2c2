/**
 * HTTPS (docs/SECURITY.md, "TLS"): curl against the web server with certificates made by openssl.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { createOpcServer, TlsCredentials, type OpcServer } from '@opc-lite/opc-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates, type TestCertificates } from '../../opc-server/src/testing/certs.js';
import { startWebServer, type WebServer } from './web-server.js';

const run = promisify(execFile);
let certs: TestCertificates;
const opened: Array<OpcServer | WebServer> = [];

beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => certs.remove());
afterEach(async () => {
  for (const s of opened.splice(0).reverse()) await s.close();
});

async function startHttps(caFile?: string): Promise<WebServer> {
  const server = createOpcServer({ port: 0 });
  opened.push(server);
  await server.listen();
  server.ingest(Buffer.from('temp 21.5\n'));
  const tls = TlsCredentials.fromFiles({ certFile: certs.serverCert, keyFile: certs.serverKey, caFile });
  const web = await startWebServer(server, { port: 0, tls });
  opened.push(web);
  return web;
}

/** curl's exit code, and what it printed. */
async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('curl', ['--silent', '--show-error', '--max-time', '10', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the HTTP port with TLS', () => {
  it('serves the API to curl --cacert, over https://', async () => {
    const web = await startHttps();
    expect(web.url).toBe(`https://127.0.0.1:${web.port}/`);
    const { code, stdout } = await curl(['--cacert', certs.caCert, `${web.url}api/sensors`]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ sensors: [expect.objectContaining({ name: 'temp' })] });
  });

  it('is refused by curl without the CA', async () => {
    const web = await startHttps();
    const { code, stderr } = await curl([`${web.url}api/sensors`]);
    expect(code).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
    expect(stderr).toMatch(/certificate/i);
  });

  it('answers a plain HTTP request with a 400 that says the port speaks HTTPS', async () => {
    const web = await startHttps();
    const { code, stdout } = await curl(['--write-out', '%{http_code}', `http://127.0.0.1:${web.port}/api/sensors`]);
    expect(code).toBe(0);
    expect(stdout).toBe('This port speaks HTTPS: use https:// in the address.\n400');
  });

  it('with a client CA, refuses curl without a client certificate and serves it with one', async () => {
    const web = await startHttps(certs.caCert);
    const url = `${web.url}api/sensors`;
    const without = await curl(['--cacert', certs.caCert, url]);
    expect(without.code).not.toBe(0);
    expect(without.stdout).toBe('');
    const withCert = await curl(['--cacert', certs.caCert, '--cert', certs.clientCert, '--key', certs.clientKey, url]);
    expect(withCert.code).toBe(0);
    expect(JSON.parse(withCert.stdout)).toHaveProperty('sensors');
  });

  it('closes at once a connection that has sent nothing yet', async () => {
    const web = await startHttps();
    const idle = net.connect(web.port, '127.0.0.1');
    await new Promise((resolve) => idle.once('connect', resolve));
    const closed = new Promise((resolve) => idle.once('close', resolve));
    await web.close();
    opened.splice(opened.indexOf(web), 1);
    await closed;
    expect(idle.destroyed).toBe(true);
  });
});
