// Scenario 14, /api/range over a long history: one sensor with 1,000,000
// readings (one a second, written with @opc-lite/tsdb directly, as scenario
// 11 does) and `GET /api/range?sensor=walk&from=<first>&to=<end>&points=1000`,
// 1,000 buckets of 1,000 readings each, as the round trip of that one request
// on an idle keep-alive connection, the answer's JSON parsed and checked.
//
// Against `RANGE walk <first> <end> 1000` over TCP to the same server in the
// same run: both after two untimed requests (warm caches), one request at a
// time, alternating between the two paths. Both answers must agree: the same
// buckets with the same counts, min, max, first and last.
import { connection, endsWithEnd, removeDir, tempDir, writeDataDir } from '../lib/storage.mjs';
import { httpClient, startWebServer } from '../lib/web.mjs';
import { sensor, startMs } from '../lib/workload.mjs';
import { median, si, spread } from '../lib/util.mjs';

const FULL = { readings: 1_000_000, points: 1000, requests: 20 };
const SMOKE = { readings: 10_000, points: 100, requests: 3 };
const INTERVAL_MS = 1000;
const NAME = 'walk';

const params = (ctx) => (ctx.smoke ? SMOKE : FULL);

/** The server both kinds use in one repeat (the harness starts one per kind): started by the first, stopped by the last. */
let shared;
/** The latest answer of each kind, as [count, min, max, first, last] rows. */
const answers = new Map();
let agreed = false;

async function openShared(ctx) {
  const p = params(ctx);
  const dir = tempDir('http-range');
  try {
    const ts0 = startMs(p.readings, INTERVAL_MS);
    const written = await writeDataDir(dir, [sensor('walk', 0, NAME)], {
      readings: p.readings,
      ts0,
      intervalMs: INTERVAL_MS,
    });
    const server = await startWebServer({ dataDir: dir });
    return { server, dir, written, from: ts0, to: ts0 + p.readings * INTERVAL_MS, users: 0 };
  } catch (err) {
    removeDir(dir);
    throw err;
  }
}

const stats = (samples) => ({
  ms: median(samples),
  min_ms: Math.min(...samples),
  max_ms: Math.max(...samples),
  samples: samples.length,
});

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 14,
  slug: 'http-range',
  title: '/api/range of one sensor over 1,000,000 readings in 1,000 buckets: round trip, against RANGE over TCP',
  servers: ['http', 'tcp'],
  primary: 'ms',
  lowerIsBetter: true,
  cases: (ctx) => {
    const p = params(ctx);
    return [{ key: 'warm', label: `${si(p.readings)} → ${p.points} warm`, ...p }];
  },
  async start(kind, ctx) {
    // A failed start is not kept: the next repeat tries again.
    shared ??= openShared(ctx).catch((err) => {
      shared = undefined;
      throw err;
    });
    const s = await shared;
    s.users++;
    return {
      kind,
      port: s.server.port,
      shared: s,
      stop: async () => {
        if (--s.users > 0) return;
        shared = undefined;
        try {
          await s.server.stop();
        } finally {
          removeDir(s.dir);
        }
      },
    };
  },
  async measure({ server: handle, kase }) {
    const s = handle.shared;
    const samples = [];
    let rows = [];
    if (handle.kind === 'http') {
      const client = httpClient(s.server.base);
      const path = `/api/range?sensor=${NAME}&from=${s.from}&to=${s.to}&points=${kase.points}`;
      try {
        for (let i = 0; i < kase.requests + 2; i++) {
          const r = await client.get(path);
          if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body.slice(0, 200)}`);
          const { buckets } = JSON.parse(r.body);
          if (i >= 2) samples.push(r.ms); // the first two untimed
          rows = buckets.map((b) => [b.count, b.min, b.max, b.first, b.last]);
        }
      } finally {
        client.close();
      }
    } else {
      const conn = await connection(s.server.port);
      const command = `RANGE ${NAME} ${s.from} ${s.to} ${kase.points}\n`;
      try {
        for (let i = 0; i < kase.requests + 2; i++) {
          const r = await conn.request(command, endsWithEnd);
          if (i >= 2) samples.push(r.ms);
          rows = r.text
            .split('\n')
            .filter((l) => l.startsWith('BUCKET '))
            .map((l) => {
              // BUCKET <name> <start> <count> <min> <max> <mean> <first> <last>
              const f = l.split(' ').map(Number);
              return [f[3], f[4], f[5], f[7], f[8]];
            });
        }
      } finally {
        conn.close();
      }
    }
    answers.set(handle.kind, rows);
    return { ...stats(samples), buckets: rows.length, load_ms: s.written.ms };
  },
  crossCheck() {
    const a = answers.get('http');
    const b = answers.get('tcp');
    if (!a || !b) return undefined;
    if (a.length !== b.length) return `HTTP gave ${a.length} buckets, TCP ${b.length}`;
    const i = a.findIndex((row, k) => row.some((v, f) => v !== b[k][f]));
    agreed = i === -1;
    return agreed ? undefined : `bucket ${i} differs: HTTP ${a[i].join(' ')} vs TCP ${b[i].join(' ')}`;
  },
  line(kase, r, order) {
    const ms = (v) => `${v.toFixed(1)} ms`;
    const parts = order
      .filter((k) => r[k])
      .map((k) => `${k} ${spread(r[k].ms, ms)} (${r[k].samples.median} runs, min ${ms(r[k].min_ms.min)})`);
    const same = agreed ? '; the answers agree bucket by bucket' : '';
    return `${kase.label.padEnd(14)} ${parts.join(' | ')}${same}`;
  },
  check: (m, kase) =>
    m.buckets === kase.points ? undefined : `${m.buckets} non-empty buckets, expected ${kase.points}`,
};
