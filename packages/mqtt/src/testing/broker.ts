/**
 * A mosquitto broker for tests: 127.0.0.1, a free port, its config in a temp dir; `stop()` and `start()` again.
 * With `tls`, the listener is TLS with that certificate and key (see `makeCertificates`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** PEM files in a directory: a CA, and a certificate it signed for 127.0.0.1 (IP subjectAltName) with its key. */
export interface Certificates {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Makes a throw-away CA and a server certificate for 127.0.0.1 in `dir`, with openssl. */
export async function makeCertificates(dir: string): Promise<Certificates> {
  const file = (name: string): string => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=opc test CA',
  ]);
  await openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    file('server.ext'),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  ]);
  // mosquitto started as root reads these after dropping to its own user: a throw-away key may be world-readable.
  chmodSync(dir, 0o755);
  for (const name of ['ca.pem', 'server.pem', 'server.key']) chmodSync(file(name), 0o644);
  return { ca: file('ca.pem'), cert: file('server.pem'), key: file('server.key') };
}

export class Broker {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'opc-mqtt-'));
  readonly #tls: Certificates | undefined;
  #child: ChildProcess | undefined;
  port = 0;

  constructor(options: { tls?: Certificates } = {}) {
    this.#tls = options.tls;
  }

  get url(): string {
    return `${this.#tls === undefined ? 'mqtt' : 'mqtts'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (MOSQUITTO === undefined) throw new Error('mosquitto is not installed (.ci/run installs it)');
    if (this.port === 0) this.port = await freePort();
    const conf = path.join(this.dir, 'mosquitto.conf');
    const tls = this.#tls;
    const tlsLines = tls === undefined ? '' : `cafile ${tls.ca}\ncertfile ${tls.cert}\nkeyfile ${tls.key}\n`;
    writeFileSync(conf, `listener ${this.port} 127.0.0.1\n${tlsLines}allow_anonymous true\npersistence false\n`);
    const child = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    this.#child = child;
    for (let i = 0; i < 200; i++) {
      if (await canConnect(this.port)) return;
      if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('mosquitto did not start listening');
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
