// Scenario 4, connect-per-poll, as the original lector does: connect, send
// `n`, read one line, close, start over. One such client, then 16 at once.
// Connections served per second, and the whole cycle's latency.
import { runTool, toolCpuPct } from '../lib/loadgen.mjs';
import { micros, spread } from '../lib/util.mjs';
import { setValue, VALUE } from './3-legacy-poll.mjs';

const CASES = [
  { key: 'c1', label: '1 client', clients: 1 },
  { key: 'c16', label: '16 clients', clients: 16 },
];

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 4,
  slug: 'connect-per-poll',
  title: 'connect-per-poll (connect, n, read a line, close), connections served/s',
  servers: ['opc-lite', 'node', 'python'],
  primary: 'connections_per_s',
  cases: (ctx) => (ctx.smoke ? CASES.slice(0, 1) : CASES),
  prepare: (server) => setValue(server),
  async measure({ server, kase, ctx }) {
    const cpu = server.cpuSeconds();
    const r = await runTool(
      'tcp_poll',
      ['-p', server.port, '-C', '-c', kase.clients, '-t', ctx.seconds, '-w', ctx.warmup, '-e', VALUE],
      { timeoutMs: (ctx.seconds + ctx.warmup) * 1000 + 10_000 },
    );
    return {
      connections: r.requests,
      connections_per_s: r.requests_per_s,
      p50_us: r.p50_us,
      p99_us: r.p99_us,
      errors: r.errors,
      bad_replies: r.bad_replies,
      server_cpu_pct: (100 * (server.cpuSeconds() - cpu)) / (r.elapsed_s + ctx.warmup),
      client_cpu_pct: toolCpuPct(r, r.elapsed_s + ctx.warmup),
    };
  },
  line(kase, r, order) {
    const parts = order.map((kind) => {
      const m = r[kind];
      if (!m) return undefined;
      const bad = m.bad_replies.max || m.errors.max ? ` BAD ${m.bad_replies.max}/${m.errors.max}` : '';
      const cpu = ` cpu ${Math.round(m.server_cpu_pct.median)}/${Math.round(m.client_cpu_pct.median)}%`;
      return `${kind} ${spread(m.connections_per_s)}/s p99 ${micros(m.p99_us.median)}${cpu}${bad}`;
    });
    return `${kase.label.padEnd(10)} ${parts.filter(Boolean).join(' | ')}`;
  },
  check: (m) =>
    m.connections > 0 && m.bad_replies === 0 ? undefined : `connections ${m.connections}, bad replies ${m.bad_replies}`,
};
