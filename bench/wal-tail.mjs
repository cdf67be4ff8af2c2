// Scenario 10's full-log crash: opens a data dir with @opc-lite/tsdb (the
// built package), appends to every series, one reading a second after its
// latest, in turns of about 5,000 readings (as a server commits them), until
// the log holds `--wal-bytes` (below the store's checkpoint threshold, so no
// checkpoint covers them), then prints one JSON line and kills itself with
// SIGKILL: a crash, the log to be replayed by the next open.
//
//   node bench/wal-tail.mjs --dir <data dir> --wal-bytes 125829120 --probe r0
//
// The line: `{ readings, walBytes, last: { <name>: { value, ts, seq } } }` for sensor `default` and the probe.
import { writeSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    dir: { type: 'string' },
    'wal-bytes': { type: 'string' },
    probe: { type: 'string', default: 'r0' },
  },
});
const walBytes = Number(opts['wal-bytes']);
if (!opts.dir || !(walBytes > 0)) throw new RangeError('usage: --dir <data dir> --wal-bytes <n> [--probe <name>]');

const { openTsdb, DEFAULTS } = await import(new URL('../packages/tsdb/dist/index.js', import.meta.url).href);
if (walBytes >= DEFAULTS.checkpointWalBytes) {
  throw new RangeError(`--wal-bytes must stay below the checkpoint threshold (${DEFAULTS.checkpointWalBytes})`);
}
const db = openTsdb({ dir: opts.dir, retentionMs: 0 });
const series = [...db.series()];
const last = series.map((s) => ({ value: s.lastValue, ts: s.lastTs, seq: s.lastSeq }));
const perTurn = Math.max(1, Math.floor(5000 / series.length));
let readings = 0;
// Bounded: at most 100 M readings whatever the log's size.
for (let step = 1; db.stats().walBytes < walBytes && readings < 1e8;) {
  for (let t = 0; t < perTurn; t++, step++) {
    for (let j = 0; j < series.length; j++) {
      const l = last[j];
      l.seq++;
      l.ts += 1000;
      l.value = Math.round(l.value * 100 + (step % 3) - 1) / 100;
      db.append(series[j].id, l.seq, l.ts, l.value);
      readings++;
    }
  }
  db.commit();
}
const report = { readings, walBytes: db.stats().walBytes, checkpoints: db.stats().checkpoints, last: {} };
for (const [j, s] of series.entries()) {
  if (s.name === 'default' || s.name === opts.probe) report.last[s.name] = last[j];
}
writeSync(1, `${JSON.stringify(report)}\n`);
process.kill(process.pid, 'SIGKILL');
