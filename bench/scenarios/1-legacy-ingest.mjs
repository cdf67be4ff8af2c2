// Scenario 1, legacy ingest: bare-float datagrams (what the original Medidor
// sends) at fixed rates and flat out. Readings stored per second, loss %
// and the kernel's receive-buffer drops.
//
// Stored readings: opc-lite's readings_accepted counter. The references keep
// no counters, so for them stored = sent − the kernel's drops for their socket
// (on loopback a datagram is either queued to the socket or dropped for a full
// buffer, or, rarely, dropped by the CPU's input backlog: softnet_stat; the
// queue is drained before counting). The window runs from the
// sender's first datagram until the server has drained its socket queue, so a
// server that falls behind is charged for the time it takes to catch up.
import { runTool, toolCpuPct } from '../lib/loadgen.mjs';
import { softnetDrops, udpRcvbufErrors, udpSocket } from '../lib/proc.mjs';
import { drained } from '../lib/drain.mjs';
import { percent, si, spread } from '../lib/util.mjs';

const RATES = [25_000, 50_000, 100_000, 200_000, 0];

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 1,
  slug: 'legacy-ingest',
  title: 'legacy ingest: bare-float datagrams, readings stored/s (loss %, kernel drops)',
  servers: ['opc-lite', 'node', 'python'],
  primary: 'stored_per_s',
  cases: (ctx) =>
    (ctx.smoke ? [25_000, 0] : RATES).map((rate) => ({
      key: rate ? `${rate / 1000}k` : 'max',
      label: rate ? `${si(rate)}/s` : 'flat out',
      rate,
    })),
  async measure({ server, kase, ctx }) {
    const before = {
      stats: await server.stats(),
      sock: udpSocket(server.port),
      snmp: udpRcvbufErrors(),
      softnet: softnetDrops(),
      cpu: server.cpuSeconds(),
    };
    const sent = await runTool('udp_send', ['-p', server.port, '-r', kase.rate, '-t', ctx.seconds, '-f', 'legacy'], {
      timeoutMs: ctx.seconds * 1000 + 10_000,
    });
    const drain = await drained(server);
    const after = {
      stats: await server.stats(),
      sock: udpSocket(server.port),
      snmp: udpRcvbufErrors(),
      softnet: softnetDrops(),
      cpu: server.cpuSeconds(),
    };
    const drops = (after.sock?.drops ?? NaN) - (before.sock?.drops ?? NaN);
    const softnet = after.softnet - before.softnet;
    const stored =
      server.kind === 'opc-lite'
        ? after.stats.readings_accepted - before.stats.readings_accepted
        : sent.datagrams - drops - softnet;
    const windowS = Math.max(sent.elapsed_s, (drain.at - sent.start_real_ms) / 1000);
    return {
      sent: sent.datagrams,
      sent_per_s: sent.datagrams_per_s,
      send_errors: sent.errors,
      stored,
      stored_per_s: stored / windowS,
      loss_pct: sent.datagrams ? (100 * (sent.datagrams - stored)) / sent.datagrams : NaN,
      kernel_drops: drops,
      snmp_rcvbuf_errors: after.snmp - before.snmp,
      softnet_drops: softnet,
      drained: drain.ok ? 1 : 0,
      window_s: windowS,
      server_cpu_pct: (100 * (after.cpu - before.cpu)) / windowS,
      sender_cpu_pct: toolCpuPct(sent, sent.elapsed_s),
    };
  },
  line(kase, r, order) {
    const parts = order.map((kind) => {
      const m = r[kind];
      if (!m) return undefined;
      return `${kind} ${spread(m.stored_per_s)} loss ${spread(m.loss_pct, percent)} drops ${si(m.kernel_drops.median)} cpu ${Math.round(m.server_cpu_pct.median)}/${Math.round(m.sender_cpu_pct.median)}%`;
    });
    return `${kase.label.padEnd(9)} ${parts.filter(Boolean).join(' | ')}`;
  },
};
