// Scenario 5, fan-out: one sensor at 10,000 readings/s (one native line per
// datagram, carrying its send time) pushed to 1, 10 and 100 subscribers.
// Pushes delivered per second, drops (the server's pushes_dropped, and seq
// gaps seen by the subscribers) and delivery latency (receipt − send time).
// opc-lite only: the references have no subscriptions.
import { runTool, startSubscribers, toolCpuPct } from '../lib/loadgen.mjs';
import { micros, si, spread } from '../lib/util.mjs';

const RATE = 10_000;
const CASES = [1, 10, 100].map((subs) => ({ key: `${subs}-subs`, label: `${subs} subs`, subs }));

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 5,
  slug: 'fan-out',
  title: `fan-out: one sensor at ${si(RATE)} readings/s to N subscribers, pushes delivered/s, drops, latency`,
  servers: ['opc-lite'],
  primary: 'pushes_per_s',
  cases: (ctx) => (ctx.smoke ? CASES.slice(1, 2) : CASES),
  async measure({ server, kase, ctx, rep }) {
    const name = `fan.${rep}.${kase.key}`;
    const count = Math.round(RATE * ctx.seconds);
    const idleMs = ctx.smoke ? 300 : 1500;
    const before = await server.stats();
    const cpu = server.cpuSeconds();
    const sys = server.syscalls();
    const { result } = await startSubscribers(
      ['-p', server.port, '-P', name, '-c', kase.subs, '-e', count, '-t', ctx.seconds + 20, '-i', idleMs],
      { timeoutMs: (ctx.seconds + 30) * 1000 },
    );
    const sent = await runTool(
      'udp_send',
      ['-p', server.port, '-r', RATE, '-n', count, '-t', ctx.seconds + 5, '-f', 'native', '-P', name, '-T', '-S'],
      { timeoutMs: (ctx.seconds + 15) * 1000 },
    );
    const subs = await result;
    const after = await server.stats();
    const writes = server.syscalls().writes - sys.writes;
    const windowS = Math.max(subs.window_s, sent.elapsed_s);
    const expected = sent.readings * kase.subs;
    return {
      sent: sent.readings,
      sent_per_s: sent.readings_per_s,
      stored: after.readings_accepted - before.readings_accepted,
      received: subs.received,
      pushes_per_s: subs.received / windowS,
      missing: expected - subs.received,
      pushes_dropped: after.pushes_dropped - before.pushes_dropped,
      write_syscalls_per_s: writes / windowS,
      pushes_per_write: subs.received / writes,
      pushes_sent: after.pushes_sent - before.pushes_sent,
      gaps: subs.gaps,
      slow_consumer_disconnects: after.slow_consumer_disconnects - before.slow_consumer_disconnects,
      closed_by_server: subs.closed_by_server,
      latency_p50_us: subs.latency_p50_us,
      latency_p99_us: subs.latency_p99_us,
      latency_max_us: subs.latency_max_us,
      server_cpu_pct: (100 * (server.cpuSeconds() - cpu)) / windowS,
      subscriber_cpu_pct: toolCpuPct(subs, windowS),
    };
  },
  line(kase, r) {
    const m = r['opc-lite'];
    return (
      `${kase.label.padEnd(9)} opc-lite ${spread(m.pushes_per_s)} pushes/s, dropped ${si(m.pushes_dropped.median)} ` +
      `(max ${si(m.pushes_dropped.max)}), missing ${si(m.missing.max)}, latency p50 ${micros(m.latency_p50_us.median)} ` +
      `p99 ${spread(m.latency_p99_us, micros)}, ${m.pushes_per_write.median.toFixed(1)} pushes/write, cpu ${Math.round(m.server_cpu_pct.median)}/${Math.round(m.subscriber_cpu_pct.median)}%`
    );
  },
  check: (m) => (m.received > 0 ? undefined : `no push received (sent ${m.sent}, stored ${m.stored})`),
};
