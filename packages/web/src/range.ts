/**
 * The body of `GET /api/range` (docs/HTTP.md, "GET /api/range"): what `RANGE` answers (docs/PROTOCOL.md,
 * "History: RANGE"), as JSON or CSV. Values and timestamps are written as the TCP protocol writes them, the
 * shortest decimal that reads back as the same float64 (`String(number)`), which is also valid JSON, so the JSON
 * and the CSV of one range hold the same text for every number.
 */
import type { HistoryReader, Sensor } from '@opc-lite/opc-server';

/**
 * One range read: raw readings (cut at `limit`) or `points` buckets.
 *
 * @example
 * ```ts
 * const read: RangeRead = { sensor, fromMs: 0, toMs: Date.now(), limit: 1000, format: 'json' };
 * ```
 */
export interface RangeRead {
  sensor: Sensor;
  fromMs: number;
  toMs: number;
  /** Buckets when set. */
  points?: number | undefined;
  /** Most raw readings (then `more`). */
  limit: number;
  format: 'json' | 'csv';
}

/** A range answer's text, and where a cut one continues. */
export interface RangeBody {
  body: string;
  /** The timestamp to continue from, when `limit` cut the readings. */
  more: number | undefined;
  /** How many readings or buckets the body holds. */
  rows: number;
}

/** The CSV header of raw readings. */
export const RAW_CSV_HEADER = 'ts,value,seq';
/** The CSV header of buckets. */
export const BUCKET_CSV_HEADER = 'start,count,min,max,mean,first,last';

/**
 * Reads a range from `history` and writes it as JSON or CSV.
 *
 * @example
 * ```ts
 * const { body, more } = rangeBody(server.history, { sensor, fromMs, toMs, limit: 100_000, format: 'csv' });
 * ```
 */
export function rangeBody(history: HistoryReader, read: RangeRead): RangeBody {
  const { sensor, fromMs, toMs, points, limit, format } = read;
  const csv = format === 'csv';
  const parts: string[] = [];
  if (points !== undefined) {
    const rows = history.buckets(sensor, fromMs, toMs, points, (start, count, min, max, mean, first, last) => {
      parts.push(
        csv
          ? `${start},${count},${min},${max},${mean},${first},${last}\n`
          : `{"start":${start},"count":${count},"min":${min},"max":${max},"mean":${mean},"first":${first},"last":${last}}`,
      );
    });
    const body = csv
      ? `${BUCKET_CSV_HEADER}\n${parts.join('')}`
      : `{"sensor":"${sensor.name}","from":${fromMs},"to":${toMs},"points":${points},"buckets":[${parts.join(',')}]}`;
    return { body, more: undefined, rows };
  }
  const { more } = history.range(sensor, fromMs, toMs, limit, (ts, value, seq) => {
    parts.push(csv ? `${ts},${value},${seq}\n` : `{"ts":${ts},"value":${value},"seq":${seq}}`);
  });
  const body = csv
    ? `${RAW_CSV_HEADER}\n${parts.join('')}`
    : `{"sensor":"${sensor.name}","from":${fromMs},"to":${toMs},"readings":[${parts.join(',')}],"more":${more ?? 'null'}}`;
  return { body, more, rows: parts.length };
}
