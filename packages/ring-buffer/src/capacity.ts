// Capacity validation shared by both buffers. Errors carry Node's codes so
// callers can switch on `code` as well as on the class.

/**
 * The largest capacity either buffer accepts: 2**31 - 1.
 *
 * @example
 * ```ts
 * import { MAX_CAPACITY, RingBuffer } from '@opc-lite/ring-buffer';
 * const capacity = Math.min(requested, MAX_CAPACITY);
 * new RingBuffer<number>(capacity);
 * ```
 */
export const MAX_CAPACITY = 2 ** 31 - 1;

/**
 * Returns `capacity` if it is an integer in 1..{@link MAX_CAPACITY}.
 *
 * @throws {TypeError} `code: 'ERR_INVALID_ARG_TYPE'` when it is not a number.
 * @throws {RangeError} `code: 'ERR_OUT_OF_RANGE'` when it is not an integer in range.
 */
export function validateCapacity(capacity: unknown): number {
  if (typeof capacity !== 'number') {
    throw Object.assign(new TypeError(`capacity must be a number, got ${describe(capacity)}`), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  }
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
    throw Object.assign(new RangeError(`capacity must be an integer from 1 to ${MAX_CAPACITY}, got ${capacity}`), {
      code: 'ERR_OUT_OF_RANGE',
    });
  }
  return capacity;
}

/** Turns a count argument (`last(n)`) into an integer in 0..size, as `Array.prototype.slice` would. */
export function clampCount(n: number, size: number): number {
  const count = Math.trunc(n) || 0; // NaN → 0
  return count <= 0 ? 0 : count >= size ? size : count;
}

/** Turns an `at()` index into a logical position in 0..size-1, or -1 when out of range (Array.prototype.at rules). */
export function resolveIndex(index: number, size: number): number {
  let i = Math.trunc(index) || 0; // NaN → 0
  if (i < 0) i += size;
  return i >= 0 && i < size ? i : -1;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return typeof value;
}
