// Scenario 16, InfluxDB line protocol parsed in-process: lines/s of @opc-lite/protocol's parseInfluxLines (the
// built dist/index.js) on Telegraf-shaped lines (a measurement, two tags, two fields, a nanosecond timestamp),
// beside parseDatagram on native lines of the same readings, in the same run. Each measurement runs in its own
// Node process (a `node --input-type=module` child) so that one parser's JIT profile does not colour the other's.
// The http case: readings/s through the built CLI's POST /api/v2/write with 5,000-line bodies (10,000 readings),
// beside POST /api/write with the same readings as native lines, one body at a time.
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { spawn } from 'node:child_process';
import { URL } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pinned, placement, ROOT } from '../lib/servers.mjs';
import { spread } from '../lib/util.mjs';

const CASES = [
  { key: 'lines', label: 'lines', form: 'lines' },
  { key: 'http', label: 'http', form: 'http' },
];
const HTTP_LINES = 5000;

/** One body of `HTTP_LINES` Influx lines (two fields each), or the same readings as native lines. */
function httpBody(influx, round) {
  const lines = [];
  for (let i = 0; i < HTTP_LINES; i++) {
    const n = round * HTTP_LINES + i;
    const host = `h${n % 8}`;
    const v = (n % 1000) / 8;
    if (influx) lines.push(`cpu,host=${host} usage_user=${v},usage_idle=${100 - v}`);
    else lines.push(`cpu/${host}/usage_user ${v}\ncpu/${host}/usage_idle ${100 - v}`);
  }
  return lines.join('\n');
}

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** readings/s through POST /api/v2/write (influx) or POST /api/write (native) of the built CLI, bodies one at a time. */
async function benchHttp(influx, seconds) {
  const dir = mkdtempSync(join(tmpdir(), 'opc-bench-influx-'));
  const httpPort = await freePort();
  const cli = spawn(
    process.execPath,
    [`${ROOT}apps/opc-server/bin/opc-server.js`, '--port', '0', '--http-port', String(httpPort), '--memory'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  cli.stderr.setEncoding('utf8').on('data', (d) => (log += d));
  try {
    const end = Date.now() + 15_000;
    while (!log.includes('page, HTTP API and metrics')) {
      if (Date.now() > end || cli.exitCode !== null) throw new Error(`opc-server did not start: ${log}`);
      await sleep(20);
    }
    const url = `http://127.0.0.1:${httpPort}${influx ? '/api/v2/write?bucket=b&org=o' : '/api/write'}`;
    const bodies = [0, 1, 2, 3].map((r) => httpBody(influx, r));
    let readings = 0;
    let rejects = 0;
    let bytes = 0;
    const started = performance.now();
    const stopAt = started + seconds * 1000;
    for (let round = 0; performance.now() < stopAt; round++) {
      const body = bodies[round % bodies.length];
      const res = await globalThis.fetch(url, { method: 'POST', body });
      await res.arrayBuffer();
      if (res.status >= 300) rejects++;
      readings += HTTP_LINES * 2;
      bytes += body.length;
    }
    const s = (performance.now() - started) / 1000;
    return {
      lines: readings / (influx ? 2 : 1),
      linesPerS: readings / (influx ? 2 : 1) / s,
      readingsPerS: readings / s,
      bytesPerS: bytes / s,
      rejects,
    };
  } finally {
    const exited = new Promise((resolve) => cli.once('exit', resolve));
    cli.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The child: builds 1,000 bodies of 100 lines, parses them round after round for `seconds`, prints one JSON line. */
const CHILD = String.raw`
const { parseDatagram, parseInfluxLines, NameCache } = await import(process.argv[1]);
const impl = process.argv[2];
const seconds = Number(process.argv[3]);
const bodies = [];
let n = 0;
for (let b = 0; b < 1000; b++) {
  const lines = [];
  for (let i = 0; i < 100; i++, n++) {
    const host = 'h' + (n % 8), cpu = 'cpu' + (n % 4), v = (n % 1000) / 8, ts = 1764316800000000000n + BigInt(n) * 1000000n;
    lines.push(impl === 'influx'
      ? 'cpu,host=' + host + ',cpu=' + cpu + ' usage_user=' + v + ',usage_idle=' + (100 - v) + ' ' + ts
      : 'cpu/' + host + '/' + cpu + '/usage_user ' + v + ' ' + (1764316800 + n / 1000).toFixed(3) + '\ncpu/' + host + '/' + cpu + '/usage_idle ' + (100 - v) + ' ' + (1764316800 + n / 1000).toFixed(3));
  }
  bodies.push(Buffer.from(lines.join('\n')));
}
let readings = 0, rejects = 0, sum = 0, bytes = 0;
const sink = { reading: (_n, v) => { readings++; sum += v; }, reject: () => { rejects++; }, ignored: () => {} };
const nameCache = new NameCache();
const influxOptions = { nameCache };
const nativeOptions = { nameCache, maxLineBytes: 1024 };
const end = performance.now() + seconds * 1000;
let lines = 0;
const started = performance.now();
while (performance.now() < end) {
  for (const body of bodies) {
    if (impl === 'influx') parseInfluxLines(body, sink, influxOptions);
    else parseDatagram(body, sink, nativeOptions);
    bytes += body.length;
  }
  lines += impl === 'influx' ? 100_000 : 200_000;
}
const s = (performance.now() - started) / 1000;
console.log(JSON.stringify({ lines, linesPerS: lines / s, readingsPerS: readings / s, bytesPerS: bytes / s, rejects, readings }));
`;

function bench(impl, seconds) {
  return new Promise((resolve, reject) => {
    const dist = new URL('packages/protocol/dist/index.js', `file://${ROOT}`).href;
    const args = ['--input-type=module', '-e', CHILD, dist, impl, String(seconds)];
    const [cmd, argv] = pinned(process.execPath, args, placement.serverCpu);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), seconds * 1000 + 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (e) {
        reject(new Error(`influx parser bench ${impl} failed: ${e.message}\n${err}`));
      }
    });
  });
}

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 16,
  slug: 'influx-parser',
  title: 'InfluxDB line protocol: parseInfluxLines in-process, and POST /api/v2/write; beside native lines',
  servers: ['opc-lite', 'native'],
  primary: 'readings_per_s',
  cases: () => CASES,
  start: async (kind) => ({ kind, port: 0, stop: async () => {} }),
  async measure({ server, kase, ctx }) {
    const influx = server.kind === 'opc-lite';
    const r =
      kase.key === 'http'
        ? await benchHttp(influx, ctx.seconds)
        : await bench(influx ? 'influx' : 'native', ctx.seconds);
    return {
      lines: r.lines,
      lines_per_s: r.linesPerS,
      readings_per_s: r.readingsPerS,
      mb_per_s: r.bytesPerS / 1e6,
      rejects: r.rejects,
    };
  },
  line(kase, r, order) {
    const names = { 'opc-lite': 'influx', native: 'native' };
    return `${kase.label.padEnd(7)} ${order
      .filter((k) => r[k])
      .map(
        (k) =>
          `${names[k] ?? k} ${spread(r[k].readings_per_s)} readings/s, ${spread(r[k].lines_per_s)} lines/s (${r[k].mb_per_s.median.toFixed(0)} MB/s)`,
      )
      .join(' | ')}`;
  },
  check: (m) => (m.lines > 0 && m.rejects === 0 ? undefined : `lines ${m.lines}, rejects ${m.rejects}`),
};
