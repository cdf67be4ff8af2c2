/**
 * The CLI fed by real clients no one here wrote (docs/INGEST.md): collectd's write_graphite into
 * --ingest-tcp-port, mosquitto_pub into --mqtt, mosquitto_sub reading --mqtt-publish.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/opc-server.js', import.meta.url));
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
const COLLECTD = '/usr/sbin/collectd';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0).reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opc-ingest-'));
  dirs.push(dir);
  return dir;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function startBroker(): Promise<number> {
  const port = await freePort();
  const conf = join(tempDir(), 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const child = spawn(MOSQUITTO!, ['-c', conf], { stdio: 'ignore' });
  children.push(child);
  await expect.poll(() => canConnect(port), { timeout: 10_000 }).toBe(true);
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Starts the CLI and resolves with its TCP port once it logged that it listens. */
async function startCli(args: string[]): Promise<{ port: number; stderr: () => string }> {
  const child = spawn(
    process.execPath,
    [BIN, '--port', '0', '--http-port', '0', '--memory', '--log-format', 'json', ...args],
    {
      cwd: tempDir(),
      env: { PATH: process.env.PATH ?? '' },
    },
  );
  children.push(child);
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      const match = /"tcp":"127\.0\.0\.1:(\d+)"/.exec(stderr);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`opc-server exited with ${code}: ${stderr}`)));
  });
  return { port, stderr: () => stderr };
}

/** One TCP command, its lines up to END. */
function list(port: number, pattern: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.endsWith('END\n')) {
        socket.end();
        resolve(text.split('\n').filter((l) => l.startsWith('SENSOR ')));
      }
    });
    socket.once('error', reject);
    socket.write(`LIST ${pattern}\n`);
  });
}

describe.runIf(existsSync(COLLECTD))("collectd's write_graphite into --ingest-tcp-port", () => {
  it('feeds sensors named by collectd, by configuration alone', async () => {
    const ingestPort = await freePort();
    const { port } = await startCli(['--ingest-tcp-port', String(ingestPort)]);
    const dir = tempDir();
    const conf = join(dir, 'collectd.conf');
    writeFileSync(
      conf,
      [
        'Hostname "interop"',
        'FQDNLookup false',
        'Interval 1',
        `BaseDir "${dir}"`,
        `PIDFile "${dir}/collectd.pid"`,
        'TypesDB "/usr/share/collectd/types.db"',
        'LoadPlugin load',
        'LoadPlugin memory',
        'LoadPlugin write_graphite',
        '<Plugin write_graphite>',
        '  <Node "opc">',
        '    Host "127.0.0.1"',
        `    Port "${ingestPort}"`,
        '    Protocol "tcp"',
        '    Prefix "collectd."',
        '  </Node>',
        '</Plugin>',
        '',
      ].join('\n'),
    );
    const collectd = spawn(COLLECTD, ['-f', '-C', conf], { stdio: 'ignore' });
    children.push(collectd);
    await expect
      .poll(async () => (await list(port, 'collectd.interop.*')).some((l) => l.includes('collectd.interop.memory.')), {
        timeout: 15_000,
        interval: 200,
      })
      .toBe(true);
    const lines = await list(port, 'collectd.interop.load.*');
    expect(lines.length).toBeGreaterThan(0);
  });
});

describe.runIf(MOSQUITTO !== undefined)('--mqtt and --mqtt-publish against mosquitto', () => {
  it('reads a Tasmota payload, and publishes a UDP reading retained under the prefix', async () => {
    const broker = await startBroker();
    const { port, stderr } = await startCli([
      '--mqtt',
      `mqtt://127.0.0.1:${broker}`,
      '--mqtt-topic',
      'tele/#',
      '--mqtt-publish',
      'opc',
    ]);
    await expect.poll(() => stderr().includes('MQTT connected'), { timeout: 10_000 }).toBe(true);
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker),
      '-t',
      'tele/hall/SENSOR',
      '-m',
      '{"DS18B20":{"Temperature":18.5},"TempUnit":"C"}',
    ]);
    await expect.poll(async () => await list(port, 'tele/*'), { timeout: 10_000 }).toHaveLength(1);
    expect((await list(port, 'tele/*'))[0]).toMatch(/^SENSOR tele\/hall\/SENSOR\/DS18B20\/Temperature 1 \S+ 18\.5$/);
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.send('ramp 0.75', port, '127.0.0.1', () => resolve()));
    udp.close();
    await expect.poll(async () => (await list(port, 'ramp')).length).toBe(1);
    const { stdout } = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker),
      '-t',
      'opc/#',
      '-v',
      '-C',
      '1',
      '-W',
      '10',
    ]);
    expect(stdout.trim()).toBe('opc/ramp 0.75');
  });
});
