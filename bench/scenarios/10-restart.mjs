// Scenario 10, restart: 10,000 sensors × 1,000 readings (10M) in a data dir,
// written with @opc-lite/tsdb directly as the server lays it out (one series
// per sensor, seqs from 1; lib/storage.mjs writeDataDir), then the time from
// spawning `opc-server --data-dir <dir>` until an `n` poll answers the latest
// value of sensor `default` and a `GET` of another sensor its latest reading.
//
//   empty    the same on an empty data dir: what starting Node and the server costs
//   clean    after a clean close (the checkpoint covers everything)
//   unclean  a server on the dir takes a tail of 100 readings per sensor over UDP, is
//            killed with SIGKILL once a poll shows the last one, and the log is replayed
//   full-log the worst case: the log as long as it gets before a checkpoint (120 MiB of the
//            default 128 MiB), written by bench/wal-tail.mjs with @opc-lite/tsdb, which then
//            kills itself with SIGKILL
//
// Every figure is wall time from the spawn, measured by the harness; the
// server's own recovery time (STATS storage_recovery_ms: opening the store)
// is beside it. The timestamps end a little before now (inside the default
// retention). opc-lite only.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { runTool } from '../lib/loadgen.mjs';
import { ROOT, startServer } from '../lib/servers.mjs';
import { connection, removeDir, startStorageServer, tempDir, writeDataDir } from '../lib/storage.mjs';
import { drained } from '../lib/drain.mjs';
import { SHAPES, sensor, startMs } from '../lib/workload.mjs';
import { poll, si, spread } from '../lib/util.mjs';

const FULL = { sensors: 10_000, readings: 1000, tailPerSensor: 100, fullLogBytes: 120 * 1024 * 1024 };
const SMOKE = { sensors: 100, readings: 100, tailPerSensor: 20, fullLogBytes: 1024 * 1024 };
const TAIL_LINES_PER_DATAGRAM = 50;
const TAIL_READINGS_PER_S = 250_000;
const INTERVAL_MS = 1000;
/** The sensor read with GET: one of the tail's. */
const PROBE = 'r0';

const CASES = [
  { key: 'empty', label: 'empty dir' },
  { key: 'clean', label: 'clean close' },
  { key: 'unclean', label: 'kill -9' },
  { key: 'full-log', label: 'full log' },
];

const params = (ctx) => (ctx.smoke ? SMOKE : FULL);

/**
 * Spawns a server on `dir` and resolves once `n` answers `expectN` and
 * `GET PROBE` answers `expectGet`: `{ server, totalMs, readyMs }` (ms from
 * the spawn), or throws if they do not within 10 s of the server's start.
 */
async function timedStart(dir, expectN, expectGet) {
  const t0 = performance.now();
  const server = await startServer('opc-lite', { dataDir: dir });
  const readyMs = performance.now() - t0;
  const conn = await connection(server.port);
  try {
    let got = '';
    const ok = await poll(
      async () => {
        got = (await conn.request('n')).text.trim();
        return got === expectN;
      },
      { timeoutMs: 10_000, intervalMs: 5 },
    );
    if (!ok) throw new Error(`after the restart 'n' answered ${got}, not ${expectN}`);
    const get = (await conn.request(`GET ${PROBE}\n`)).text.trim();
    const totalMs = performance.now() - t0;
    if (get !== expectGet) throw new Error(`after the restart 'GET ${PROBE}' answered '${get}', not '${expectGet}'`);
    return { server, totalMs, readyMs };
  } catch (err) {
    await server.stop();
    throw err;
  } finally {
    conn.close();
  }
}

/** Sends one legacy datagram (a reading of `default`) and waits until `n` answers it. */
async function markDefault(server, value) {
  const udp = createSocket('udp4');
  try {
    const conn = await connection(server.port);
    try {
      const ok = await poll(
        async () => {
          await new Promise((resolve) => udp.send(String(value), server.port, '127.0.0.1', resolve));
          return (await conn.request('n')).text.trim() === String(value);
        },
        { timeoutMs: 5_000, intervalMs: 50 },
      );
      if (!ok) throw new Error(`'n' never answered ${value} after the datagram was sent`);
    } finally {
      conn.close();
    }
  } finally {
    udp.close();
  }
}

/** Runs bench/wal-tail.mjs on `dir` (it ends by SIGKILL) and resolves its report. */
function walTail(dir, walBytes) {
  return new Promise((resolve, reject) => {
    const args = [`${ROOT}bench/wal-tail.mjs`, '--dir', dir, '--wal-bytes', String(walBytes), '--probe', PROBE];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      try {
        if (signal !== 'SIGKILL') throw new Error(`exit ${code}`);
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (e) {
        reject(new Error(`wal-tail ${args.slice(1).join(' ')} failed: ${e.message}\n${err}`));
      }
    });
  });
}

const getLine = async (port) => {
  const conn = await connection(port);
  try {
    return (await conn.request(`GET ${PROBE}\n`)).text.trim();
  } finally {
    conn.close();
  }
};

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 10,
  slug: 'restart',
  title: 'restart: spawn to the first `n` and `GET` answered, 10,000 sensors × 1,000 readings on disk',
  servers: ['opc-lite'],
  primary: 'total_ms',
  lowerIsBetter: true,
  cases: (ctx) => {
    const p = params(ctx);
    return CASES.map((c) => ({ ...c, ...p }));
  },
  // Each repeat writes the data dir afresh; the cases run on it in order (clean, then unclean).
  async start(kind, ctx) {
    const p = params(ctx);
    const dir = tempDir('restart');
    try {
      const list = [];
      for (let k = 0; k < p.sensors - 1; k++) list.push(sensor(SHAPES[k % SHAPES.length], k, `r${k}`));
      list.push(sensor('walk', p.sensors, 'default'));
      const ts0 = startMs(p.readings, INTERVAL_MS);
      const written = await writeDataDir(dir, list, { readings: p.readings, ts0, intervalMs: INTERVAL_MS });
      const lastTs = ts0 + (p.readings - 1) * INTERVAL_MS;
      return {
        kind,
        port: 0,
        dir,
        written,
        /** Readings the dir holds: the written ones, then each tail added. */
        held: written.readings,
        expectN: String(written.last[list.length - 1]),
        expectGet: `VAL ${PROBE} ${String(written.last[0])} ${String(lastTs)} ${p.readings}`,
        stop: async () => removeDir(dir),
      };
    } catch (err) {
      removeDir(dir);
      throw err;
    }
  },
  async measure({ server: data, kase, rep }) {
    if (kase.key === 'empty') {
      const dir = tempDir('restart-empty');
      try {
        const { server, totalMs, readyMs } = await timedStart(dir, 'nan', `ERR not-found ${PROBE}`);
        const stats = await server.stats();
        await server.stop();
        return {
          total_ms: totalMs,
          ready_ms: readyMs,
          recovery_ms: stats.storage_recovery_ms,
          readings: stats.storage_readings_recovered,
          held: 0,
        };
      } finally {
        removeDir(dir);
      }
    }

    let tail = 0;
    let walBytes = 0;
    if (kase.key === 'unclean') {
      // A server on the dir takes the tail; once a poll answers its last reading, the log holds it all.
      const live = await startStorageServer({ dir: data.dir });
      try {
        const before = (await live.stats()).readings_accepted;
        const readings = kase.tailPerSensor * (kase.sensors - 1);
        const rate = Math.ceil(TAIL_READINGS_PER_S / TAIL_LINES_PER_DATAGRAM);
        const seconds = Math.ceil(readings / TAIL_READINGS_PER_S) + 10;
        await runTool(
          'udp_send',
          ['-p', live.port, '-r', rate, '-t', seconds, '-f', 'native', '-s', kase.sensors - 1, '-P', 'r'].concat([
            '-b',
            TAIL_LINES_PER_DATAGRAM,
            '-N',
            readings,
            '-T',
          ]),
          { timeoutMs: (seconds + 10) * 1000 },
        );
        await drained(live, { timeoutMs: 10_000, intervalMs: 20 });
        const marker = 777.125 + rep;
        await markDefault(live, marker);
        const stats = await live.stats();
        tail = stats.readings_accepted - before;
        walBytes = stats.storage_wal_bytes;
        data.expectN = String(marker);
        data.expectGet = await getLine(live.port);
        process.kill(live.pid, 'SIGKILL');
      } finally {
        await live.shutdown();
      }
    }

    if (kase.key === 'full-log') {
      const r = await walTail(data.dir, kase.fullLogBytes);
      if (r.checkpoints !== 0) throw new Error(`wal-tail wrote ${r.checkpoints} checkpoint(s): the log was cut`);
      const probe = r.last[PROBE];
      tail = r.readings;
      walBytes = r.walBytes;
      data.expectN = String(r.last.default.value);
      data.expectGet = `VAL ${PROBE} ${String(probe.value)} ${String(probe.ts)} ${probe.seq}`;
    }
    data.held += tail;

    const { server, totalMs, readyMs } = await timedStart(data.dir, data.expectN, data.expectGet);
    const stats = await server.stats();
    await server.stop();
    const readings = stats.storage_readings_recovered;
    return {
      total_ms: totalMs,
      ready_ms: readyMs,
      recovery_ms: stats.storage_recovery_ms,
      readings,
      held: data.held,
      tail,
      wal_bytes: walBytes,
      ms_per_million: totalMs / (readings / 1e6),
      write_ms: data.written.ms,
    };
  },
  line(kase, r) {
    const m = r['opc-lite'];
    const ms = (v) => `${Math.round(v)} ms`;
    const head = `${kase.label.padEnd(11)} ${spread(m.total_ms, ms)} to n+GET (listening at ${ms(m.ready_ms.median)}, store opened in ${ms(m.recovery_ms.median)})`;
    if (kase.key === 'empty') return head;
    const perM = ` = ${m.ms_per_million.median.toFixed(0)} ms per million readings (${si(m.readings.median)} recovered`;
    const tail = m.tail.median ? `, ${si(m.tail.median)} of them from the log, ${si(m.wal_bytes.median)}B` : '';
    return `${head}${perM}${tail})`;
  },
  check: (m) => (m.readings === m.held ? undefined : `recovered ${m.readings} readings, expected ${m.held}`),
};
