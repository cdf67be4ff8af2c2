#!/usr/bin/env node
// `pnpm demo`: a server, a sawtooth sensor and the live dashboard in one
// terminal. The server and the sensor log to files, so nothing garbles the
// dashboard; quitting the dashboard (q) stops the other two.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (app, name) => join(root, 'apps', app, 'bin', `${name}.js`);
const built = (app) => existsSync(join(root, 'apps', app, 'dist', 'cli.js'));

for (const app of ['opc-server', 'sensor', 'reader']) {
  if (!built(app)) {
    process.stderr.write(`demo: apps/${app} is not built yet; run 'pnpm build' first\n`);
    process.exit(1);
  }
}

const logs = join(tmpdir(), 'opc-lite-demo');
mkdirSync(logs, { recursive: true });
const serverLog = join(logs, 'server.log');
const sensorLog = join(logs, 'sensor.log');

const server = spawn(
  process.execPath,
  // History is kept beside the logs, so a second demo shows the first one's readings too.
  [
    bin('opc-server', 'opc-server'),
    ...['--port', '0', '--log-format', 'json', '--stats-interval-ms', '5000', '--data-dir', join(logs, 'data')],
    ...['--http-port', '0'], // no HTTP: the default port (7331) may be taken
  ],
  { stdio: ['ignore', 'ignore', openSync(serverLog, 'w')] },
);

// The server logs its bound port in its first line; wait for it.
const port = await new Promise((resolve, reject) => {
  const deadline = Date.now() + 10_000;
  const look = () => {
    const line = readFileSync(serverLog, 'utf8')
      .split('\n')
      .find((l) => l.includes('"tcp"'));
    if (line) return resolve(Number(JSON.parse(line).tcp.split(':').pop()));
    if (server.exitCode !== null || Date.now() > deadline) {
      return reject(new Error(`the server did not start; see ${serverLog}`));
    }
    setTimeout(look, 50);
  };
  look();
});

// A 2-second sawtooth sampled every 50 ms, and a triangle beside it.
const sensors = [
  ['--name', 'sawtooth', '--period', '2'],
  ['--name', 'triangle', '--period', '4', '--width', '0.5', '--offset', '0.1', '--amplitude', '0.8'],
].map((args) =>
  spawn(process.execPath, [bin('sensor', 'opc-sensor'), '127.0.0.1', String(port), '0.05', ...args], {
    stdio: ['ignore', 'ignore', openSync(sensorLog, 'a')],
  }),
);

const reader = spawn(
  process.execPath,
  [
    bin('reader', 'opc-reader'),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--sub',
    '*',
    '--window',
    '60',
    '--y-min',
    '0',
    '--y-max',
    '1',
  ],
  { stdio: 'inherit' },
);

const stopAll = async () => {
  for (const child of [...sensors, server]) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all([...sensors, server].map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
};
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => reader.kill(signal));

const [code] = await once(reader, 'exit');
await stopAll();
process.stdout.write(`demo: stopped. Server log: ${serverLog}; sensor log: ${sensorLog}\n`);
process.exit(code ?? 0);
