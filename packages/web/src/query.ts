/**
 * Query arguments, read strictly: an unknown or repeated argument, or a bad value, is a 400 `bad-args` naming
 * the argument (docs/HTTP.md, "Errors"). Values follow the TCP protocol's grammar: names and patterns as in
 * docs/PROTOCOL.md, "Readings, names and numbers"; times as `RANGE` reads them (docs/PROTOCOL.md, "History:
 * RANGE").
 */
import { isValidName, isValidPattern, parseTimeArg, type TimeArg } from '@opc-lite/protocol';
import { HttpError } from './errors.js';

const DIGITS = /^[0-9]{1,16}$/;

const quote = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

const bad = (message: string): HttpError => new HttpError(400, 'bad-args', message);

/**
 * The query of one request, with the arguments its route knows.
 *
 * @example
 * ```ts
 * const query = new Query(new URLSearchParams('sensor=ramp&points=100'), ['sensor', 'from', 'to', 'points']);
 * query.int('points', 1, 1000); // 100
 * ```
 */
export class Query {
  readonly #values = new Map<string, string>();

  constructor(search: URLSearchParams, known: readonly string[]) {
    for (const [key, value] of search) {
      if (!known.includes(key)) {
        throw bad(
          known.length === 0
            ? `unknown argument '${key}' (this route takes none)`
            : `unknown argument '${key}' (known: ${known.join(', ')})`,
        );
      }
      if (this.#values.has(key)) throw bad(`argument '${key}' given twice`);
      this.#values.set(key, value);
    }
  }

  /** The raw text of an argument, or undefined when absent. */
  get(name: string): string | undefined {
    return this.#values.get(name);
  }

  /** A sensor name; required. */
  sensor(name: string): string {
    const value = this.#values.get(name);
    if (value === undefined || value === '') throw bad(`argument '${name}' is required (a sensor name)`);
    if (!isValidName(value)) {
      throw bad(`argument '${name}' is not a sensor name: ${quote(value)} (1 to 128 of A-Z a-z 0-9 _ . - /)`);
    }
    return value;
  }

  /** A sensor pattern, or `fallback` when absent. */
  pattern(name: string, fallback: string): string {
    const value = this.#values.get(name);
    if (value === undefined) return fallback;
    if (!isValidPattern(value)) {
      throw bad(`argument '${name}' is not a pattern: ${quote(value)} (1 to 128 of A-Z a-z 0-9 _ . - / and *)`);
    }
    return value;
  }

  /** A `RANGE` time (`1764316800125`, `-15m`, `now`), or `fallback` when absent (required without one). */
  time(name: string, fallback?: TimeArg): TimeArg {
    const value = this.#values.get(name);
    if (value === undefined) {
      if (fallback === undefined) throw bad(`argument '${name}' is required (epoch ms, -<n><ms|s|m|h|d> or now)`);
      return fallback;
    }
    const time = parseTimeArg(value);
    if (time === undefined) {
      throw bad(`argument '${name}' is not a time: ${quote(value)} (epoch ms below 1e14, -<n><ms|s|m|h|d> or now)`);
    }
    return time;
  }

  /** A decimal integer in [min, max], or `fallback` when absent (undefined: optional). */
  int(name: string, min: number, max: number, fallback?: number): number | undefined {
    const value = this.#values.get(name);
    if (value === undefined) return fallback;
    const n = DIGITS.test(value) ? Number(value) : Number.NaN;
    if (!(n >= min && n <= max)) {
      throw bad(`argument '${name}' must be an integer from ${min} to ${max} (got ${quote(value)})`);
    }
    return n;
  }

  /** One of `values`, or the first of them when absent. */
  oneOf<T extends string>(name: string, values: readonly [T, ...T[]]): T {
    const value = this.#values.get(name);
    if (value === undefined) return values[0];
    if (!(values as readonly string[]).includes(value)) {
      throw bad(`argument '${name}' must be one of ${values.join(', ')} (got ${quote(value)})`);
    }
    return value as T;
  }
}
