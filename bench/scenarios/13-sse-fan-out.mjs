// Scenario 13, SSE fan-out: one sensor at 1,000 readings/s (udp_send, one
// native line per datagram carrying its send time and a sender seq) streamed
// to 100 clients of `GET /api/stream?pattern=<name>`. Readings delivered per
// second (all clients together), seq gaps, streams dropped, and delivery
// latency (receipt − send time, p50/p99/max).
//
// Against the TCP path in the same run: the same load to 100 `SUB <name> 0`
// clients of another server started alike. Both sets of clients are the same
// Node code (bench/stream-clients.mjs, one process on the load generators'
// core), so the ratio is the server's paths, not two client implementations.
import process from 'node:process';
import { spawn } from 'node:child_process';
import { clearTimeout, setTimeout } from 'node:timers';
import { runTool } from '../lib/loadgen.mjs';
import { pinned, placement, ROOT } from '../lib/servers.mjs';
import { micros, poll, si, spread } from '../lib/util.mjs';
import { startWebServer } from '../lib/web.mjs';

const RATE = 1000;
const CLIENTS = 100;

/** Starts bench/stream-clients.mjs; resolves once its clients connected, with `result` (their report). */
function startClients(args, timeoutMs) {
  return new Promise((resolveStart, rejectStart) => {
    const [cmd, argv] = pinned(
      process.execPath,
      [`${ROOT}bench/stream-clients.mjs`, ...args.map(String)],
      placement.loadCpu,
    );
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let started = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const result = new Promise((resolve, reject) => {
      child.on('close', (code) => {
        clearTimeout(timer);
        try {
          if (code !== 0) throw new Error(`exit ${code}`);
          resolve(JSON.parse(out.trim().split('\n').pop()));
        } catch (e) {
          const failure = new Error(`stream-clients ${args.join(' ')} failed: ${e.message}\n${err}`);
          if (started) reject(failure);
          else rejectStart(failure);
        }
      });
    });
    child.stdout.on('data', (d) => {
      out += d;
      if (!started && out.startsWith('ready\n')) {
        started = true;
        resolveStart({ result });
      }
    });
    child.stderr.on('data', (d) => (err += d));
  });
}

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 13,
  slug: 'sse-fan-out',
  title: `SSE fan-out: one sensor at ${si(RATE)} readings/s to ${CLIENTS} streams, readings delivered/s and latency, against TCP SUB`,
  servers: ['sse', 'tcp-sub'],
  primary: 'delivered_per_s',
  cases: (ctx) =>
    ctx.smoke
      ? [{ key: '10-clients', label: '10 clients', clients: 10 }]
      : [{ key: `${CLIENTS}-clients`, label: `${CLIENTS} clients`, clients: CLIENTS }],
  extraRatios: () => ['latency_p99_us'],
  async start(kind) {
    const server = await startWebServer();
    return { ...server, kind };
  },
  async measure({ server, kase, ctx, rep }) {
    const name = `fan.${rep}`;
    const count = Math.max(1, Math.round(RATE * ctx.seconds));
    const mode = server.kind === 'sse' ? 'sse' : 'tcp';
    const before = await server.stats();
    const { result } = await startClients(
      ['--mode', mode, '--port', mode === 'sse' ? server.httpPort : server.port, '--name', name]
        .concat(['--clients', kase.clients, '--count', count, '--timeout-s', ctx.seconds + 20])
        .concat(['--idle-ms', ctx.smoke ? 500 : 1500]),
      (ctx.seconds + 30) * 1000,
    );
    // Every client is subscribed before the first reading is sent.
    const subscribed = await poll(
      async () => (await server.stats()).subscriptions - before.subscriptions >= kase.clients,
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    if (!subscribed) throw new Error(`${mode}: ${kase.clients} clients did not all subscribe within 10 s`);
    const cpu = server.cpuSeconds();
    const sent = await runTool(
      'udp_send',
      ['-p', server.port, '-r', RATE, '-n', count, '-t', ctx.seconds + 5, '-f', 'native', '-P', name, '-T', '-S'],
      { timeoutMs: (ctx.seconds + 15) * 1000 },
    );
    const clients = await result;
    const after = await server.stats();
    const windowS = Math.max(clients.window_s, sent.elapsed_s);
    return {
      sent: sent.readings,
      stored: after.readings_accepted - before.readings_accepted,
      received: clients.received,
      delivered_per_s: clients.received / windowS,
      missing: sent.readings * kase.clients - clients.received,
      gaps: clients.gaps,
      closed: clients.closed,
      latency_p50_us: clients.latency_p50_us,
      latency_p99_us: clients.latency_p99_us,
      latency_max_us: clients.latency_max_us,
      server_cpu_pct: (100 * (server.cpuSeconds() - cpu)) / windowS,
      client_cpu_pct: (100 * clients.cpu_s) / windowS,
    };
  },
  line(kase, r, order) {
    const parts = order
      .filter((k) => r[k])
      .map((k) => {
        const m = r[k];
        return (
          `${k} ${spread(m.delivered_per_s)}/s, missing ${si(m.missing.max)}, closed ${m.closed.max}, ` +
          `latency p50 ${micros(m.latency_p50_us.median)} p99 ${spread(m.latency_p99_us, micros)}, ` +
          `cpu ${Math.round(m.server_cpu_pct.median)}/${Math.round(m.client_cpu_pct.median)}%`
        );
      });
    return `${kase.label.padEnd(11)} ${parts.join(' | ')}`;
  },
  check: (m) => (m.received > 0 ? undefined : `no reading delivered (sent ${m.sent}, stored ${m.stored})`),
};
