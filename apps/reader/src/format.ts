/**
 * Plain and CSV lines for `opc-reader` when it does not draw: one line per
 * reading, in arrival order.
 */

/** A reading as the reader prints it; `seq` is unknown for a legacy `n` poll. */
export interface PrintedReading {
  readonly name: string;
  readonly value: number;
  readonly timestampMs: number;
  readonly seq: number | undefined;
}

/** The CSV header line, with its newline. */
export const CSV_HEADER = 'time,sensor,value,seq\n';

const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : '');
const value = (v: number): string => (Number.isNaN(v) ? 'nan' : String(v));

/**
 * One plain line: ISO time, sensor, value, and the server's sequence number.
 *
 * @example
 * ```ts
 * formatPlain({ name: 'ramp', value: 0.25, timestampMs: 0, seq: 3 });
 * // '1970-01-01T00:00:00.000Z ramp 0.25 3\n'
 * ```
 */
export function formatPlain(r: PrintedReading): string {
  return `${iso(r.timestampMs)} ${r.name} ${value(r.value)}${r.seq === undefined ? '' : ` ${r.seq}`}\n`;
}

/**
 * One CSV row matching {@link CSV_HEADER}. Sensor names never need quoting:
 * they are made of `A-Z a-z 0-9 _ . - /` only.
 *
 * @example
 * ```ts
 * formatCsv({ name: 'ramp', value: 0.25, timestampMs: 0, seq: undefined });
 * // '1970-01-01T00:00:00.000Z,ramp,0.25,\n'
 * ```
 */
export function formatCsv(r: PrintedReading): string {
  return `${iso(r.timestampMs)},${r.name},${value(r.value)},${r.seq ?? ''}\n`;
}
