// The issue's targets, checked against the medians of a run. A target whose
// scenario (or reference) did not run is reported with met: undefined.
import { micros, percent, si } from './lib/util.mjs';

const find = (records, id, caseKey, kind, metric) => {
  const rec = records.find((r) => r.scenario === id);
  const kase = rec?.cases.find((c) => c.key === caseKey);
  return kase?.summary?.[kind]?.[metric];
};

// Where docs/PERFORMANCE.md explains what limits each figure (heading anchors), by the target's first words.
const SEE = [
  ['legacy ingest', 'legacy-ingest-flat-out-nodes-dgram-and-the-kernel-per-datagram'],
  ['0 loss', 'legacy-ingest-flat-out-nodes-dgram-and-the-kernel-per-datagram'],
  ['batched', 'batched-ingest-the-parser-cpu-bound'],
  ['pipelined', 'polls-the-kernels-loopback-tcp-path-per-write-then-wake-ups'],
  ['single poll', 'polls-the-kernels-loopback-tcp-path-per-write-then-wake-ups'],
  ['50 connections', 'polls-the-kernels-loopback-tcp-path-per-write-then-wake-ups'],
  ['fan-out', 'fan-out-one-write-per-subscriber-per-turn'],
  ['memory', 'memory-the-columns-plus-a-node-process'],
  ['storage:', 'storage-ingest-with-a-data-dir-the-stores-append-on-the-same-core'],
  ['disk', 'storage-bytes-on-disk-the-codec-and-the-timestamps-regularity'],
  ['restart', 'storage-restart-the-stores-recovery-then-the-sensors'],
  ['RANGE', 'storage-range-decoding-the-chunks-a-bucket-edge-cuts'],
];

const x = (v) => (Number.isFinite(v) ? `×${v.toFixed(2)}` : 'n/a');

/** @returns {{ name: string, met: boolean | undefined, detail: string, value: number }[]} */
export function evaluateTargets(records) {
  const out = [];
  const add = (name, value, met, detail) =>
    out.push({
      name,
      value,
      met: Number.isFinite(value) ? met : undefined,
      detail,
      see: SEE.find(([prefix]) => name.startsWith(prefix))?.[1],
    });

  const maxOpc = find(records, 1, 'max', 'opc-lite', 'stored_per_s')?.median;
  const maxNode = find(records, 1, 'max', 'node', 'stored_per_s')?.median;
  add(
    'legacy ingest max ≥ 0.95× plain Node',
    maxOpc / maxNode,
    maxOpc / maxNode >= 0.95,
    `${si(maxOpc)}/s vs ${si(maxNode)}/s = ${x(maxOpc / maxNode)}`,
  );
  const loss = find(records, 1, '100k', 'opc-lite', 'loss_pct');
  const drops = find(records, 1, '100k', 'opc-lite', 'kernel_drops');
  add(
    '0 loss at 100k datagrams/s (default buffer request)',
    loss?.median,
    loss?.median === 0,
    `loss median ${percent(loss?.median)} (max ${percent(loss?.max)}), kernel drops median ${si(drops?.median)}`,
  );

  let best = { v: NaN, key: '' };
  for (const key of ['10-lines', '50-lines', '1432-bytes']) {
    const v = find(records, 2, key, 'opc-lite', 'readings_per_s')?.median;
    if (Number.isFinite(v) && !(v <= best.v)) best = { v, key };
  }
  add('batched ingest ≥ 2,000,000 readings/s', best.v, best.v >= 2e6, `best ${si(best.v)}/s (${best.key})`);

  for (const key of ['1x64', '50x16']) {
    const a = find(records, 3, key, 'opc-lite', 'requests_per_s')?.median;
    const b = find(records, 3, key, 'node', 'requests_per_s')?.median;
    const a1 = find(records, 3, `${key}-same-cpu`, 'opc-lite', 'requests_per_s')?.median;
    const b1 = find(records, 3, `${key}-same-cpu`, 'node', 'requests_per_s')?.median;
    const same = Number.isFinite(a1 / b1) ? `; on one core ${si(a1)}/s vs ${si(b1)}/s = ${x(a1 / b1)}` : '';
    add(
      `pipelined polls ${key} ≥ 0.8× plain Node`,
      a / b,
      a / b >= 0.8,
      `${si(a)}/s vs ${si(b)}/s = ${x(a / b)}${same}`,
    );
  }
  const p99a = find(records, 3, '1x1', 'opc-lite', 'p99_us')?.median;
  const p99b = find(records, 3, '1x1', 'node', 'p99_us')?.median;
  const p99a1 = find(records, 3, '1x1-same-cpu', 'opc-lite', 'p99_us')?.median;
  const p99b1 = find(records, 3, '1x1-same-cpu', 'node', 'p99_us')?.median;
  const same1 = Number.isFinite(p99a1 / p99b1)
    ? `; on one core ${micros(p99a1)} vs ${micros(p99b1)} = ${x(p99a1 / p99b1)}`
    : '';
  add(
    'single poll p99 ≤ 1.2× plain Node',
    p99a / p99b,
    p99a / p99b <= 1.2,
    `${micros(p99a)} vs ${micros(p99b)} = ${x(p99a / p99b)}${same1}`,
  );
  const c50 = find(records, 3, '50x1', 'opc-lite', 'requests_per_s')?.median;
  const c50py = find(records, 3, '50x1', 'python', 'requests_per_s')?.median;
  const c50node = find(records, 3, '50x1', 'node', 'requests_per_s')?.median;
  add(
    '50 connections × 1 outstanding ≥ Python seed',
    c50 / c50py,
    c50 / c50py >= 1,
    `${si(c50)}/s vs Python ${si(c50py)}/s = ${x(c50 / c50py)} (plain Node ${si(c50node)}/s)`,
  );

  const fan = find(records, 5, '100-subs', 'opc-lite', 'pushes_per_s')?.median;
  const fanDrop = find(records, 5, '100-subs', 'opc-lite', 'pushes_dropped');
  const fanMissing = find(records, 5, '100-subs', 'opc-lite', 'missing');
  add(
    'fan-out 10k/s × 100 subscribers = 1,000,000 pushes/s, no drops',
    fan,
    fan >= 0.99e6 && fanDrop?.max === 0 && fanMissing?.max === 0,
    `${si(fan)} pushes/s, dropped max ${si(fanDrop?.max)}, missing max ${si(fanMissing?.max)}`,
  );

  const mem = find(records, 6, '10000-sensors', 'opc-lite', 'rss_over_raw');
  const added = find(records, 6, '10000-sensors', 'opc-lite', 'added_over_raw');
  add(
    'memory ≤ 1.3× raw column bytes (10,000 sensors, full history)',
    mem?.median,
    mem?.median <= 1.3,
    `RSS ${x(mem?.median)} raw (growth over the idle process ${x(added?.median)})`,
  );

  // Storage (scenarios 8 to 11).
  const cpuRatio = (key) => {
    const d = find(records, 8, key, 'disk', 'cpu_us_per_reading')?.median;
    const m = find(records, 8, key, 'memory', 'cpu_us_per_reading')?.median;
    return `${Number.isFinite(d) ? d.toPrecision(3) : 'n/a'} µs vs ${Number.isFinite(m) ? m.toPrecision(3) : 'n/a'} µs = ${x(d / m)}`;
  };
  const sd = find(records, 8, 'legacy-max', 'disk', 'readings_per_s')?.median;
  const sm = find(records, 8, 'legacy-max', 'memory', 'readings_per_s')?.median;
  add(
    'storage: legacy ingest flat out ≥ 0.9× --memory',
    sd / sm,
    sd / sm >= 0.9,
    `${si(sd)}/s with a data dir vs ${si(sm)}/s with --memory = ${x(sd / sm)}; CPU per reading ${cpuRatio('legacy-max')}`,
  );
  let bestDisk = { v: NaN, key: '', memory: NaN };
  for (const key of ['10-lines', '50-lines', '1432-bytes']) {
    const v = find(records, 8, key, 'disk', 'readings_per_s')?.median;
    const memory = find(records, 8, key, 'memory', 'readings_per_s')?.median;
    if (Number.isFinite(v) && !(v <= bestDisk.v)) bestDisk = { v, key, memory };
  }
  add(
    'storage: batched ingest ≥ 2,000,000 readings/s',
    bestDisk.v,
    bestDisk.v >= 2e6,
    `best ${si(bestDisk.v)}/s (${bestDisk.key}); --memory ${si(bestDisk.memory)}/s, ${x(bestDisk.v / bestDisk.memory)}; ` +
      `CPU per reading ${cpuRatio(bestDisk.key)}`,
  );

  const bpr = find(records, 9, 'mixed', 'opc-lite', 'bytes_per_reading')?.median;
  add(
    'disk ≤ 3 B/reading (mixed workload, after a clean shutdown)',
    bpr,
    bpr <= 3,
    `${Number.isFinite(bpr) ? bpr.toFixed(2) : 'n/a'} B/reading, raw 16 B ÷ ${Number.isFinite(bpr) ? (16 / bpr).toFixed(1) : 'n/a'}`,
  );

  const empty = find(records, 10, 'empty', 'opc-lite', 'total_ms')?.median;
  for (const [key, what] of [
    ['clean', 'after a clean close'],
    ['unclean', 'after kill -9 (log replayed)'],
  ]) {
    const ms = find(records, 10, key, 'opc-lite', 'total_ms')?.median;
    const perM = find(records, 10, key, 'opc-lite', 'ms_per_million')?.median;
    const opened = find(records, 10, key, 'opc-lite', 'recovery_ms')?.median;
    add(
      `restart ${what}, 10,000 sensors × 1,000 readings ≤ 3 s`,
      ms,
      ms <= 3000,
      `${Math.round(ms)} ms to n + GET = ${Math.round(perM)} ms per million readings ` +
        `(store opened in ${Math.round(opened)} ms${Number.isFinite(empty) ? `; an empty dir ${Math.round(empty)} ms` : ''})`,
    );
  }

  const warm = find(records, 11, 'warm', 'opc-lite', 'ms')?.median;
  const cold = find(records, 11, 'cold', 'opc-lite', 'ms')?.median;
  const duck = find(records, 11, 'warm', 'duckdb', 'ms')?.median;
  const parquet = find(records, 11, 'warm', 'duckdb-parquet', 'ms')?.median;
  const ms1 = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');
  add(
    'RANGE of 1,000,000 readings in 1,000 buckets ≤ 50 ms',
    warm,
    warm <= 50,
    `warm ${ms1(warm)}, cold ${ms1(cold)}; DuckDB (1 thread) in-memory table ${ms1(duck)} = ${x(warm / duck)}, ` +
      `Parquet file ${ms1(parquet)} = ${x(warm / parquet)}`,
  );
  return out;
}
