// Scenario 12, the page in headless Chromium: 20 sensors at 100 readings/s
// each (udp_send: 100 datagrams/s of 20 native lines, one per sensor, with
// the send time), after a minute of history at the same rate, the page open
// on them (`?pattern=s*&window=1m`, 1000 × 700 px). Measured by the browser
// itself over the measurement:
//
//   frame time    requestAnimationFrame deltas (p50, p95, max) of a loop the
//                 bench adds to the page
//   busy %        the main thread's task time from CDP Performance.getMetrics
//                 (TaskDuration) over the wall time
//   long tasks    PerformanceObserver 'longtask' entries (over 50 ms)
//   lag           now − the newest reading on the chart, at the end
//
// Against the same page on the same history with no readings arriving
// ("idle"), measured in the same run: the ratios are what live updates cost.
// All 20 sensors are drawn (the page draws up to 50, docs/HTTP.md, "The
// page"). Skipped without /usr/bin/chromium.
import { runTool } from '../lib/loadgen.mjs';
import { sendReadings } from '../lib/storage.mjs';
import { hasChromium, launchChromium, startWebServer } from '../lib/web.mjs';
import { sensor } from '../lib/workload.mjs';
import { delay, poll } from '../lib/util.mjs';

const SENSORS = 20;
const RATE = 100; // per sensor, per second
const HISTORY_S = 60;
const NAMES = Array.from({ length: SENSORS }, (_, i) => `s${i}`);

const params = (ctx) =>
  ctx.smoke
    ? { historyS: 2, seconds: ctx.seconds, warmupS: 0.25 }
    : { historyS: HISTORY_S, seconds: ctx.seconds, warmupS: 1 };

/* global PerformanceObserver, performance, requestAnimationFrame -- collect() runs in the page */
/** The collector the bench adds to the page: rAF deltas and long tasks, until `ms` have passed. */
function collect(ms) {
  return new Promise((resolve) => {
    const deltas = [];
    const longTasks = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push(e.duration);
    });
    try {
      observer.observe({ type: 'longtask' });
    } catch {
      // no long-task timing in this browser: none counted
    }
    const start = performance.now();
    let last = start;
    const frame = (t) => {
      deltas.push(t - last);
      last = t;
      if (t - start < ms) requestAnimationFrame(frame);
      else {
        observer.disconnect();
        const xs = globalThis.__opc?.plot?.data?.[0] ?? [];
        const newest = xs.length ? xs[xs.length - 1] : NaN;
        resolve({ deltas: deltas.slice(1), longTasks, lagMs: Date.now() - newest, points: xs.length });
      }
    };
    requestAnimationFrame((t) => {
      last = t;
      requestAnimationFrame(frame);
    });
  });
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 12,
  slug: 'page',
  title: `the page in headless Chromium: ${SENSORS} sensors at ${RATE} readings/s each, frame time and main-thread busy %`,
  servers: hasChromium ? ['live', 'idle'] : [],
  primary: 'frame_p95_ms',
  lowerIsBetter: true,
  cases: () => [{ key: `${SENSORS}x${RATE}`, label: `${SENSORS} × ${RATE}/s` }],
  extraRatios: () => ['busy_pct'],
  async start(kind, ctx) {
    const p = params(ctx);
    const server = await startWebServer({ extraArgs: ['--history', String(HISTORY_S * RATE)] });
    let browser;
    try {
      // A minute of history at the live rate, ending now, so the page opens on a full window.
      const list = NAMES.map((name, i) => sensor('walk', i, name));
      const intervalMs = 1000 / RATE;
      const readings = p.historyS * RATE;
      await sendReadings(server.port, list, { readings, ts0: Date.now() - readings * intervalMs, intervalMs });
      const stored = await poll(async () => (await server.stats()).readings_accepted >= readings * SENSORS, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      if (!stored) throw new Error('the history did not reach the server');
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      await page.goto(`${server.base}/?pattern=s*&window=1m`);
      await page.waitForFunction(() => (globalThis.__opc?.plot?.data?.[0]?.length ?? 0) > 0, undefined, {
        timeout: 30_000,
      });
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      return {
        ...server,
        kind,
        page,
        cdp,
        stop: async () => {
          await browser.close().catch(() => undefined);
          await server.stop();
        },
      };
    } catch (err) {
      await browser?.close().catch(() => undefined);
      await server.stop();
      throw err;
    }
  },
  async measure({ server, ctx }) {
    const p = params(ctx);
    const live = server.kind === 'live';
    const totalS = p.warmupS + p.seconds;
    const before = await server.stats();
    // One datagram per 1/RATE s holds one reading of every sensor.
    const sending = live
      ? runTool(
          'udp_send',
          ['-p', server.port, '-r', RATE, '-n', Math.round(RATE * (totalS + 1)), '-t', totalS + 1].concat([
            '-f',
            'native',
            '-b',
            SENSORS,
            '-s',
            SENSORS,
            '-P',
            's',
            '-T',
            '-S',
          ]),
          { timeoutMs: (totalS + 15) * 1000 },
        )
      : undefined;
    await delay(p.warmupS * 1000);
    const metrics = async () =>
      Object.fromEntries((await server.cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const m0 = await metrics();
    const seen = await server.page.evaluate(collect, p.seconds * 1000);
    const m1 = await metrics();
    const sent = sending ? await sending : undefined;
    const after = await server.stats();
    const wallS = m1.Timestamp - m0.Timestamp;
    return {
      frames: seen.deltas.length,
      fps: seen.deltas.length / wallS,
      frame_p50_ms: quantile(seen.deltas, 0.5),
      frame_p95_ms: quantile(seen.deltas, 0.95),
      frame_max_ms: Math.max(...seen.deltas),
      busy_pct: (100 * (m1.TaskDuration - m0.TaskDuration)) / wallS,
      script_pct: (100 * (m1.ScriptDuration - m0.ScriptDuration)) / wallS,
      long_tasks: seen.longTasks.length,
      long_task_ms: seen.longTasks.reduce((a, b) => a + b, 0),
      lag_ms: seen.lagMs,
      points: seen.points,
      // What the sender sent over its whole run (it starts before the warm-up and ends after the measurement).
      readings_per_s: sent ? sent.readings / sent.elapsed_s : 0,
      sent: sent?.readings ?? 0,
      stored: after.readings_accepted - before.readings_accepted,
    };
  },
  line(kase, r, order) {
    const ms = (v) => `${v.toFixed(1)} ms`;
    const parts = order
      .filter((k) => r[k])
      .map((k) => {
        const m = r[k];
        return (
          `${k} frame p50 ${ms(m.frame_p50_ms.median)} p95 ${ms(m.frame_p95_ms.median)} max ${ms(m.frame_max_ms.max)} ` +
          `(${m.fps.median.toFixed(0)} fps), busy ${m.busy_pct.median.toFixed(1)}% (script ${m.script_pct.median.toFixed(1)}%), ` +
          `long tasks ${m.long_tasks.max}, lag ${ms(m.lag_ms.median)}, ${Math.round(m.readings_per_s.median)} readings/s in`
        );
      });
    return `${kase.label.padEnd(10)} ${parts.join(' | ')}`;
  },
  check: (m) => {
    if (!(m.frames > 0)) return 'no animation frame measured';
    if (m.stored < m.sent * 0.99) return `${m.stored} of ${m.sent} readings sent stored`;
    return undefined;
  },
};
