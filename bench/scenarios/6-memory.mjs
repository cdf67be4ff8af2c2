// Scenario 6, memory: 10,000 sensors, each filled to a full history (the
// server's default history capacity), then the server's resident size from
// /proc/<pid>/status against the raw column bytes (sensors × history × 3
// columns × 8 bytes). opc-lite only.
//
// The readings go round-robin over the sensors as `name value` lines packed
// in ~1.4 kB datagrams, paced so the server keeps up; a round that lost
// datagrams is followed by extra rounds (a full ring just overwrites).
import { performance } from 'node:perf_hooks';
import { runTool } from '../lib/loadgen.mjs';
import { query } from '../lib/servers.mjs';
import { drained } from '../lib/drain.mjs';
import { mib, spread } from '../lib/util.mjs';

const FULL = { sensors: 10_000, history: 1000, readingsPerS: 1_000_000 };
const SMOKE = { sensors: 100, history: 50, readingsPerS: 200_000 };
const LINES_PER_DATAGRAM = 100;

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 6,
  slug: 'memory',
  title: 'memory: resident size with 10,000 sensors each holding a full history, against the raw column bytes',
  servers: ['opc-lite'],
  primary: 'rss_over_raw',
  lowerIsBetter: true,
  cases: (ctx) => {
    const p = ctx.smoke ? SMOKE : FULL;
    return [{ key: `${p.sensors}-sensors`, label: `${p.sensors} × ${p.history}`, ...p }];
  },
  serverArgs: (kind, ctx) => ['--history', String((ctx.smoke ? SMOKE : FULL).history)],
  async measure({ server, kase }) {
    const idle = server.memory();
    const total = kase.sensors * kase.history;
    const rate = Math.max(1, Math.round(kase.readingsPerS / LINES_PER_DATAGRAM));
    const seconds = Math.ceil((2 * total) / kase.readingsPerS) + 5;
    let sentTotal = 0;
    let rounds = kase.history;
    const start = performance.now();
    // Pass 1 fills every ring; later passes (at most 3) top up what the kernel dropped.
    for (let pass = 0; pass < 4 && rounds > 0; pass++) {
      const before = (await server.stats()).readings_accepted;
      const sent = await runTool(
        'udp_send',
        ['-p', server.port, '-r', rate, '-t', seconds, '-f', 'native', '-s', kase.sensors, '-P', 'm'].concat([
          '-b',
          LINES_PER_DATAGRAM,
          '-N',
          rounds * kase.sensors,
        ]),
        { timeoutMs: (seconds + 10) * 1000 },
      );
      sentTotal += sent.readings;
      await drained(server, { timeoutMs: 10_000, intervalMs: 50 });
      const lost = sent.readings - ((await server.stats()).readings_accepted - before);
      rounds = lost > 0 ? Math.min(kase.history, Math.ceil(lost / kase.sensors) * 2 + 2) : 0;
    }
    const fillS = (performance.now() - start) / 1000;
    const stats = await server.stats();
    // LIST: `SENSOR <name> <count> <last-ts> <last-value>` per sensor; count is the readings the ring holds.
    const lines = await query(server.port, 'LIST m*\n', { isLast: (l) => l.startsWith('END'), timeoutMs: 30_000 });
    const counts = lines.filter((l) => l.startsWith('SENSOR ')).map((l) => Number(l.split(' ')[2]));
    const full = counts.filter((c) => c >= kase.history).length;
    const mem = server.memory();
    const raw = kase.sensors * kase.history * 3 * 8;
    return {
      sensors: stats.sensors,
      full_sensors: full,
      readings_sent: sentTotal,
      readings_accepted: stats.readings_accepted,
      fill_s: fillS,
      rss_idle_bytes: idle.rssBytes,
      rss_bytes: mem.rssBytes,
      hwm_bytes: mem.hwmBytes,
      raw_bytes: raw,
      rss_anon_bytes: mem.anonBytes,
      rss_file_bytes: mem.fileBytes,
      rss_over_raw: mem.rssBytes / raw,
      anon_over_raw: mem.anonBytes / raw,
      added_over_raw: (mem.rssBytes - idle.rssBytes) / raw,
      bytes_per_reading: mem.rssBytes / (kase.sensors * kase.history),
      added_bytes_per_reading: (mem.rssBytes - idle.rssBytes) / (kase.sensors * kase.history),
    };
  },
  line(kase, r) {
    const m = r['opc-lite'];
    const x = (v) => `×${v.toFixed(2)}`;
    return (
      `${kase.label.padEnd(12)} opc-lite RSS ${spread(m.rss_bytes, mib)} = ${spread(m.rss_over_raw, x)} raw ` +
      `(${mib(m.raw_bytes.median)}); anon ${x(m.anon_over_raw.median)}, file ${mib(m.rss_file_bytes.median)}; ` +
      `idle ${mib(m.rss_idle_bytes.median)}, added ${x(m.added_over_raw.median)} raw; ` +
      `${m.bytes_per_reading.median.toFixed(1)} B/reading (raw 24); full sensors ${m.full_sensors.min}/${m.sensors.median}`
    );
  },
  check: (m, kase) =>
    m.full_sensors === kase.sensors
      ? undefined
      : `only ${m.full_sensors} of ${kase.sensors} sensors hold a full history`,
};
