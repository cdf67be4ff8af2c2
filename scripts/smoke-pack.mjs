#!/usr/bin/env node
// Proves that what we publish installs and works outside the workspace:
// `pnpm pack` every package and app, install the tarballs with plain npm into
// an empty folder, use every library through both `import` (ESM) and
// `require` (CJS), and run every CLI from node_modules/.bin against each other
// on loopback.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const work = mkdtempSync(join(tmpdir(), 'opc-lite-smoke-'));
const keep = process.argv.includes('--keep');
const step = (text) => process.stdout.write(`smoke: ${text}\n`);
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const assert = (ok, what) => {
  if (!ok) throw new Error(`smoke check failed: ${what}`);
};

// The same checks run under `import` and `require`: `load` is the only difference.
const CHECKS = String.raw`
const assert = (ok, what) => { if (!ok) throw new Error('check failed: ' + what); };
(async () => {
  const protocol = await load('@opc-lite/protocol');
  const parsed = protocol.parseDatagramToArray(new TextEncoder().encode('0.35\nramp 1.5 1764316800.125 7'));
  assert(parsed.readings.length === 2 && parsed.readings[1].timestampMs === 1764316800125, 'protocol parses a datagram');
  assert(protocol.formatValue(undefined) === 'nan', 'protocol formats nan');

  const { RingBuffer, Float64RingBuffer } = await load('@opc-lite/ring-buffer');
  const ring = new RingBuffer(2); ring.push(1); ring.push(2); ring.push(3);
  assert(ring.toArray().join() === '2,3' && ring.overwritten === 1, 'RingBuffer overwrites the oldest');
  const f64 = new Float64RingBuffer(3); f64.push(0.5);
  assert(f64.at(-1) === 0.5, 'Float64RingBuffer stores a value');

  const { sawtooth } = await load('@opc-lite/sawtooth-generator');
  assert(sawtooth(250) === 0.25, 'sawtooth is a rising ramp by default');

  const { createOpcServer } = await load('@opc-lite/opc-server');
  const { connect } = await load('@opc-lite/reader-client');
  const server = createOpcServer({ port: 0 });
  const address = await server.listen();
  const client = await connect({ host: '127.0.0.1', port: address.tcpPort });
  assert(Number.isNaN(await client.poll()), 'a poll before any reading is nan');
  await client.close();
  const { startWebServer } = await load('@opc-lite/web');
  const web = await startWebServer(server, { port: 0 });
  const page = await fetch(web.url);
  assert(page.status === 200 && (await page.text()).includes('<title>opc-lite</title>'), 'web serves the page it ships');
  assert((await fetch(web.url + 'healthz')).status === 200, 'web answers /healthz');
  await web.close();
  await server.close();

  const tui = await load('@opc-lite/reader-client/tui');
  assert(typeof tui.createChart === 'function' && typeof tui.createDashboard === 'function', 'tui exports the chart');

  const cluster = await load('@opc-lite/cluster-nats');
  const batch = cluster.decodeBatch(cluster.encodeBatch('node-a', 1, [{ name: 'ramp', value: 0.5, timestampMs: 1764316800000, senderSeq: 3 }]));
  assert(batch.origin === 'node-a' && batch.names[0] === 'ramp' && batch.senderSeqs[0] === 3, 'cluster-nats round-trips a batch');
  assert(typeof cluster.attachCluster === 'function', 'cluster-nats exports attachCluster');

  const mqtt = await load('@opc-lite/mqtt');
  assert(typeof mqtt.startMqttBridge === 'function' && mqtt.MQTT_BRIDGE_DEFAULTS.topics[0] === '#', 'mqtt exports startMqttBridge');
  console.log('  every package loads and works');
})().catch((err) => { console.error(err); process.exit(1); });
`;

const dirs = ['packages', 'apps'].flatMap((top) =>
  readdirSync(join(root, top), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(root, top, d.name)),
);
const publishable = dirs
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private);

/** A tarball must ship the license and the build: `pnpm pack` runs each package's prepack build. */
function checkTarball(pkg, file) {
  const entries = run('tar', ['-tzf', file], root).split('\n');
  assert(entries.includes('package/LICENSE'), `${pkg.name}'s tarball contains LICENSE`);
  // Each package keeps a copy of the root LICENSE: the copy must not drift.
  assert(
    run('tar', ['-xOzf', file, 'package/LICENSE'], root) === readFileSync(join(root, 'LICENSE'), 'utf8'),
    `${pkg.name}'s LICENSE is the repository's LICENSE`,
  );
  assert(
    entries.some((e) => e.startsWith('package/dist/') && e.endsWith('.js')),
    `${pkg.name}'s tarball contains dist/`,
  );
}

/** Every subpath a library exports, as a consumer would import it (`./package.json` aside). */
const entryPoints = () =>
  publishable
    .filter(({ pkg }) => pkg.exports !== undefined)
    .flatMap(({ pkg }) =>
      Object.keys(pkg.exports)
        .filter((sub) => sub !== './package.json')
        .map((sub) => (sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`)),
    );

/**
 * Type-checks a consumer that imports every entry point, from ESM and from CJS,
 * with the strictest common settings and skipLibCheck off: a broken `.d.ts` of
 * ours, or a third-party one that ours drags in, fails here as it would for a user.
 */
function typecheckConsumer(app) {
  const entries = entryPoints();
  const imports = entries.map((name, i) => `import * as e${i} from '${name}';`).join('\n');
  const uses = `export const all = [${entries.map((_, i) => `e${i}`).join(', ')}];\n`;
  writeFileSync(join(app, 'consumer.mts'), `${imports}\n${uses}`);
  writeFileSync(join(app, 'consumer.cts'), `${imports}\n${uses}`);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        noEmit: true,
        skipLibCheck: false,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        types: ['node'],
      },
      files: ['consumer.mts', 'consumer.cts'],
    }),
  );
  // The consumer's own @types/node, from the registry as a user would have it; the workspace's compiler.
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--no-save', '@types/node@20'], app);
  try {
    run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], app);
  } catch (err) {
    process.stdout.write(err.stdout ?? '');
    throw new Error('smoke check failed: a consumer type-checks every entry point without skipLibCheck');
  }
  step(`  ${entries.length} entry points type-check from ESM and CJS: ${entries.join(', ')}`);
}

/** Starts a process and collects its output; `stop()` sends a signal and resolves with the exit code. */
const children = [];
function start(cmd, args, cwd) {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = once(child, 'exit').then(([code]) => code);
  return { child, out, exited };
}

async function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(fn, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What the original lector does: connect, send `n`, read one line, close. */
async function pollN(port) {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.write('n');
  let text = '';
  for await (const chunk of socket) {
    text += chunk;
    if (text.includes('\n')) break;
  }
  socket.destroy();
  return text;
}

/** Sends one command and reads its reply up to the END line. */
async function query(port, command) {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.write(command);
  let text = '';
  for await (const chunk of socket) {
    text += chunk;
    if (/(^|\n)(END|ERR [^\n]*)\n$/.test(text)) break;
  }
  socket.destroy();
  return text;
}

async function checkClis(app) {
  const bin = (name) => join(app, 'node_modules', '.bin', name);
  for (const name of ['opc-server', 'opc-sensor', 'opc-reader']) {
    const version = run(bin(name), ['--version'], app).trim();
    assert(/^\d+\.\d+\.\d+/.test(version), `${name} --version prints a version (got '${version}')`);
  }

  const dataDir = join(work, 'opc-data');
  const startServer = async (port) => {
    const child = start(
      bin('opc-server'),
      // No HTTP: the default port (7331) may be taken.
      [
        ...['--port', String(port), '--http-port', '0', '--log-format', 'json'],
        ...['--stats-interval-ms', '0', '--data-dir', dataDir],
      ],
      app,
    );
    const line = await waitFor(
      () =>
        child.out.stderr
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
          .find((l) => l.tcp),
      'opc-server start line',
    );
    return { child, started: line };
  };
  const { child: server, started } = await startServer(0);
  const port = Number(started.tcp.split(':').pop());
  step(`  opc-server listening on ${started.tcp}, UDP buffer ${started.recvBufferBytes} bytes`);

  const udp = createSocket('udp4');
  udp.send('0.35', port, '127.0.0.1');
  await waitFor(async () => (await pollN(port)) === '0.35\n', 'a bare-float datagram read back with n');
  udp.close();
  assert((await pollN(port)) === '0.35\n', 'n answers the last bare float');
  step('  a bare float sent by UDP is read back with n');

  const sensor = start(bin('opc-sensor'), ['127.0.0.1', String(port), '0.01', '--count', '20', '--name', 'smoke'], app);
  assert((await within(15_000, sensor.exited, 'opc-sensor --count 20')) === 0, 'opc-sensor exits 0');
  const reader = start(
    bin('opc-reader'),
    [
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--sensor',
      'smoke',
      '--interval',
      '0.1',
      '--plain',
      '--count',
      '1',
    ],
    app,
  );
  assert((await within(15_000, reader.exited, 'opc-reader --plain')) === 0, 'opc-reader exits 0');
  assert(
    / smoke [\d.e-]+ 20\n$/.test(reader.out.stdout),
    `opc-reader prints the 20th reading (got '${reader.out.stdout.trim()}')`,
  );
  step('  opc-sensor sends 20 readings and opc-reader prints them');

  server.child.kill('SIGTERM');
  assert((await within(15_000, server.exited, 'opc-server SIGTERM')) === 0, 'opc-server exits 0 on SIGTERM');
  assert(/summary/.test(server.out.stderr), 'opc-server logs a summary on exit');
  step('  opc-server exits 0 with a summary on SIGTERM');

  // What it was sent is still there after a restart, and after a kill -9.
  const again = await startServer(port);
  assert((await pollN(port)) === '0.35\n', 'n answers the last bare float after a restart');
  const hist = await query(port, 'HIST smoke 20\n');
  assert(
    hist.split('\n').filter((l) => l.startsWith('VAL smoke ')).length === 20,
    `HIST keeps 20 readings (got ${hist})`,
  );
  again.child.child.kill('SIGKILL');
  await within(15_000, again.child.exited, 'opc-server SIGKILL');
  const third = await startServer(port);
  const range = await query(port, 'RANGE smoke 0 now\n');
  assert(
    range.split('\n').filter((l) => l.startsWith('VAL smoke ')).length === 20,
    `RANGE keeps 20 readings (got ${range})`,
  );
  third.child.child.kill('SIGTERM');
  assert((await within(15_000, third.child.exited, 'opc-server SIGTERM')) === 0, 'opc-server exits 0 on SIGTERM');
  step(`  history in ${dataDir} survives a restart and a kill -9 (n, HIST, RANGE)`);
}

try {
  const tarballs = {};
  for (const { dir, pkg } of publishable) {
    // pnpm pack rewrites workspace:^ ranges to real versions, as publishing does.
    const out = run('pnpm', ['pack', '--pack-destination', work], dir).trim().split('\n').pop();
    tarballs[pkg.name] = resolve(dir, out);
    checkTarball(pkg, tarballs[pkg.name]);
    step(`packed ${pkg.name}: LICENSE and dist/ inside`);
  }

  const app = join(work, 'app');
  mkdirSync(app);
  const refs = Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`]));
  // overrides make npm take our tarballs for the packages' own dependencies too, never the registry.
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'smoke', private: true, dependencies: refs, overrides: refs }, null, 2),
  );
  step('npm install the tarballs into an empty folder');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], app);

  writeFileSync(join(app, 'check.mjs'), `const load = (name) => import(name);\n${CHECKS}`);
  writeFileSync(join(app, 'check.cjs'), `const load = async (name) => require(name);\n${CHECKS}`);
  step('ESM: import every package');
  process.stdout.write(run('node', ['check.mjs'], app));
  step('CJS: require every package');
  process.stdout.write(run('node', ['check.cjs'], app));

  step('TypeScript: a strict consumer of every public entry point, without skipLibCheck');
  typecheckConsumer(app);

  step('CLIs from node_modules/.bin');
  await checkClis(app);
  step('all good');
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (keep) step(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
