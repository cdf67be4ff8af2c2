/**
 * The soak as a test: 30 seconds in CI (`pnpm soak:ci`, and part of this
 * project's run), 10 minutes with `pnpm soak` (OPC_SOAK_SECONDS=600). Writes
 * `tests/reliability/results/soak-<seconds>s.json`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RESULTS_DIR } from './testing/figures.js';
import { stopAllChildren } from './testing/processes.js';
import { rssByMinute, rssCurve, runSoak } from './soak.js';

afterEach(stopAllChildren);

const seconds = Number(process.env.OPC_SOAK_SECONDS ?? '30');
if (!(Number.isFinite(seconds) && seconds >= 10 && seconds <= 24 * 3600)) {
  throw new RangeError(
    `OPC_SOAK_SECONDS must be a number of seconds from 10 to 86400 (got ${process.env.OPC_SOAK_SECONDS})`,
  );
}

describe('soak', () => {
  it('computes the memory curve: min, median, max and slope after warm-up, and per minute', () => {
    const samples = [0, 1, 2, 3, 4, 5].map((tS) => ({ tS, rssBytes: 100 + tS * 10 }));
    expect(rssCurve(samples, 2)).toEqual({
      warmupRssBytes: 120,
      minBytes: 120,
      medianBytes: 135,
      maxBytes: 150,
      slopeBytesPerMin: 600,
      maxOverWarmup: 1.25,
      samplesAfterWarmup: 4,
    });
    expect(rssCurve(samples, 5)).toBeUndefined();
    expect(rssByMinute([...samples, { tS: 61, rssBytes: 7 }])).toEqual([
      { minute: 0, minBytes: 100, medianBytes: 125, maxBytes: 150 },
      { minute: 1, minBytes: 7, medianBytes: 7, maxBytes: 7 },
    ]);
  });

  it(
    `runs ${seconds} s of mixed load with no unexpected disconnect, no lost push and a flat memory curve`,
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
      // leak would pass this in 30 s only if the warm-up RSS were over 30 MiB; the slope is reported.)
      expect(curve).toBeDefined();
      expect(curve!.maxBytes).toBeLessThan(2 * curve!.warmupRssBytes);
    },
    (seconds + 90) * 1000,
  );
});
