/**
 * `opc-reader --range <from> [--to <to>] [--points <n>]`: print the readings
 * of a time span (or `n` buckets over it) and exit, through the `RANGE`
 * command (docs/PROTOCOL.md, "History: RANGE"). A reply the server cut is
 * followed to the end (`rangeAll`), so every reading is printed once.
 */
import { DEFAULT_SENSOR, type Bucket, type TimeArg } from '@opc-lite/protocol';
import type { OpcClient } from '@opc-lite/reader-client';
import { CSV_HEADER, formatCsv, formatPlain } from './format.js';

/** What `--range`, `--to` and `--points` asked for. */
export interface RangeArgs {
  readonly from: TimeArg;
  /** `now` unless `--to` is given. */
  readonly to: TimeArg;
  /** Buckets instead of readings. */
  readonly points: number | undefined;
}

/** The CSV header of bucket rows, with its newline. */
export const BUCKET_CSV_HEADER = 'start,sensor,count,min,max,mean,first,last\n';

const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : '');
const figures = (b: Bucket): string[] => [b.min, b.max, b.mean, b.first, b.last].map((v) => String(v));

/**
 * One bucket as a plain line: ISO start, sensor, count, min, max, mean, first, last.
 *
 * @example
 * ```ts
 * formatBucketPlain({ name: 'ramp', startMs: 0, count: 2, min: 1, max: 3, mean: 2, first: 1, last: 3 });
 * // '1970-01-01T00:00:00.000Z ramp 2 1 3 2 1 3\n'
 * ```
 */
export function formatBucketPlain(b: Bucket): string {
  return `${iso(b.startMs)} ${b.name} ${b.count} ${figures(b).join(' ')}\n`;
}

/**
 * One bucket as a CSV row matching {@link BUCKET_CSV_HEADER}.
 *
 * @example
 * ```ts
 * formatBucketCsv({ name: 'ramp', startMs: 0, count: 2, min: 1, max: 3, mean: 2, first: 1, last: 3 });
 * // '1970-01-01T00:00:00.000Z,ramp,2,1,3,2,1,3\n'
 * ```
 */
export function formatBucketCsv(b: Bucket): string {
  return `${iso(b.startMs)},${b.name},${b.count},${figures(b).join(',')}\n`;
}

export interface RunRangeOptions {
  readonly range: RangeArgs;
  /** The sensors to print, one after the other; the default sensor when empty. */
  readonly sensors: readonly string[];
  readonly csv: boolean;
  /** Stop after this many lines (readings or buckets). */
  readonly count: number | undefined;
  readonly signal: AbortSignal;
}

/**
 * Prints the range of each sensor through `write` (awaited: it may wait for
 * the output to drain), header first for CSV.
 * Rejects with the client's error (a `ProtocolError` `not-found` for an
 * unknown sensor, `bad-args` when `from` is after `to`).
 *
 * @example
 * ```ts
 * await runRange(client, { range, sensors: ['ramp'], csv: false, count: undefined, signal }, (t) => process.stdout.write(t));
 * ```
 */
export async function runRange(
  client: OpcClient,
  options: RunRangeOptions,
  write: (text: string) => void | Promise<void>,
): Promise<void> {
  const { range, csv, count, signal } = options;
  const sensors = options.sensors.length > 0 ? options.sensors : [DEFAULT_SENSOR];
  if (csv) await write(range.points === undefined ? CSV_HEADER : BUCKET_CSV_HEADER);
  let printed = 0;
  const full = (): boolean => count !== undefined && printed >= count;
  for (const name of sensors) {
    if (full() || signal.aborted) return;
    if (range.points !== undefined) {
      const { buckets } = await client.range(name, range.from, range.to, { points: range.points, signal });
      for (const b of buckets) {
        if (full()) return;
        await write(csv ? formatBucketCsv(b) : formatBucketPlain(b));
        printed++;
      }
      continue;
    }
    for await (const r of client.rangeAll(name, range.from, range.to, { signal })) {
      await write(csv ? formatCsv(r) : formatPlain(r));
      printed++;
      if (full()) return;
    }
  }
}
