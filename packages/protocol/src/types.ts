/**
 * A stored reading as the server reports it in `VAL` and `PUB` lines (§2).
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
