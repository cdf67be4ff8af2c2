// Scenario 8, ingest with storage: scenario 1's flat-out legacy load and
// scenario 2's batched native loads, sent to opc-lite keeping every reading
// in a temporary data dir with the default storage settings (`--fsync
// interval`, 30 d retention) and, in the same run, to opc-lite with
// `--memory`. Readings stored per second; the ratio is what storage costs.
//
// Beside the rate, the server's CPU time per reading (from /proc, over the
// same window) and its ratio: on a shared machine the rate moves with the
// neighbours' load, the CPU cost much less.
//
// "disk" and "memory" are the same server binary; each repeat starts both
// afresh (the disk one on a new, empty data dir, removed afterwards).
import { startServer } from '../lib/servers.mjs';
import { startStorageServer } from '../lib/storage.mjs';
import { mib, percent, si, spread } from '../lib/util.mjs';
import s1 from './1-legacy-ingest.mjs';
import s2 from './2-batched-ingest.mjs';

const CASES = [
  { key: 'legacy-max', label: 'legacy flat out', form: 'legacy', rate: 0 },
  { key: '10-lines', label: '10 lines', form: 'native', args: ['-b', 10] },
  { key: '50-lines', label: '50 lines', form: 'native', args: ['-b', 50] },
  { key: '1432-bytes', label: '≤1432 B', form: 'native', args: ['-B', 1432] },
  // Scenario 2's load spreads over 8 sensors; this one over 9,000 (udp_send takes the last -s), 50 of them a datagram.
  { key: '50-lines-9000-sensors', label: '50 lines, 9k sensors', form: 'native', args: ['-b', 50, '-s', 9000] },
];

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 8,
  slug: 'storage-ingest',
  title: 'ingest with storage (--fsync interval, a temp data dir) against --memory: readings stored/s',
  servers: ['disk', 'memory'],
  primary: 'readings_per_s',
  extraRatios: () => ['cpu_us_per_reading'],
  cases: (ctx) => (ctx.smoke ? CASES.slice(0, 2) : CASES),
  start: (kind) => (kind === 'disk' ? startStorageServer({ label: 'ingest' }) : startServer('opc-lite')),
  async measure({ server, kase, ctx, rep }) {
    const before = await server.stats();
    const writes = server.syscalls().writes;
    const m =
      kase.form === 'legacy'
        ? await s1.measure({ server, kase, ctx, rep })
        : await s2.measure({ server, kase, ctx, rep });
    const after = await server.stats();
    const stored = m.stored;
    return {
      readings_per_s: m.stored_per_s ?? m.readings_per_s,
      stored,
      // write(2) calls (the log's one per commit, a turn's readings; and STATS replies): what a turn costs.
      readings_per_write: stored / (server.syscalls().writes - writes),
      loss_pct: m.loss_pct,
      kernel_drops: m.kernel_drops,
      server_cpu_pct: m.server_cpu_pct,
      // The server's CPU time per reading stored: steadier than the rate on a busy machine.
      cpu_us_per_reading: (1e4 * m.server_cpu_pct) / (m.stored_per_s ?? m.readings_per_s),
      sender_cpu_pct: m.sender_cpu_pct,
      durable: after.storage_durable,
      stored_on_disk: after.storage_readings - before.storage_readings,
      checkpoints: after.storage_checkpoints - before.storage_checkpoints,
      write_failures: after.storage_write_failures - before.storage_write_failures,
      degraded: after.storage_degraded,
      disk_bytes: after.storage_disk_bytes,
    };
  },
  line(kase, r, order) {
    const parts = order.map((kind) => {
      const m = r[kind];
      if (!m) return undefined;
      const disk = m.durable.median
        ? ` checkpoints ${Math.round(m.checkpoints.median)} dir ${mib(m.disk_bytes.median)}`
        : '';
      return (
        `${kind} ${spread(m.readings_per_s)}/s loss ${spread(m.loss_pct, percent)} drops ${si(m.kernel_drops.median)} ` +
        `cpu ${Math.round(m.server_cpu_pct.median)}/${Math.round(m.sender_cpu_pct.median)}% ` +
        `${m.cpu_us_per_reading.median.toPrecision(3)} µs/reading, ${si(m.readings_per_write.median)}/write${disk}`
      );
    });
    return `${kase.label.padEnd(20)} ${parts.filter(Boolean).join(' | ')}`;
  },
  // The disk server must have kept every reading it accepted, without a failed write; the memory one none.
  check: (m) => {
    if (m.stored <= 0) return `nothing stored`;
    if (m.durable === 0) return m.stored_on_disk === 0 ? undefined : `--memory wrote ${m.stored_on_disk} readings`;
    if (m.stored_on_disk !== m.stored) return `accepted ${m.stored} readings but the store grew by ${m.stored_on_disk}`;
    if (m.write_failures || m.degraded) return `write failures ${m.write_failures}, degraded ${m.degraded}`;
    return undefined;
  },
};
