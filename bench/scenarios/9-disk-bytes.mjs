// Scenario 9, bytes on disk per reading: sensors of three shapes (a
// sawtooth, a slow random walk, a constant; lib/workload.mjs) send one
// reading a second each, with explicit timestamps and sender seqs, as native
// lines over UDP to opc-lite with the default storage settings; then a clean
// shutdown (SIGTERM: the checkpoint is written) and the data dir's size over
// the readings stored, against the raw 16 bytes of a reading (ts f64 +
// value f64). The mixed case is the target's; the one-shape cases show what
// each shape costs, and the last one what timestamps off the beat cost. The timestamps end a little before now (inside the
// default 30 d retention). opc-lite only.
import { dirSize, sendReadings, startStorageServer } from '../lib/storage.mjs';
import { drained } from '../lib/drain.mjs';
import { SHAPES, sensors, startMs } from '../lib/workload.mjs';
import { si, spread } from '../lib/util.mjs';

const RAW_BYTES = 16;
const INTERVAL_MS = 1000;
const FULL = { perShape: 100, readings: 10_000 };
const SMOKE = { perShape: 4, readings: 200 };

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 9,
  slug: 'disk-bytes',
  title: 'disk: data dir bytes per reading after a clean shutdown, 1 reading/s per sensor, against the raw 16 B',
  servers: ['opc-lite'],
  primary: 'bytes_per_reading',
  lowerIsBetter: true,
  cases: (ctx) => {
    const p = ctx.smoke ? SMOKE : FULL;
    const all = [{ key: 'mixed', label: 'mixed', shapes: SHAPES, ...p }];
    if (ctx.smoke) return all;
    for (const shape of SHAPES) all.push({ key: shape, label: shape, shapes: [shape], ...p });
    // As from senders stamping their clock's time: each timestamp up to 20 ms late, in whole ms.
    all.push({ key: 'mixed-jitter', label: 'mixed, ts jitter', shapes: SHAPES, jitterMs: 20, ...p });
    return all;
  },
  // Every case starts its own server on its own data dir: the size is measured after that server has stopped.
  start: async (kind) => ({ kind, port: 0, stop: async () => {} }),
  async measure({ kase }) {
    const list = sensors(kase.shapes, kase.perShape);
    const server = await startStorageServer({ label: 'disk' });
    try {
      const ts0 = startMs(kase.readings, INTERVAL_MS);
      const sent = await sendReadings(server.port, list, {
        readings: kase.readings,
        ts0,
        intervalMs: INTERVAL_MS,
        jitterMs: kase.jitterMs ?? 0,
      });
      await drained(server, { timeoutMs: 30_000, intervalMs: 50 });
      const stats = await server.stats();
      const exit = await server.shutdown();
      const size = dirSize(server.dataDir);
      const stored = stats.storage_readings;
      return {
        sensors: list.length,
        sent: sent.readings,
        stored,
        accepted: stats.readings_accepted,
        load_s: sent.seconds,
        exit_code: exit.code ?? -1,
        bytes: size.bytes,
        allocated_bytes: size.allocatedBytes,
        chunk_bytes: size.chunks,
        checkpoint_bytes: size.checkpoint,
        wal_bytes: size.wal,
        bytes_per_reading: size.bytes / stored,
        allocated_per_reading: size.allocatedBytes / stored,
        chunk_bytes_per_reading: size.chunks / stored,
        raw_over_bytes: RAW_BYTES / (size.bytes / stored),
      };
    } finally {
      await server.stop(); // removes the data dir
    }
  },
  line(kase, r) {
    const m = r['opc-lite'];
    const b = (v) => `${v.toFixed(2)} B`;
    return (
      `${kase.label.padEnd(16)} ${si(m.stored.median)} readings of ${m.sensors.median} sensors: ` +
      `${spread(m.bytes_per_reading, b)}/reading = raw 16 B ÷ ${m.raw_over_bytes.median.toFixed(1)} ` +
      `(dir ${si(m.bytes.median)}B: chunks ${si(m.chunk_bytes.median)}B, checkpoint ${si(m.checkpoint_bytes.median)}B, ` +
      `log ${si(m.wal_bytes.median)}B; allocated ${b(m.allocated_per_reading.median)}/reading)`
    );
  },
  check: (m) => {
    if (m.exit_code !== 0) return `the server did not shut down cleanly (exit ${m.exit_code})`;
    if (m.stored !== m.sent) return `sent ${m.sent} readings, ${m.stored} stored`;
    return undefined;
  },
};
