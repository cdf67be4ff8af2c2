/**
 * The soak: mixed load against the `opc-server` CLI for a fixed time, with
 * the server's resident memory sampled every second.
 *
 * Load, all on 127.0.0.1:
 * - ingest from `opc-sensor` processes (native lines at 200 Hz each, plus one
 *   `--legacy` sensor feeding `default`) and from a UDP sender spreading
 *   readings over many sensor names;
 * - pollers in the original lector's way (connect, `n`, read, close);
 * - query clients on long-lived connections (GET, HIST, LIST, STATS, `n`);
 * - subscribers joining and leaving all the time (`SUB soak.* <backlog>`,
 *   then QUIT, UNSUB, or an abrupt close), each checking that its sequence
 *   numbers are contiguous.
 *
 * A disconnect the harness did not ask for (a close before QUIT, an `ERR`, a
 * failed connect, a sensor that dies) is counted as unexpected. At the end
 * the server gets SIGTERM and must exit 0 with its summary. The report holds
 * the RSS curve (min, median and max after warm-up, and, in a run long enough
 * to have a steady part, the slope of a least-squares line through that part;
 * see {@link SLOPE_RULES}), the load done and the counters.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Reply } from '@opc-lite/protocol';
import { startSensorCli, startServerCli, type Child, type ExitInfo, type LogLine } from './testing/processes.js';
import { TcpClient, fetchStats, statsOf, type StatsRecord } from './testing/tcp-client.js';
import { UdpSender } from './testing/udp.js';

/** What to run and for how long. */
export interface SoakOptions {
  /** How long the load runs, in ms. */
  durationMs: number;
  /** Samples before this are warm-up (default: 10 % of the duration, at least 5 s). */
  warmupMs?: number;
  /** `opc-sensor` processes sending native lines (default 3). */
  sensors?: number;
  /** Their Δt in seconds (default 0.005: 200 readings/s each). */
  sensorIntervalS?: number;
  /** Sensor names the UDP sender spreads readings over (default 200). */
  extraSensorNames?: number;
  /** Lector-style pollers, each polling every `pollIntervalMs` on a new connection (default 4, 50 ms). */
  pollers?: number;
  pollIntervalMs?: number;
  /** Long-lived query clients, each sending a round of queries every 100 ms (default 2). */
  queryClients?: number;
  /** A new subscriber joins this often, in ms, and stays 1 to 5 s (default 500). */
  subscriberEveryMs?: number;
  /** Where to write the JSON report (optional). */
  reportPath?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** One RSS sample. */
export interface RssSample {
  /** Seconds since the load started. */
  tS: number;
  rssBytes: number;
}

/**
 * When the RSS slope means something. The heap grows for the first one to
 * three minutes as V8 sizes its generations to the load (docs/RELIABILITY.md,
 * 'Soak'): a line fitted through that rise and extrapolated to a minute
 * reads as tens of MB per minute, which is warm-up, not a leak. So the slope
 * is fitted only from `fromS` on (or the end of warm-up, if later), and only
 * when that steady part spans at least `minSpanS`; a shorter run reports no
 * slope. Where there is one, the fitted line must rise less than
 * `maxRiseFraction` of the median RSS across the steady part.
 *
 * @example
 * ```ts
 * SLOPE_RULES.minSpanS; // 180: a 10-minute soak has a slope, the 30-second one has none
 * ```
 */
export const SLOPE_RULES = Object.freeze({ fromS: 120, minSpanS: 180, maxRiseFraction: 0.05 });

/** The least-squares line through the steady part of the RSS curve. */
export interface RssSlope {
  /** The first sample fitted, in seconds since the load started. */
  fromS: number;
  /** Seconds between the first and the last sample fitted. */
  spanS: number;
  bytesPerMin: number;
  /** The line's rise across the span as a fraction of the median RSS over it (negative when falling). */
  riseFraction: number;
}

/** The memory curve after warm-up. */
export interface RssCurve {
  /** RSS at the end of warm-up (the first sample at or after it). */
  warmupRssBytes: number;
  minBytes: number;
  medianBytes: number;
  maxBytes: number;
  /** maxBytes / warmupRssBytes. */
  maxOverWarmup: number;
  samplesAfterWarmup: number;
  /** The slope over the steady part, or null when the run is too short to have one (see {@link SLOPE_RULES}). */
  slope: RssSlope | null;
  /** What the slope covers, or why there is none, in words. */
  slopeNote: string;
}

/** RSS over one minute of the run. */
export interface MinuteRss {
  /** Minute of the run, from 0. */
  minute: number;
  minBytes: number;
  medianBytes: number;
  maxBytes: number;
}

/** The soak's outcome. */
export interface SoakReport {
  startedAt: string;
  node: string;
  durationS: number;
  warmupS: number;
  load: {
    sensorProcesses: number;
    sensorReadingsSent: number;
    udpReadingsSent: number;
    polls: number;
    queries: number;
    subscribersJoined: number;
    subscribersLeft: number;
    pubsReceived: number;
    /** Readings a subscriber missed (a seq jump within one subscription). */
    seqGaps: number;
  };
  /** Disconnects and errors the harness did not ask for. */
  unexpectedDisconnects: number;
  unexpected: string[];
  rss: { samples: RssSample[]; curve: RssCurve | undefined; byMinute: MinuteRss[] };
  server: {
    statsBeforeStop: StatsRecord;
    summary: LogLine | undefined;
    exit: ExitInfo;
    exitAfterMs: number;
    /** Warning and error lines of the server's log (pino level >= 40), at most 50. */
    warnings: LogLine[];
  };
}

/** Median of a non-empty list. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Least-squares slope of RSS over time, in bytes per second. */
function fitSlope(samples: readonly RssSample[]): number {
  const n = samples.length;
  const meanT = samples.reduce((sum, s) => sum + s.tS, 0) / n;
  const meanV = samples.reduce((sum, s) => sum + s.rssBytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.tS - meanT) * (s.rssBytes - meanV);
    den += (s.tS - meanT) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * The curve of the samples taken at or after `warmupS`: min, median, max,
 * and the slope over the steady part when the run has one
 * ({@link SLOPE_RULES}); undefined with fewer than two samples after warm-up.
 *
 * @example
 * ```ts
 * rssCurve([{ tS: 0, rssBytes: 50e6 }, { tS: 5, rssBytes: 60e6 }, { tS: 6, rssBytes: 60e6 }], 5);
 * // { warmupRssBytes: 60e6, ..., slope: null, slopeNote: 'not measured: ...' }
 * ```
 */
export function rssCurve(
  samples: readonly RssSample[],
  warmupS: number,
  rules: Readonly<typeof SLOPE_RULES> = SLOPE_RULES,
): RssCurve | undefined {
  const after = samples.filter((s) => s.tS >= warmupS);
  if (after.length < 2) return undefined;
  const values = after.map((s) => s.rssBytes);
  const warmupRssBytes = after[0]!.rssBytes;
  const maxBytes = Math.max(...values);

  const fromS = Math.max(warmupS, rules.fromS);
  const steady = after.filter((s) => s.tS >= fromS);
  const spanS = steady.length < 2 ? 0 : steady.at(-1)!.tS - steady[0]!.tS;
  let slope: RssSlope | null = null;
  let slopeNote: string;
  if (spanS < rules.minSpanS) {
    slopeNote =
      `not measured: the steady part (from ${fromS} s) spans ${Math.round(spanS)} s and a slope needs ` +
      `${rules.minSpanS} s; before that RSS rises as the heap sizes itself to the load`;
  } else {
    const perS = fitSlope(steady);
    const riseFraction = (perS * spanS) / median(steady.map((s) => s.rssBytes));
    slope = {
      fromS: steady[0]!.tS,
      spanS: Math.round(spanS * 10) / 10,
      bytesPerMin: Math.round(perS * 60),
      riseFraction: Math.round(riseFraction * 10_000) / 10_000,
    };
    slopeNote =
      `least squares over ${slope.fromS}-${steady.at(-1)!.tS} s; the line must rise less than ` +
      `${rules.maxRiseFraction * 100} % of the median RSS across it`;
  }
  return {
    warmupRssBytes,
    minBytes: Math.min(...values),
    medianBytes: median(values),
    maxBytes,
    maxOverWarmup: Math.round((maxBytes / warmupRssBytes) * 1000) / 1000,
    samplesAfterWarmup: after.length,
    slope,
    slopeNote,
  };
}

/**
 * Min, median and max RSS per minute of the run: the curve at a glance.
 *
 * @example
 * ```ts
 * rssByMinute([{ tS: 0, rssBytes: 1 }, { tS: 30, rssBytes: 3 }, { tS: 61, rssBytes: 2 }]);
 * // [{ minute: 0, minBytes: 1, medianBytes: 2, maxBytes: 3 }, { minute: 1, minBytes: 2, medianBytes: 2, maxBytes: 2 }]
 * ```
 */
export function rssByMinute(samples: readonly RssSample[]): MinuteRss[] {
  const minutes = new Map<number, number[]>();
  for (const s of samples) {
    const minute = Math.floor(s.tS / 60);
    const list = minutes.get(minute) ?? [];
    list.push(s.rssBytes);
    minutes.set(minute, list);
  }
  return [...minutes].map(([minute, values]) => ({
    minute,
    minBytes: Math.min(...values),
    medianBytes: median(values),
    maxBytes: Math.max(...values),
  }));
}

/** Runs the soak and returns (and optionally writes) its report. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const durationMs = options.durationMs;
  const warmupMs = options.warmupMs ?? Math.max(5000, durationMs / 10);
  const log = options.log ?? ((): void => {});
  const unexpected: string[] = [];
  const flag = (what: string): void => {
    if (unexpected.length < 1000) unexpected.push(`${((performance.now() - t0) / 1000).toFixed(1)}s ${what}`);
    log(`unexpected: ${what}`);
  };
  const load = {
    sensorProcesses: 0,
    sensorReadingsSent: 0,
    udpReadingsSent: 0,
    polls: 0,
    queries: 0,
    subscribersJoined: 0,
    subscribersLeft: 0,
    pubsReceived: 0,
    seqGaps: 0,
  };

  const cli = await startServerCli();
  const port = cli.port;
  const t0 = performance.now();
  const elapsedS = (): number => (performance.now() - t0) / 1000;
  let running = true;
  void cli.child.exited.then((exit) => {
    if (!running) return;
    // Say why: a signal from outside shows as the CLI's own "shutting down" line.
    const shutdown = cli.logs().find((line) => line.msg === 'shutting down');
    flag(
      `the server exited during the run ${JSON.stringify(exit)}; ${JSON.stringify(shutdown ?? cli.child.stderr.slice(-300))}`,
    );
  });
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => void): void => {
    timers.push(setInterval(fn, ms));
  };
  const tasks = new Set<Promise<unknown>>();
  const track = (task: Promise<unknown>): void => {
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  };

  // ---- memory ---------------------------------------------------------------
  const samples: RssSample[] = [];
  const sample = async (): Promise<void> => {
    const rssBytes = await cli.child.rssBytes();
    if (rssBytes !== undefined) samples.push({ tS: Math.round(elapsedS() * 10) / 10, rssBytes });
  };
  await sample();
  every(1000, () => track(sample()));
  every(Math.min(30_000, Math.max(5000, durationMs / 20)), () => {
    const last = samples.at(-1);
    log(
      `t=${elapsedS().toFixed(0)}s rss=${last ? (last.rssBytes / 2 ** 20).toFixed(1) : '?'}MiB polls=${load.polls} ` +
        `queries=${load.queries} subscribers=${load.subscribersJoined}/${load.subscribersLeft} pubs=${load.pubsReceived} ` +
        `unexpected=${unexpected.length}`,
    );
  });

  // ---- ingest ---------------------------------------------------------------
  const sensors: Child[] = [];
  const sensorCount = options.sensors ?? 3;
  for (let i = 0; i < sensorCount; i++) {
    sensors.push(
      startSensorCli(port, options.sensorIntervalS ?? 0.005, ['--name', `soak.${i}`, '--period', String(1 + i)]),
    );
  }
  sensors.push(startSensorCli(port, 0.05, ['--legacy']));
  load.sensorProcesses = sensors.length;
  for (const sensor of sensors) {
    void sensor.exited.then((exit) => {
      if (running) flag(`opc-sensor ${sensor.pid} exited ${JSON.stringify(exit)}: ${sensor.stderr.slice(-300)}`);
    });
  }
  const udp = await UdpSender.open();
  const names = options.extraSensorNames ?? 200;
  let udpRound = 0;
  every(20, () => {
    // 50 readings per datagram, 50 datagrams/s: 2,500 readings/s over `names` sensors.
    let text = '';
    for (let j = 0; j < 50; j++) text += `spread.${(udpRound * 50 + j) % names} ${j}\n`;
    udpRound++;
    track(
      udp.send(port, text).then(
        () => (load.udpReadingsSent += 50),
        (err: unknown) => flag(`UDP send failed: ${String(err)}`),
      ),
    );
  });

  // ---- pollers (the lector: a connection per poll) ----------------------------
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  for (let i = 0; i < (options.pollers ?? 4); i++) {
    let busy = false;
    every(pollIntervalMs, () => {
      if (busy || !running) return;
      busy = true;
      track(
        (async () => {
          const client = await TcpClient.connect(port);
          try {
            await client.poll();
            load.polls++;
          } finally {
            client.destroy();
          }
        })()
          .catch((err: unknown) => flag(`poll failed: ${String(err)}`))
          .finally(() => (busy = false)),
      );
    });
  }

  // ---- query clients (long-lived), once the sensors they ask about exist ------
  const sensorSeen = async (name: string): Promise<void> => {
    const client = await TcpClient.connect(port);
    try {
      await pollUntil(async () => {
        await client.send(`GET ${name}\n`);
        return (await client.next()).kind === 'val';
      }, `sensor ${name} to appear`);
    } finally {
      client.destroy();
    }
  };
  await sensorSeen('soak.0').catch((err: unknown) => flag(String(err)));
  await sensorSeen('soak.1').catch((err: unknown) => flag(String(err)));
  const queryClients: TcpClient[] = [];
  for (let i = 0; i < (options.queryClients ?? 2); i++) {
    const client = await TcpClient.connect(port, { keepReplies: true });
    queryClients.push(client);
    void client.closedPromise.then(() => {
      if (running)
        flag(`query client ${i} closed by the server; last replies ${JSON.stringify(client.replies.slice(-3))}`);
    });
    let busy = false;
    every(100, () => {
      if (busy || !running) return;
      busy = true;
      track(
        (async () => {
          await client.send('GET soak.0\n');
          expectKind(await client.next(), 'val');
          const hist = await client.request('HIST soak.1 20\n');
          expectKind(hist.at(-1)!, 'end');
          const list = await client.request('LIST soak.*\n');
          expectKind(list.at(-1)!, 'end');
          statsOf(await client.request('STATS\n'));
          await client.send('n');
          expectKind(await client.next(), 'value');
          client.forget(); // keep the reply list short
          load.queries += 5;
        })()
          .catch((err: unknown) => {
            if (running) flag(`query client ${i}: ${String(err)}`);
          })
          .finally(() => (busy = false)),
      );
    });
  }

  // ---- subscribers joining and leaving ---------------------------------------
  let nextSubscriber = 0;
  const live = new Set<TcpClient>();
  every(options.subscriberEveryMs ?? 500, () => {
    if (!running) return;
    const id = nextSubscriber++;
    track(
      (async () => {
        let leaving = false;
        const lastSeq = new Map<string, number>();
        const client = await TcpClient.connect(port, {
          keepReplies: false,
          onReply: (reply: Reply) => {
            if (reply.kind === 'pub') {
              load.pubsReceived++;
              const previous = lastSeq.get(reply.reading.name);
              if (previous !== undefined && reply.reading.seq !== previous + 1) load.seqGaps++;
              lastSeq.set(reply.reading.name, reply.reading.seq);
            } else if (reply.kind === 'err') {
              flag(`subscriber ${id} got ERR ${reply.code} ${reply.detail}`);
            }
          },
        });
        live.add(client);
        load.subscribersJoined++;
        void client.closedPromise.then(() => {
          live.delete(client);
          if (!leaving && running) flag(`subscriber ${id} closed by the server`);
        });
        await client.send(`SUB soak.* ${id % 3 === 0 ? 0 : 10}\n`);
        if (id % 4 === 0) await client.send('SUB spread.1* 5\n');
        // Stay 1 to 5 s, then leave one of three ways.
        await new Promise<void>((resolve) => setTimeout(resolve, 1000 + ((id * 7919) % 4000)));
        leaving = true;
        if (client.closed) return;
        if (id % 3 === 0) client.destroy();
        else {
          if (id % 3 === 1) await client.send('UNSUB\n');
          await client.send('QUIT\n');
          await client.waitClosed();
        }
        load.subscribersLeft++;
      })().catch((err: unknown) => {
        if (running) flag(`subscriber ${id}: ${String(err)}`);
      }),
    );
  });

  // ---- run, then stop ----------------------------------------------------------
  await new Promise<void>((resolve) => setTimeout(resolve, durationMs));
  const statsBeforeStop = await fetchStats(port).catch((err: unknown) => {
    flag(`final STATS failed: ${String(err)}`);
    const empty: StatsRecord = {};
    return empty;
  });
  running = false;
  for (const timer of timers) clearInterval(timer);
  for (const client of live) client.destroy();
  for (const client of queryClients) client.destroy();
  await Promise.allSettled([...tasks]);
  udp.close();
  await sample();

  for (const sensor of sensors) sensor.kill('SIGINT');
  for (const sensor of sensors) {
    await sensor.exited;
    const sent = /(\d+) readings? sent/.exec(sensor.stderr);
    if (sent) load.sensorReadingsSent += Number(sent[1]);
  }
  const stopAt = performance.now();
  cli.child.kill('SIGTERM');
  const exit = await cli.child.exited;
  const exitAfterMs = Math.round(performance.now() - stopAt);
  if (exit.code !== 0) flag(`the server exited ${JSON.stringify(exit)}`);
  const summary = cli.logs().find((line) => line.msg === 'summary');

  const warmupS = warmupMs / 1000;
  const report: SoakReport = {
    startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
    node: process.version,
    durationS: Math.round(durationMs / 100) / 10,
    warmupS,
    load,
    unexpectedDisconnects: unexpected.length,
    unexpected,
    rss: { samples, curve: rssCurve(samples, warmupS), byMinute: rssByMinute(samples) },
    server: {
      statsBeforeStop,
      summary,
      exit,
      exitAfterMs,
      warnings: cli
        .logs()
        .filter((line) => (line.level ?? 0) >= 40)
        .slice(0, 50),
    },
  };
  if (options.reportPath !== undefined) {
    mkdirSync(dirname(options.reportPath), { recursive: true });
    writeFileSync(options.reportPath, `${JSON.stringify(report, null, 2)}\n`);
  }
  return report;
}

/** Calls `probe` every 20 ms until it returns true; rejects after `timeoutMs`. */
async function pollUntil(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
  }
}

function expectKind(reply: Reply, kind: Reply['kind']): void {
  if (reply.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(reply)}`);
}
