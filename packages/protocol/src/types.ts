/**
 * A stored reading as the server reports it in `VAL` and `PUB` lines (PROTOCOL.md "Readings, names and numbers").
 *
 * @example
 * ```ts
 * const r: Reading = { name: 'ramp', value: 0.35, timestampMs: 1764316800125, seq: 42 };
 * ```
 */
export interface Reading {
  /** Sensor name: 1 to 128 bytes of `A-Z a-z 0-9 _ . - /`. */
  readonly name: string;
  /** A finite float64. */
  readonly value: number;
  /** Unix epoch milliseconds; may carry a fraction. */
  readonly timestampMs: number;
  /** Server sequence number, per sensor, from 1. */
  readonly seq: number;
}

/**
 * One reading as parsed from a UDP line, before the server stores it.
 *
 * @example
 * ```ts
 * const r: IngestReading = { name: 'default', value: 0.35, timestampMs: undefined, senderSeq: undefined };
 * ```
 */
export interface IngestReading {
  readonly name: string;
  readonly value: number;
  /** The sender's timestamp in Unix epoch milliseconds, or `undefined` for "now" (absent or `-1`). */
  readonly timestampMs: number | undefined;
  /** The sender's sequence number (an unsigned safe integer), or `undefined` when not sent. */
  readonly senderSeq: number | undefined;
}

/**
 * One bucket of a `RANGE <name> <from> <to> <points>` reply (v1.1): the
 * readings with timestamps in `[startMs, startMs + width)`, summarised. Only
 * buckets holding readings are sent. `first` and `last` are the values of the
 * bucket's earliest and latest reading, ordered by (timestamp, seq).
 *
 * @example
 * ```ts
 * const b: Bucket = { name: 'ramp', startMs: 1764316800000, count: 60, min: 0, max: 0.98, mean: 0.49, first: 0, last: 0.98 };
 * ```
 */
export interface Bucket {
  readonly name: string;
  /** Where the bucket starts, Unix epoch ms: `from + i × (to − from) / points`; may carry a fraction. */
  readonly startMs: number;
  /** Readings in the bucket (at least 1). */
  readonly count: number;
  readonly min: number;
  readonly max: number;
  /** The arithmetic mean of the bucket's values. */
  readonly mean: number;
  readonly first: number;
  readonly last: number;
}
