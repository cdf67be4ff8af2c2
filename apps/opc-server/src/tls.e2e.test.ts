/**
 * The real CLI with TLS (docs/SECURITY.md, "TLS"): --tls-cert, --tls-key, --tls-ca, SIGHUP reload, checked with
 * openssl s_client and curl, and certificates made by openssl.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeCertificates, type TestCertificates } from '../../../packages/opc-server/src/testing/certs.js';

const BIN = fileURLToPath(new URL('../bin/opc-server.js', import.meta.url));
const run = promisify(execFile);

interface Cli {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exit: Promise<number | null>;
}
let certs: TestCertificates;
const running: Cli[] = [];
const dirs: string[] = [];
const sockets: Socket[] = [];

beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => certs.remove());
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL');
      await cli.exit;
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opc-tls-cli-'));
  dirs.push(dir);
  return dir;
}

function startCli(args: string[], env: Record<string, string> = {}): Cli {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPC_')));
  const child = spawn(
    process.execPath,
    [BIN, '--port', '0', '--memory', '--log-format', 'json', '--stats-interval-ms', '0', ...args],
    { cwd: tempDir(), env: { ...clean, OPC_HTTP_PORT: '0', ...env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = once(child, 'close').then(([code]) => code as number | null);
  const cli = { child, stderr: () => stderr, exit };
  running.push(cli);
  return cli;
}

type LogLine = Record<string, unknown> & { msg?: string };
const logLines = (text: string): LogLine[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

function waitForLog(cli: Cli, test: (l: LogLine) => boolean): Promise<LogLine> {
  return vi.waitFor(
    () => {
      const line = logLines(cli.stderr()).find(test);
      if (!line) throw new Error(`not logged yet; stderr: ${cli.stderr()}`);
      return line;
    },
    { timeout: 10_000, interval: 20 },
  );
}

/** Starts the CLI and resolves with its TCP port once it listens. */
async function startServer(args: string[]): Promise<{ cli: Cli; port: number }> {
  const cli = startCli(args);
  const start = await waitForLog(cli, (l) => typeof l.tcp === 'string');
  return { cli, port: Number(String(start.tcp).split(':').pop()) };
}

/** A port free a moment ago (the OS does not hand it out again at once): HTTP's 0 means off. */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Runs a tool with `input` on stdin; its exit code and output. */
function tool(command: string, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** `openssl s_client` with our CA, checking the certificate is for 127.0.0.1; `-quiet` waits for the server to close. */
const sClient = (port: number, extra: string[], input: string) =>
  tool(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-CAfile',
      certs.caCert,
      '-verify_return_error',
      '-verify_ip',
      '127.0.0.1',
      ...extra,
    ],
    input,
  );

/** The subject of the certificate the port presents now, as s_client prints it. */
async function presentedSubject(port: number): Promise<string> {
  const { stdout } = await sClient(port, [], '');
  return /^subject=(.*)$/m.exec(stdout)?.[1] ?? `none in: ${stdout}`;
}

const serverTls = () => ['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey];

describe('opc-server --tls-cert --tls-key', () => {
  it('answers a command over a TLS handshake made by openssl s_client', async () => {
    const { port } = await startServer(serverTls());
    const { code, stdout } = await sClient(port, ['-quiet'], 'PING\nQUIT\n');
    expect(code).toBe(0);
    expect(stdout).toBe('PONG\nBYE\n');
  });

  it('serves HTTPS on --http-port to curl --cacert', async () => {
    const httpPort = await freePort();
    const { cli } = await startServer([...serverTls(), '--http-port', String(httpPort)]);
    await waitForLog(cli, (l) => l.http === `https://127.0.0.1:${httpPort}/`);
    const { stdout } = await run('curl', [
      '--silent',
      '--show-error',
      '--cacert',
      certs.caCert,
      `https://127.0.0.1:${httpPort}/api/sensors`,
    ]);
    expect(JSON.parse(stdout)).toEqual(expect.objectContaining({ sensors: [] }));
  });

  it('tells a plaintext client on the TCP port that it speaks TLS', async () => {
    const { port } = await startServer(serverTls());
    const socket = createConnection({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.end('GET x\n');
    let text = '';
    for await (const chunk of socket) text += String(chunk);
    expect(text).toBe('ERR tls-required this port speaks TLS; connect with TLS (opc-reader --tls)\n');
  });

  it('with --tls-ca, refuses a client without a certificate and serves one with', async () => {
    const { port } = await startServer([...serverTls(), '--tls-ca', certs.caCert]);
    const without = await sClient(port, ['-quiet'], 'PING\nQUIT\n');
    expect(without.stdout).toBe('');
    expect(without.stderr).toMatch(/certificate required|handshake failure/i);
    const withCert = await sClient(
      port,
      ['-quiet', '-cert', certs.clientCert, '-key', certs.clientKey],
      'PING\nQUIT\n',
    );
    expect(withCert.stdout).toBe('PONG\nBYE\n');
  });

  it('on SIGHUP presents the new certificate to new connections while an open one keeps working', async () => {
    const dir = tempDir();
    const cert = join(dir, 'server.pem');
    const key = join(dir, 'server.key');
    copyFileSync(certs.serverCert, cert);
    copyFileSync(certs.serverKey, key);
    const { cli, port } = await startServer(['--tls-cert', cert, '--tls-key', key]);
    expect(await presentedSubject(port)).toBe('CN = server');
    const old = tls.connect({ host: '127.0.0.1', port, ca: certs.read(certs.caCert) });
    sockets.push(old);
    await once(old, 'secureConnect');
    old.setEncoding('latin1');

    // A reload that fails keeps the certificate in force and says why.
    writeFileSync(key, 'not a key\n');
    cli.child.kill('SIGHUP');
    const refused = await waitForLog(cli, (l) => /not reloaded/.test(l.msg ?? ''));
    expect(refused.msg).toBe(
      `TLS certificate not reloaded, the previous one stays in force: ${key} is not a PEM private key (no BEGIN PRIVATE KEY line)`,
    );
    expect(await presentedSubject(port)).toBe('CN = server');

    copyFileSync(certs.secondCert, cert);
    copyFileSync(certs.secondKey, key);
    cli.child.kill('SIGHUP');
    await waitForLog(cli, (l) => /^TLS certificate reloaded/.test(l.msg ?? ''));
    expect(await presentedSubject(port)).toBe('CN = second');
    old.write('PING\n');
    const [reply] = (await once(old, 'data')) as [string];
    expect(reply).toBe('PONG\n');
    expect((old.getPeerCertificate() as { subject: { CN: string } }).subject.CN).toBe('server');
  });

  it('fails to start with one line and exit 1 when the certificate file is missing', async () => {
    const missing = join(tempDir(), 'nope.pem');
    const cli = startCli(['--tls-cert', missing, '--tls-key', certs.serverKey]);
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toBe(`opc-server: cannot read the TLS certificate file ${missing}: no such file\n`);
    expect(cli.stderr()).not.toMatch(/\n\s+at /);
  });

  it('fails to start with one line and exit 1 when the key is not the certificate’s', async () => {
    const cli = startCli(['--tls-cert', certs.serverCert, '--tls-key', certs.secondKey]);
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toBe(
      `opc-server: the key in ${certs.secondKey} is not the key of the certificate in ${certs.serverCert}\n`,
    );
  });

  it('fails to start with a usage error for --tls-cert without --tls-key', async () => {
    const cli = startCli(['--tls-cert', certs.serverCert]);
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toBe(
      "opc-server: --tls-cert needs --tls-key, the private key of the certificate (see 'opc-server --help')\n",
    );
  });

  it('takes the files from OPC_TLS_CERT and OPC_TLS_KEY', async () => {
    const cli = startCli([], { OPC_TLS_CERT: certs.serverCert, OPC_TLS_KEY: certs.serverKey });
    const line = await waitForLog(cli, (l) => typeof l.tcp === 'string');
    const port = Number(String(line.tcp).split(':').pop());
    expect((await sClient(port, ['-quiet'], 'PING\nQUIT\n')).stdout).toBe('PONG\nBYE\n');
  });
});
