/**
 * The soak as a test: 30 seconds in CI (`pnpm soak:ci`, and part of this
 * project's run), 10 minutes with `pnpm soak` (OPC_SOAK_SECONDS=600). Writes
 * `tests/reliability/results/soak-<seconds>s.json`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RESULTS_DIR } from './testing/figures.js';
import { stopAllChildren } from './testing/processes.js';
import { rssByMinute, rssCurve, runSoak, SLOPE_RULES } from './soak.js';

afterEach(stopAllChildren);

const seconds = Number(process.env.OPC_SOAK_SECONDS ?? '30');
if (!(Number.isFinite(seconds) && seconds >= 10 && seconds <= 24 * 3600)) {
  throw new RangeError(
    `OPC_SOAK_SECONDS must be a number of seconds from 10 to 86400 (got ${process.env.OPC_SOAK_SECONDS})`,
  );
}

describe('soak', () => {
  it('computes the memory curve after warm-up: min, median, max, and per minute', () => {
    const samples = [0, 1, 2, 3, 4, 5].map((tS) => ({ tS, rssBytes: 100 + tS * 10 }));
    expect(rssCurve(samples, 2)).toMatchObject({
      warmupRssBytes: 120,
      minBytes: 120,
      medianBytes: 135,
      maxBytes: 150,
      maxOverWarmup: 1.25,
      samplesAfterWarmup: 4,
    });
    expect(rssCurve(samples, 5)).toBeUndefined();
    expect(rssByMinute([...samples, { tS: 61, rssBytes: 7 }])).toEqual([
      { minute: 0, minBytes: 100, medianBytes: 125, maxBytes: 150 },
      { minute: 1, minBytes: 7, medianBytes: 7, maxBytes: 7 },
    ]);
  });

  it('reports no slope for a run too short to have a steady part, however steep its warm-up', () => {
    // 30 s rising by 1 MiB a second: the shape of the short soak's warm-up, which a slope would call 60 MiB/min.
    const samples = Array.from({ length: 31 }, (_, tS) => ({ tS, rssBytes: 60 * 2 ** 20 + tS * 2 ** 20 }));
    const curve = rssCurve(samples, 5)!;
    expect(curve.slope).toBeNull();
    expect(curve.slopeNote).toBe(
      'not measured: the steady part (from 120 s) spans 0 s and a slope needs 180 s; ' +
        'before that RSS rises as the heap sizes itself to the load',
    );
  });

  it('fits the slope over the steady part only, from 120 s or the end of warm-up', () => {
    // Rising fast for 120 s, then 1 KiB a second: the slope is that of the steady part.
    const samples = Array.from({ length: 421 }, (_, tS) => ({
      tS,
      rssBytes: tS < 120 ? 50e6 + tS * 1e6 : 170e6 + (tS - 120) * 1024,
    }));
    expect(rssCurve(samples, 30)!.slope).toEqual({
      fromS: 120,
      spanS: 300,
      bytesPerMin: 61_440,
      riseFraction: expect.closeTo((300 * 1024) / (170e6 + 150 * 1024), 4) as number,
    });
    expect(rssCurve(samples, 200)!.slope).toMatchObject({ fromS: 200, spanS: 220, bytesPerMin: 61_440 });
    expect(rssCurve(samples, 241)!.slope).toBeNull(); // 179 s of steady part: not enough
  });

  it(
    `runs ${seconds} s of mixed load with no unexpected disconnect, no lost push and bounded memory`,
    async () => {
      const report = await runSoak({
        durationMs: seconds * 1000,
        reportPath: `${RESULTS_DIR}soak-${seconds}s.json`,
        log: (line) => console.info(`[soak] ${line}`),
      });
      const curve = report.rss.curve;
      console.info(`[soak] load ${JSON.stringify(report.load)}`);
      console.info(`[soak] rss ${JSON.stringify(curve)}`);
      expect(report.unexpected).toEqual([]);
      expect(report.unexpectedDisconnects).toBe(0);
      expect(report.server.exit).toEqual({ code: 0, signal: null });
      expect(report.server.summary).toBeDefined();
      // The load really ran.
      expect(report.load.polls).toBeGreaterThan(seconds * 10);
      expect(report.load.subscribersLeft).toBeGreaterThan(seconds);
      expect(report.load.pubsReceived).toBeGreaterThan(seconds * 100);
      expect(report.load.seqGaps).toBe(0);
      expect(report.server.statsBeforeStop.pushes_dropped).toBe(0);
      // Bounded memory: after warm-up, RSS never reaches twice its warm-up value. (A 1 MiB-per-second
      // leak would pass this in 30 s only if the warm-up RSS were over 30 MiB.)
      expect(curve).toBeDefined();
      expect(curve!.maxBytes).toBeLessThan(2 * curve!.warmupRssBytes);
      // Flat memory, where the run is long enough to say (SLOPE_RULES): the fitted line across the steady part
      // rises by less than 5 % of the RSS. A 30-second run has no steady part and reports no slope.
      const steadyS = seconds - Math.max(report.warmupS, SLOPE_RULES.fromS);
      if (steadyS >= SLOPE_RULES.minSpanS + 2) expect(curve!.slope).not.toBeNull();
      if (curve!.slope !== null) expect(curve!.slope.riseFraction).toBeLessThan(SLOPE_RULES.maxRiseFraction);
    },
    (seconds + 90) * 1000,
  );
});
