// Scenario 15, MQTT in: one mosquitto_pub publishing numeric payloads through a mosquitto broker on 127.0.0.1, and
// the readings/s that reach opc-lite's store (the built CLI with --mqtt, counted by STATS ingest_mqtt_accepted),
// against mosquitto's own delivery of the same stream to a mosquitto_sub, in the same run. Each run starts its own
// broker on a free port, with its config in a temp dir.
import process from 'node:process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from '../lib/servers.mjs';
import { spread } from '../lib/util.mjs';

const MESSAGES = 100_000;
const CASES = [{ key: 'numeric', label: 'numeric', messages: MESSAGES }];
const DEADLINE_MS = 60_000;

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function connectable(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function waitFor(what, check) {
  const end = Date.now() + DEADLINE_MS;
  while (Date.now() < end) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function stat(port, key) {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let text = '';
    s.setEncoding('utf8').on('data', (d) => {
      text += d;
      if (text.endsWith('END\n')) {
        s.end();
        const m = new RegExp(`^STAT ${key} (\\d+)$`, 'm').exec(text);
        resolve(m ? Number(m[1]) : 0);
      }
    });
    s.once('error', reject);
    s.write('STATS\n');
  });
}

async function startBroker(dir) {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  await waitFor('mosquitto', () => connectable(port));
  return { port, child };
}

function publish(port, messages) {
  const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'bench/s', '-l'], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const lines = [];
  for (let i = 0; i < messages; i++) lines.push(String((i % 1000) / 8));
  child.stdin.end(lines.join('\n') + '\n');
  return new Promise((resolve) => child.once('exit', resolve));
}

const stop = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 15,
  slug: 'mqtt-in',
  title: 'MQTT in: readings/s from mosquitto into the store, against mosquitto delivering to a mosquitto_sub',
  servers: ['opc-lite', 'mosquitto_sub'],
  primary: 'readings_per_s',
  cases: () => CASES,
  start: async (kind) => ({ kind, port: 0, stop: async () => {} }),
  async measure({ server, kase }) {
    const dir = mkdtempSync(join(tmpdir(), 'opc-bench-mqtt-'));
    const broker = await startBroker(dir);
    const children = [broker.child];
    try {
      let done;
      if (server.kind === 'opc-lite') {
        const cli = spawn(
          process.execPath,
          [
            `${ROOT}apps/opc-server/bin/opc-server.js`,
            '--port',
            '0',
            '--http-port',
            '0',
            '--memory',
            '--log-format',
            'json',
            '--mqtt',
            `mqtt://127.0.0.1:${broker.port}`,
            '--mqtt-topic',
            'bench/#',
          ],
          { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
        );
        children.push(cli);
        let log = '';
        cli.stderr.setEncoding('utf8').on('data', (d) => (log += d));
        const tcp = await waitFor('opc-server', () => /"tcp":"127\.0\.0\.1:(\d+)"/.exec(log)?.[1]);
        await waitFor('the MQTT subscription', () => log.includes('MQTT connected'));
        await sleep(100); // the SUBACK follows the log line
        const started = performance.now();
        await publish(broker.port, kase.messages);
        done = await waitFor('the readings', async () => {
          const n = await stat(Number(tcp), 'ingest_mqtt_accepted');
          return n >= kase.messages ? { n, ms: performance.now() - started } : undefined;
        });
      } else {
        const sub = spawn(
          'mosquitto_sub',
          ['-h', '127.0.0.1', '-p', String(broker.port), '-t', 'bench/#', '-C', String(kase.messages)],
          {
            stdio: ['ignore', 'ignore', 'inherit'],
          },
        );
        children.push(sub);
        await sleep(300); // connected and subscribed
        const exited = new Promise((resolve) => sub.once('exit', resolve));
        const started = performance.now();
        await publish(broker.port, kase.messages);
        await Promise.race([
          exited,
          sleep(DEADLINE_MS).then(() => Promise.reject(new Error('mosquitto_sub timed out'))),
        ]);
        done = { n: kase.messages, ms: performance.now() - started };
      }
      return { readings: done.n, readings_per_s: (done.n * 1000) / done.ms };
    } finally {
      for (const child of children.reverse()) await stop(child);
      rmSync(dir, { recursive: true, force: true });
    }
  },
  line(kase, r, order) {
    return `${kase.label.padEnd(7)} ${order
      .filter((k) => r[k])
      .map((k) => `${k} ${spread(r[k].readings_per_s)} readings/s`)
      .join(' | ')}`;
  },
  check: (m) => (m.readings > 0 ? undefined : `readings ${m.readings}`),
};
