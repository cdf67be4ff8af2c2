// Scenario 11, RANGE over a long history: one sensor with 1,000,000 readings
// (a slow random walk, one a second; written with @opc-lite/tsdb directly,
// as the server lays it out), and `RANGE walk <from> <to> 1000`, 1,000
// buckets of 1,000 readings each, as the round trip of that one command on an
// idle loopback connection.
//
//   cold  the first RANGE after the server starts (restarted each time)
//   warm  the same RANGE again and again on one connection, after two untimed
//
// Against DuckDB in the same run (bench/range-duckdb.mjs, in its own process
// on the server's core, one thread): the same bucketed query (count, min,
// max, avg, arg_min/arg_max by ts) over the same readings, in an in-memory
// table loaded with the appender ("duckdb") and in a Parquet file on disk
// ("duckdb-parquet"); only the query is timed. Both answers must agree:
// the same buckets with the same counts, min, max, first and last (means
// within 1e-9). DuckDB is skipped when @duckdb/node-api is not installed.
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pinned, placement, ROOT } from '../lib/servers.mjs';
import { connection, endsWithEnd, removeDir, startStorageServer, tempDir, writeDataDir } from '../lib/storage.mjs';
import { sensor, startMs } from '../lib/workload.mjs';
import { median, si, spread } from '../lib/util.mjs';

const FULL = { readings: 1_000_000, points: 1000, cold: 5, warm: 20 };
const SMOKE = { readings: 10_000, points: 100, cold: 1, warm: 3 };
const INTERVAL_MS = 1000;
const NAME = 'walk';
const MEAN_TOLERANCE = 1e-9;

const hasDuckdb = (() => {
  try {
    createRequire(import.meta.url).resolve('@duckdb/node-api');
    return true;
  } catch {
    return false;
  }
})();

const params = (ctx) => (ctx.smoke ? SMOKE : FULL);

/** The readings' timestamps and the RANGE's span, fixed for the whole run so that every repeat asks the same. */
let plan;
const planFor = (ctx) => {
  if (plan) return plan;
  const p = params(ctx);
  const ts0 = startMs(p.readings, INTERVAL_MS);
  plan = { ...p, ts0, from: ts0, to: ts0 + p.readings * INTERVAL_MS };
  return plan;
};

/** The latest answer per case and kind, as [bucket, count, min, max, mean, first, last] rows; what agreed, per case. */
const answers = new Map();
const agreement = new Map();

/** `BUCKET <name> <start-ts> <count> <min> <max> <mean> <first> <last>` lines → rows with the bucket's index. */
function parseBuckets(text, p) {
  const rows = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('BUCKET ')) continue;
    const f = line.split(' ').slice(2).map(Number);
    const index = p.to === p.from ? 0 : Math.round(((f[0] - p.from) * p.points) / (p.to - p.from));
    rows.push([index, ...f.slice(1)]);
  }
  return rows;
}

/** Undefined when two answers agree, else where they first differ. */
function compare(a, b) {
  if (a.length !== b.length) return `${a.length} buckets vs ${b.length}`;
  const fields = ['bucket', 'count', 'min', 'max', 'mean', 'first', 'last'];
  for (let i = 0; i < a.length; i++) {
    for (let f = 0; f < fields.length; f++) {
      const x = a[i][f];
      const y = b[i][f];
      const same = f === 4 ? Math.abs(x - y) <= MEAN_TOLERANCE * Math.max(1, Math.abs(y)) : x === y;
      if (!same) return `row ${i}: ${fields[f]} ${x} vs ${y}`;
    }
  }
  return undefined;
}

function runDuckdb(source, p, dir) {
  return new Promise((resolve, reject) => {
    const args = [`${ROOT}bench/range-duckdb.mjs`, '--source', source, '--readings', p.readings, '--ts0', p.ts0]
      .concat(['--interval-ms', INTERVAL_MS, '--from', p.from, '--to', p.to, '--points', p.points])
      .concat(['--cold', p.cold, '--warm', p.warm, '--dir', dir])
      .map(String);
    const [cmd, argv] = pinned(process.execPath, args, placement.serverCpu);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (e) {
        reject(new Error(`range-duckdb ${args.slice(1).join(' ')} failed: ${e.message}\n${err}`));
      }
    });
  });
}

const stats = (samples) => ({
  ms: median(samples),
  min_ms: Math.min(...samples),
  max_ms: Math.max(...samples),
  samples: samples.length,
});

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 11,
  slug: 'range',
  title: 'RANGE of one sensor over 1,000,000 readings in 1,000 buckets: round trip, against DuckDB (1 thread)',
  servers: hasDuckdb ? ['opc-lite', 'duckdb', 'duckdb-parquet'] : ['opc-lite'],
  primary: 'ms',
  lowerIsBetter: true,
  cases: (ctx) => {
    const p = params(ctx);
    const label = `${si(p.readings)} → ${p.points}`;
    return [
      { key: 'cold', label: `${label} cold`, ...p },
      { key: 'warm', label: `${label} warm`, ...p },
    ];
  },
  async start(kind, ctx) {
    const p = planFor(ctx);
    const dir = tempDir(`range-${kind}`);
    try {
      if (kind !== 'opc-lite') {
        const report = await runDuckdb(kind === 'duckdb' ? 'memory' : 'parquet', p, dir);
        return { kind, port: 0, report, stop: async () => removeDir(dir) };
      }
      const written = await writeDataDir(dir, [sensor('walk', 0, NAME)], {
        readings: p.readings,
        ts0: p.ts0,
        intervalMs: INTERVAL_MS,
      });
      const handle = {
        kind,
        port: 0,
        dir,
        written,
        server: await startStorageServer({ dir }),
        stop: async () => {
          try {
            await handle.server.stop();
          } finally {
            removeDir(dir);
          }
        },
      };
      return handle;
    } catch (err) {
      removeDir(dir);
      throw err;
    }
  },
  async measure({ server: handle, kase }) {
    const p = plan;
    if (handle.kind !== 'opc-lite') {
      const r = handle.report;
      answers.set(`${kase.key} ${handle.kind}`, r.answer);
      const samples = kase.key === 'cold' ? r.cold_ms : r.warm_ms;
      return { ...stats(samples), buckets: r.answer.length, load_ms: r.load_ms };
    }
    const command = `RANGE ${NAME} ${p.from} ${p.to} ${p.points}\n`;
    const samples = [];
    let text = '';
    if (kase.key === 'cold') {
      for (let i = 0; i < kase.cold; i++) {
        await handle.server.stop();
        handle.server = await startStorageServer({ dir: handle.dir });
        const conn = await connection(handle.server.port);
        try {
          await conn.request('PING\n'); // the connection is up and idle; the RANGE is the server's first
          const r = await conn.request(command, endsWithEnd);
          samples.push(r.ms);
          text = r.text;
        } finally {
          conn.close();
        }
      }
    } else {
      const conn = await connection(handle.server.port);
      try {
        for (let i = 0; i < 2; i++) await conn.request(command, endsWithEnd); // untimed
        for (let i = 0; i < kase.warm; i++) {
          const r = await conn.request(command, endsWithEnd);
          samples.push(r.ms);
          text = r.text;
        }
      } finally {
        conn.close();
      }
    }
    const rows = parseBuckets(text, p);
    answers.set(`${kase.key} opc-lite`, rows);
    return { ...stats(samples), buckets: rows.length, load_ms: handle.written.ms };
  },
  crossCheck(kase) {
    const mine = answers.get(`${kase.key} opc-lite`);
    const found = [];
    for (const [key, rows] of answers) {
      const [caseKey, kind] = key.split(' ');
      if (caseKey !== kase.key || kind === 'opc-lite') continue;
      const problem = mine ? compare(mine, rows) : 'opc-lite gave no answer';
      found.push(problem ? `${kind} DIFFERS (${problem})` : `${kind} agrees`);
      if (problem) {
        agreement.set(kase.key, found.join(', '));
        return `opc-lite and ${kind} disagree: ${problem}`;
      }
    }
    const n = mine?.length ?? 0;
    agreement.set(
      kase.key,
      found.length
        ? `answers agree: ${n} buckets, same counts, min, max, first, last (${found.join(', ')})`
        : `${n} buckets (DuckDB not installed: nothing to compare)`,
    );
    return undefined;
  },
  line(kase, r, order) {
    const ms = (v) => `${v.toFixed(1)} ms`;
    const parts = order
      .filter((k) => r[k])
      .map((k) => `${k} ${spread(r[k].ms, ms)} (${r[k].samples.median} runs, min ${ms(r[k].min_ms.min)})`);
    return `${kase.label.padEnd(16)} ${parts.join(' | ')}; ${agreement.get(kase.key) ?? ''}`;
  },
  check: (m, kase) =>
    m.buckets === kase.points ? undefined : `${m.buckets} non-empty buckets, expected ${kase.points}`,
};
