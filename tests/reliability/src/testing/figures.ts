/**
 * Figures measured by the tests (latencies, memory, counts), written to
 * `tests/reliability/results/<name>.json` and logged, for docs/RELIABILITY.md.
 * They are records, never assertions: speed is measured by benchmarks.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where figures and soak reports are written (ignored by git). */
export const RESULTS_DIR = fileURLToPath(new URL('../../results/', import.meta.url));

/** Writes `figures` as `<name>.json` and logs them on one line. */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}${name}.json`, `${JSON.stringify(figures, null, 2)}\n`);
  console.info(`[figures] ${name} ${JSON.stringify(figures)}`);
}

/** Summary of a list of durations (ms): count, min, median, p99, max, rounded to 0.01 ms. */
export function latencySummary(samples: readonly number[]): {
  count: number;
  minMs: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
} {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return {
    count: sorted.length,
    minMs: round(sorted[0] ?? Number.NaN),
    medianMs: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}
