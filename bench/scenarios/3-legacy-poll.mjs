// Scenario 3, legacy poll: the `n` request on persistent connections.
//   1×1: one connection, one request at a time (latency p50/p99/p999);
//   1×64: one connection with 64 pipelined; 50×16: 50 connections with 16 each;
//   50×1: 50 connections with one outstanding each.
// Every reply is checked against the value set beforehand (bad replies counted).
import { createSocket } from 'node:dgram';
import { runTool, toolCpuPct } from '../lib/loadgen.mjs';
import { placement, query } from '../lib/servers.mjs';
import { micros, poll, spread } from '../lib/util.mjs';

export const VALUE = '0.35';

const CASES = [
  { key: '1x1', label: '1×1', conns: 1, depth: 1 },
  // The client on the server's own core: no cross-CPU wake-up in the round trip, so the server's own cost shows.
  { key: '1x1-same-cpu', label: '1×1 same CPU', conns: 1, depth: 1, sameCpu: true },
  { key: '1x64', label: '1×64', conns: 1, depth: 64 },
  // Pipelined on one core: the server's cost per request, without the cross-CPU wake-ups of each batch.
  { key: '1x64-same-cpu', label: '1×64 same CPU', conns: 1, depth: 64, sameCpu: true },
  { key: '50x16', label: '50×16', conns: 50, depth: 16 },
  { key: '50x1', label: '50×1', conns: 50, depth: 1 },
];

/** Sends one bare-float datagram and waits until a poll answers it: every reply is then known. */
export async function setValue(server, value = VALUE) {
  const udp = createSocket('udp4');
  try {
    const ok = await poll(
      async () => {
        await new Promise((resolve) => udp.send(value, server.port, '127.0.0.1', resolve));
        const [line] = await query(server.port, 'n');
        return line === value;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    if (!ok) throw new Error(`${server.kind}: 'n' never answered ${value} after the datagram was sent`);
  } finally {
    udp.close();
  }
}

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 3,
  slug: 'legacy-poll',
  title: 'legacy poll: `n` on persistent connections (connections × pipelined), requests/s and latency',
  servers: ['opc-lite', 'node', 'python'],
  primary: 'requests_per_s',
  cases: (ctx) =>
    (ctx.smoke ? CASES.filter((c) => c.key === '1x1' || c.key === '50x16') : CASES).filter(
      (c) => ctx.pin || !c.sameCpu,
    ),
  prepare: (server) => setValue(server),
  async measure({ server, kase, ctx }) {
    const cpu = server.cpuSeconds();
    const sys = server.syscalls();
    const r = await runTool(
      'tcp_poll',
      ['-p', server.port, '-c', kase.conns, '-k', kase.depth, '-t', ctx.seconds, '-w', ctx.warmup, '-e', VALUE],
      {
        timeoutMs: (ctx.seconds + ctx.warmup) * 1000 + 10_000,
        ...(kase.sameCpu ? { cpu: placement.serverCpu } : {}),
      },
    );
    return {
      requests: r.requests,
      requests_per_s: r.requests_per_s,
      p50_us: r.p50_us,
      p99_us: r.p99_us,
      p999_us: r.p999_us,
      errors: r.errors,
      bad_replies: r.bad_replies,
      server_cpu_pct: (100 * (server.cpuSeconds() - cpu)) / (r.elapsed_s + ctx.warmup),
      client_cpu_pct: toolCpuPct(r, r.elapsed_s + ctx.warmup),
      // warm-up included in both: a ratio, not a rate
      replies_per_write: (r.requests * (1 + ctx.warmup / r.elapsed_s)) / (server.syscalls().writes - sys.writes),
    };
  },
  line(kase, r, order) {
    const parts = order.map((kind) => {
      const m = r[kind];
      if (!m) return undefined;
      const lat =
        kase.depth === 1 && kase.conns === 1
          ? ` p50 ${spread(m.p50_us, micros)} p99 ${spread(m.p99_us, micros)} p999 ${spread(m.p999_us, micros)}`
          : ` p99 ${micros(m.p99_us.median)}`;
      const bad = m.bad_replies.max || m.errors.max ? ` BAD ${m.bad_replies.max}/${m.errors.max}` : '';
      const cpu = ` cpu ${Math.round(m.server_cpu_pct.median)}/${Math.round(m.client_cpu_pct.median)}%`;
      // Python's send() is not a write(2): /proc/<pid>/io does not count it.
      const rpw = Number.isFinite(m.replies_per_write.median) ? ` ${m.replies_per_write.median.toFixed(1)}/write` : '';
      return `${kind} ${spread(m.requests_per_s)}/s${lat}${rpw}${cpu}${bad}`;
    });
    return `${kase.label.padEnd(6)} ${parts.filter(Boolean).join(' | ')}`;
  },
  extraRatios: (kase) => (kase.depth === 1 && kase.conns === 1 ? ['p99_us'] : []),
  check: (m) =>
    m.requests > 0 && m.bad_replies === 0 ? undefined : `requests ${m.requests}, bad replies ${m.bad_replies}`,
};
