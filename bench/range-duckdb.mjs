// Scenario 11's reference, one source per process: DuckDB (@duckdb/node-api,
// one thread) running the bucketed query of `RANGE <name> <from> <to>
// <points>` over the same readings the server holds.
//
//   node bench/range-duckdb.mjs --source memory|parquet --readings 1000000 --ts0 <ms> --interval-ms 1000 \
//        --from <ms> --to <ms> --points 1000 --cold 5 --warm 20 --dir <temp dir>
//
// memory:  a table (ts DOUBLE, v DOUBLE) in an in-memory database, loaded with the appender;
// parquet: the same table written to <dir>/walk.parquet, queried with read_parquet().
// Only the queries are timed, each to its last row read into JavaScript. A cold figure is the first query in a
// new database instance (memory: loaded afresh); the warm ones follow in the last instance. Prints one JSON line:
// load and write times, cold_ms[], warm_ms[] and the answer, one
// [bucket, count, min, max, mean, first, last] per non-empty bucket.
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { sensor } from './lib/workload.mjs';

const { values: opts } = parseArgs({
  options: {
    source: { type: 'string', default: 'memory' },
    readings: { type: 'string' },
    ts0: { type: 'string' },
    'interval-ms': { type: 'string', default: '1000' },
    from: { type: 'string' },
    to: { type: 'string' },
    points: { type: 'string' },
    cold: { type: 'string', default: '1' },
    warm: { type: 'string', default: '5' },
    dir: { type: 'string' },
  },
});
const num = (name, min, max) => {
  const v = Number(opts[name]);
  if (!Number.isFinite(v) || v < min || v > max)
    throw new RangeError(`--${name} must be a number from ${min} to ${max}`);
  return v;
};
const readings = num('readings', 1, 1e8);
const ts0 = num('ts0', 0, 1e14);
const intervalMs = num('interval-ms', 1, 1e9);
const from = num('from', 0, 1e14);
const to = num('to', from, 1e14);
const points = num('points', 1, 100_000);
const coldReps = num('cold', 1, 100);
const warmReps = num('warm', 1, 1000);
const source = opts.source;
if (source !== 'memory' && source !== 'parquet') throw new RangeError('--source must be memory or parquet');
if (source === 'parquet' && !opts.dir) throw new RangeError('--source parquet needs --dir');
const parquetFile = opts.dir ? path.join(opts.dir, 'walk.parquet') : '';

// The server's bucket rule (docs/PROTOCOL.md, 'History: RANGE'): floor((ts − from) × points / (to − from)),
// a reading at `to` in the last bucket; first and last by timestamp (the readings' timestamps are distinct).
const table = source === 'memory' ? 't' : `read_parquet('${parquetFile}')`;
const span = to - from;
const bucket =
  span > 0
    ? `CAST(least(floor((ts - ${from}) * ${points} / ${span}), ${points - 1}) AS INTEGER)`
    : 'CAST(0 AS INTEGER)';
const SQL =
  `SELECT ${bucket} AS b, CAST(count(*) AS DOUBLE) AS n, min(v), max(v), avg(v), arg_min(v, ts), arg_max(v, ts) ` +
  `FROM ${table} WHERE ts >= ${from} AND ts <= ${to} GROUP BY b ORDER BY b`;

async function load(connection) {
  await connection.run('CREATE TABLE t (ts DOUBLE, v DOUBLE)');
  const appender = await connection.createAppender('t');
  const walk = sensor('walk', 0, 'walk');
  for (let i = 0; i < readings; i++) {
    appender.appendDouble(ts0 + i * intervalMs);
    appender.appendDouble(walk.next());
    appender.endRow();
  }
  appender.closeSync();
}

async function query(connection) {
  const start = performance.now();
  const reader = await connection.runAndReadAll(SQL);
  const rows = reader.getRows();
  return { ms: performance.now() - start, rows };
}

const report = { source, load_ms: NaN, parquet_write_ms: NaN, cold_ms: [], warm_ms: [], answer: [] };
let last;
for (let c = 0; c < coldReps; c++) {
  last?.connection.closeSync();
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  last = { instance, connection };
  if (source === 'memory' || c === 0) {
    const t = performance.now();
    await load(connection);
    report.load_ms = performance.now() - t;
  }
  if (source === 'parquet' && c === 0) {
    const t = performance.now();
    await connection.run(`COPY t TO '${parquetFile}' (FORMAT parquet)`);
    await connection.run('DROP TABLE t');
    report.parquet_write_ms = performance.now() - t;
  }
  report.cold_ms.push((await query(connection)).ms);
}
for (let w = 0; w < warmReps; w++) {
  const { ms, rows } = await query(last.connection);
  report.warm_ms.push(ms);
  report.answer = rows.map((row) => row.map(Number));
}
last.connection.closeSync();
process.stdout.write(`${JSON.stringify(report)}\n`);
