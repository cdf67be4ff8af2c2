// Scenario 17, cluster: three opc-lite nodes A, B, C (`--nats`, `--memory`)
// on a 3-node NATS JetStream cluster (real nats-servers on 127.0.0.1, the
// stream at R3; docs/CLUSTER.md), against one opc-lite alone (`--memory`).
//
// "ingest": scenario 2's flat-out load (native lines, 50 a datagram) sent to
// node A. Readings applied per second on every node (the lowest of the three
// nodes' `cluster_applied`, until all three have stopped applying), against
// readings stored per second by the server alone.
//
// "latency": one sensor paced at 1,000 readings/s to node A, each line
// carrying its send time; delivery latency p50/p99 to a `SUB` on node C and,
// in the same run, to one on node A itself (and to one on the server alone).
//
// Each repeat starts a fresh NATS cluster (its directory removed afterwards)
// and fresh nodes.
import { pathToFileURL } from 'node:url';
import { runTool, startSubscribers, toolCpuPct } from '../lib/loadgen.mjs';
import { ROOT, startServer } from '../lib/servers.mjs';
import { drained } from '../lib/drain.mjs';
import { delay, micros, percent, poll, si, spread } from '../lib/util.mjs';

const RATE = 1000;
const NODES = ['a', 'b', 'c'];

let testing;
/** startNatsCluster from the built @opc-lite/cluster-nats (`pnpm bench` builds it with the server). */
async function natsCluster() {
  testing ??= await import(pathToFileURL(`${ROOT}packages/cluster-nats/dist/testing.js`).href);
  return testing.startNatsCluster({ nodes: 3, readyTimeoutMs: 30_000 });
}

/** The three nodes on a new NATS cluster; `stats()` and `port` are node A's. */
async function startCluster() {
  const nats = await natsCluster();
  const nodes = [];
  try {
    for (const name of NODES) {
      nodes.push(
        await startServer('opc-lite', {
          extraArgs: ['--nats', nats.urls.join(','), '--node-name', name, '--nats-replicas', '3'],
        }),
      );
    }
    const connected = await poll(
      async () => (await Promise.all(nodes.map((n) => n.stats()))).every((s) => s.cluster_state === 2),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    if (!connected) throw new Error('the cluster nodes did not all connect to NATS within 30 s');
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    await nats.close();
    throw err;
  }
  const [a] = nodes;
  return {
    ...a,
    kind: 'cluster',
    nodes,
    stop: async () => {
      try {
        await Promise.all(nodes.map((n) => n.stop()));
      } finally {
        await nats.close();
      }
    },
  };
}

/**
 * Waits until every node's `cluster_applied` has not moved for `quietMs` (at most `timeoutMs`):
 * `{ at, stats }`, the time of the last change seen and each node's last STATS.
 */
async function appliedEverywhere(nodes, { quietMs = 300, timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = await Promise.all(nodes.map((n) => n.stats()));
  let at = Date.now();
  while (Date.now() < deadline && Date.now() - at < quietMs) {
    await delay(20);
    const now = await Promise.all(nodes.map((n) => n.stats()));
    const moved = now.some((s, i) => s.cluster_applied !== last[i].cluster_applied || s.cluster_backlog > 0);
    if (moved) at = Date.now();
    last = now;
  }
  return { at, stats: last };
}

async function ingest({ server, ctx, rep }) {
  const nodes = server.nodes ?? [server];
  const before = await Promise.all(nodes.map((n) => n.stats()));
  const cpu = nodes.map((n) => n.cpuSeconds());
  const sent = await runTool(
    'udp_send',
    ['-p', server.port, '-r', 0, '-t', ctx.seconds, '-f', 'native', '-s', 8, '-P', `c${rep}`, '-T', '-S', '-b', 50],
    { timeoutMs: ctx.seconds * 1000 + 10_000 },
  );
  let doneAt;
  let after;
  let applied;
  if (server.nodes) {
    ({ at: doneAt, stats: after } = await appliedEverywhere(nodes));
    applied = Math.min(...after.map((s, i) => s.cluster_applied - before[i].cluster_applied));
  } else {
    doneAt = (await drained(server)).at;
    after = [await server.stats()];
    applied = after[0].readings_accepted - before[0].readings_accepted;
  }
  const windowS = Math.max(sent.elapsed_s, (doneAt - sent.start_real_ms) / 1000);
  const [a0, a1] = [before[0], after[0]];
  return {
    sent: sent.readings,
    accepted: a1.readings_accepted - a0.readings_accepted,
    applied,
    readings_per_s: applied / windowS,
    loss_pct: (100 * (sent.readings - applied)) / sent.readings,
    dropped: server.nodes ? a1.cluster_dropped - a0.cluster_dropped : 0,
    publish_errors: server.nodes ? a1.cluster_publish_errors - a0.cluster_publish_errors : 0,
    // Every server process's CPU together (the nats-servers not counted), in % of one core.
    server_cpu_pct: (100 * nodes.reduce((sum, n, i) => sum + n.cpuSeconds() - cpu[i], 0)) / windowS,
    sender_cpu_pct: toolCpuPct(sent, sent.elapsed_s),
  };
}

async function latency({ server, ctx, rep }) {
  const name = `lat.${rep}`;
  const count = Math.max(50, Math.round(RATE * ctx.seconds));
  const idleMs = ctx.smoke ? 1000 : 2000;
  const far = server.nodes ? server.nodes[2] : undefined;
  const subArgs = (port) => ['-p', port, '-P', name, '-c', 1, '-e', count, '-t', ctx.seconds + 20, '-i', idleMs];
  const opts = { timeoutMs: (ctx.seconds + 30) * 1000 };
  const local = await startSubscribers(subArgs(server.port), opts);
  const remote = far ? await startSubscribers(subArgs(far.port), opts) : undefined;
  const sent = await runTool(
    'udp_send',
    ['-p', server.port, '-r', RATE, '-n', count, '-t', ctx.seconds + 5, '-f', 'native', '-P', name, '-T', '-S'],
    { timeoutMs: (ctx.seconds + 15) * 1000 },
  );
  const own = await local.result;
  const other = remote ? await remote.result : own;
  return {
    sent: sent.readings,
    received_a: own.received,
    received_c: other.received,
    missing: sent.readings - Math.min(own.received, other.received),
    latency_p50_us: other.latency_p50_us,
    latency_p99_us: other.latency_p99_us,
    latency_max_us: other.latency_max_us,
    latency_a_p50_us: own.latency_p50_us,
    latency_a_p99_us: own.latency_p99_us,
  };
}

const CASES = [
  { key: 'ingest', label: 'ingest 50 lines', run: ingest },
  { key: 'latency', label: `latency ${si(RATE)}/s`, run: latency },
];

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 17,
  slug: 'cluster',
  title:
    'cluster: 3 nodes on 3 nats-servers (R3) against one server alone, readings applied/s on every node, ' +
    `and SUB latency on node C against node A at ${si(RATE)} readings/s`,
  servers: ['cluster', 'alone'],
  primary: 'readings_per_s',
  cases: () => CASES,
  extraRatios: (kase) => (kase.key === 'latency' ? ['latency_p50_us', 'latency_p99_us'] : []),
  start: (kind) => (kind === 'cluster' ? startCluster() : startServer('opc-lite').then((s) => ({ ...s, kind }))),
  measure: (args) => args.kase.run(args),
  line(kase, r, order) {
    const parts = order
      .filter((k) => r[k])
      .map((k) => {
        const m = r[k];
        if (kase.key === 'ingest') {
          const drops = k === 'cluster' ? ` backlog-dropped ${si(m.dropped.median)}` : '';
          return (
            `${k} ${spread(m.readings_per_s)}/s loss ${spread(m.loss_pct, percent)}${drops} ` +
            `cpu ${Math.round(m.server_cpu_pct.median)}/${Math.round(m.sender_cpu_pct.median)}%`
          );
        }
        const own =
          k === 'cluster'
            ? ` (A's own SUB p50 ${micros(m.latency_a_p50_us.median)} p99 ${spread(m.latency_a_p99_us, micros)})`
            : '';
        const where = k === 'cluster' ? 'C' : 'SUB';
        return (
          `${k} ${where} p50 ${spread(m.latency_p50_us, micros)} p99 ${spread(m.latency_p99_us, micros)}` +
          `${own}, missing ${si(m.missing.max)}`
        );
      });
    return `${kase.label.padEnd(16)} ${parts.join(' | ')}`;
  },
  check: (m) => {
    if (m.applied !== undefined) return m.applied > 0 ? undefined : `nothing applied (sent ${m.sent})`;
    return m.received_a > 0 && m.received_c > 0 ? undefined : `no reading delivered (sent ${m.sent})`;
  },
};
