// Scenario 2, batched ingest: native lines `name value ts seq` (as opc-sensor
// sends them), many per datagram, sent flat out. Readings stored per second.
// opc-lite only: the references speak the legacy form alone.
import { runTool, toolCpuPct } from '../lib/loadgen.mjs';
import { udpSocket } from '../lib/proc.mjs';
import { drained } from '../lib/drain.mjs';
import { percent, si, spread } from '../lib/util.mjs';

const SIZES = [
  { key: '10-lines', label: '10 lines', args: ['-b', 10] },
  { key: '50-lines', label: '50 lines', args: ['-b', 50] },
  { key: '1432-bytes', label: '≤1432 B', args: ['-B', 1432] },
];

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 2,
  slug: 'batched-ingest',
  title: 'batched ingest: native lines, many per datagram, flat out, readings stored/s',
  servers: ['opc-lite'],
  primary: 'readings_per_s',
  cases: (ctx) => (ctx.smoke ? SIZES.slice(0, 1) : SIZES),
  async measure({ server, kase, ctx }) {
    const before = { stats: await server.stats(), sock: udpSocket(server.port), cpu: server.cpuSeconds() };
    const sent = await runTool(
      'udp_send',
      ['-p', server.port, '-r', 0, '-t', ctx.seconds, '-f', 'native', '-s', 8, '-P', 'batch', '-T', '-S', ...kase.args],
      { timeoutMs: ctx.seconds * 1000 + 10_000 },
    );
    const drainedAt = (await drained(server)).at;
    const after = { stats: await server.stats(), sock: udpSocket(server.port), cpu: server.cpuSeconds() };
    const stored = after.stats.readings_accepted - before.stats.readings_accepted;
    const windowS = Math.max(sent.elapsed_s, (drainedAt - sent.start_real_ms) / 1000);
    return {
      sent_readings: sent.readings,
      sent_datagrams: sent.datagrams,
      lines_per_datagram: sent.readings / sent.datagrams,
      bytes_per_datagram: sent.bytes / sent.datagrams,
      stored,
      readings_per_s: stored / windowS,
      datagrams_per_s: (sent.datagrams - (after.sock.drops - before.sock.drops)) / windowS,
      loss_pct: (100 * (sent.readings - stored)) / sent.readings,
      kernel_drops: after.sock.drops - before.sock.drops,
      rejected: after.stats.readings_rejected - before.stats.readings_rejected,
      server_cpu_pct: (100 * (after.cpu - before.cpu)) / windowS,
      sender_cpu_pct: toolCpuPct(sent, sent.elapsed_s),
    };
  },
  line(kase, r) {
    const m = r['opc-lite'];
    return (
      `${kase.label.padEnd(9)} opc-lite ${spread(m.readings_per_s)} readings/s (${spread(m.datagrams_per_s)} datagrams/s ` +
      `of ${m.lines_per_datagram.median.toFixed(0)} lines, ${m.bytes_per_datagram.median.toFixed(0)} B) ` +
      `sender loss ${spread(m.loss_pct, percent)} rejected ${si(m.rejected.median)} cpu ${Math.round(m.server_cpu_pct.median)}/${Math.round(m.sender_cpu_pct.median)}%`
    );
  },
};
