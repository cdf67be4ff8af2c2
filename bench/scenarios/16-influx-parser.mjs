// Scenario 16, InfluxDB line protocol parsed in-process: lines/s of @opc-lite/protocol's parseInfluxLines (the
// built dist/index.js) on Telegraf-shaped lines (a measurement, two tags, two fields, a nanosecond timestamp),
// beside parseDatagram on native lines of the same readings, in the same run. Each measurement runs in its own
// Node process (a `node --input-type=module` child) so that one parser's JIT profile does not colour the other's.
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { spawn } from 'node:child_process';
import { URL } from 'node:url';
import { pinned, placement, ROOT } from '../lib/servers.mjs';
import { spread } from '../lib/util.mjs';

const CASES = [{ key: 'lines', label: 'lines', form: 'lines' }];

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
  title: 'InfluxDB line protocol (in-process): readings/s of parseInfluxLines beside parseDatagram on native lines',
  servers: ['opc-lite', 'native'],
  primary: 'readings_per_s',
  cases: () => CASES,
  start: async (kind) => ({ kind, port: 0, stop: async () => {} }),
  async measure({ server, ctx }) {
    const r = await bench(server.kind === 'opc-lite' ? 'influx' : 'native', ctx.seconds);
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
