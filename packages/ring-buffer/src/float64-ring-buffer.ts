// How it works: one Float64Array of `capacity` slots, allocated once in the
// constructor, used as a circle. `#head` is the slot of the oldest value and
// `#size` how many slots are in use; logical index i (0 = oldest) lives at slot
// (#head + i) % capacity. A push writes one slot and moves two integers, so it
// never allocates. Reads that hand out values (`last`, `toArray`) return copies;
// `copyLast` copies into a caller's array so a render loop can reuse one.

import { clampCount, resolveIndex, validateCapacity } from './capacity.js';

/**
 * A fixed-capacity circular buffer of numbers backed by one `Float64Array`:
 * `push` allocates nothing, which suits a per-reading hot path. When full, a
 * push overwrites the oldest value.
 *
 * @example
 * ```ts
 * import { Float64RingBuffer } from '@opc-lite/ring-buffer';
 *
 * const values = new Float64RingBuffer(20);
 * values.push(0.35);
 * values.push(0.4);
 * values.at(-1); // 0.4
 * values.toArray(); // Float64Array [0.35, 0.4]
 * ```
 */
export class Float64RingBuffer implements Iterable<number> {
  /**
   * How many values the buffer holds before it starts overwriting.
   *
   * @example
   * ```ts
   * new Float64RingBuffer(20).capacity; // 20
   * ```
   */
  readonly capacity: number;

  readonly #values: Float64Array;
  #head = 0;
  #size = 0;
  #overwritten = 0;

  /**
   * Allocates the backing `Float64Array` (8 bytes per slot) at once.
   *
   * @param capacity An integer from 1 to 2**31 - 1.
   * @throws {TypeError} When `capacity` is not a number (`code: 'ERR_INVALID_ARG_TYPE'`).
   * @throws {RangeError} When `capacity` is not an integer in range (`code: 'ERR_OUT_OF_RANGE'`),
   *   or when the engine cannot allocate that much memory.
   *
   * @example
   * ```ts
   * const timestamps = new Float64RingBuffer(1000);
   * ```
   */
  constructor(capacity: number) {
    this.capacity = validateCapacity(capacity);
    this.#values = new Float64Array(this.capacity);
  }

  /**
   * How many values the buffer holds now, 0..capacity.
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(2);
   * buffer.push(1);
   * buffer.size; // 1
   * ```
   */
  get size(): number {
    return this.#size;
  }

  /**
   * Whether the next push will overwrite the oldest value.
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(1);
   * buffer.push(1);
   * buffer.isFull; // true
   * ```
   */
  get isFull(): boolean {
    return this.#size === this.capacity;
  }

  /**
   * How many values were overwritten since construction or the last `clear()`.
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(2);
   * for (const n of [1, 2, 3]) buffer.push(n);
   * buffer.overwritten; // 1
   * ```
   */
  get overwritten(): number {
    return this.#overwritten;
  }

  /**
   * Appends a value as the newest; when full, overwrites the oldest. Allocates nothing.
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(2);
   * buffer.push(1);
   * buffer.push(2);
   * buffer.push(3); // overwrites 1
   * buffer.toArray(); // Float64Array [2, 3]
   * ```
   */
  push(value: number): void {
    if (this.#size < this.capacity) {
      this.#values[this.#slotOf(this.#size)] = value;
      this.#size++;
      return;
    }
    this.#values[this.#head] = value;
    this.#head = this.#head + 1 === this.capacity ? 0 : this.#head + 1;
    this.#overwritten++;
  }

  /**
   * The value at a logical index: 0 is the oldest, -1 the newest (as
   * `Array.prototype.at`). Out of range returns `undefined`.
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(3);
   * buffer.push(1.5);
   * buffer.push(2.5);
   * buffer.at(0); // 1.5
   * buffer.at(-1); // 2.5
   * buffer.at(2); // undefined
   * ```
   */
  at(index: number): number | undefined {
    const i = resolveIndex(index, this.#size);
    return i < 0 ? undefined : this.#values[this.#slotOf(i)];
  }

  /**
   * The newest `n` values, oldest first, in a new `Float64Array`; `n` is clamped to 0..size.
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(5);
   * for (const n of [1, 2, 3, 4]) buffer.push(n);
   * buffer.last(2); // Float64Array [3, 4]
   * ```
   */
  last(n: number): Float64Array {
    const result = new Float64Array(clampCount(n, this.#size));
    this.copyLast(result.length, result);
    return result;
  }

  /**
   * Every value, oldest first, in a new `Float64Array`.
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(2);
   * buffer.push(1);
   * buffer.toArray(); // Float64Array [1]
   * ```
   */
  toArray(): Float64Array {
    return this.last(this.#size);
  }

  /**
   * Copies the newest `n` values, oldest first, into `target` starting at
   * `targetOffset`, and returns how many it copied: `n` clamped to 0..size and
   * to the room left in `target` (when the room is short, the newest values
   * that fit are copied). Allocates nothing.
   *
   * @throws {RangeError} When `targetOffset` is not an integer in 0..target.length (`code: 'ERR_OUT_OF_RANGE'`).
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(20);
   * for (let i = 0; i < 30; i++) buffer.push(i);
   * const frame = new Float64Array(10);
   * buffer.copyLast(10, frame); // 10; frame holds 20..29
   * ```
   */
  copyLast(n: number, target: Float64Array, targetOffset = 0): number {
    if (!Number.isInteger(targetOffset) || targetOffset < 0 || targetOffset > target.length) {
      throw Object.assign(
        new RangeError(`targetOffset must be an integer from 0 to ${target.length}, got ${targetOffset}`),
        { code: 'ERR_OUT_OF_RANGE' },
      );
    }
    const count = clampCount(Math.min(n, target.length - targetOffset), this.#size);
    const start = this.#size - count;
    const values = this.#values;
    // Walk the circle from the oldest wanted slot, wrapping at the end of the array.
    let slot = this.#slotOf(start);
    for (let i = 0; i < count; i++) {
      target[targetOffset + i] = values[slot] as number;
      slot = slot + 1 === this.capacity ? 0 : slot + 1;
    }
    return count;
  }

  /**
   * Empties the buffer and resets `overwritten`; the backing array is kept.
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(2);
   * buffer.push(1);
   * buffer.clear();
   * buffer.size; // 0
   * ```
   */
  clear(): void {
    this.#head = 0;
    this.#size = 0;
    this.#overwritten = 0;
  }

  /**
   * Iterates the values, oldest first.
   *
   * @example
   * ```ts
   * const buffer = new Float64RingBuffer(3);
   * buffer.push(1);
   * buffer.push(2);
   * [...buffer]; // [1, 2]
   * ```
   */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = 0; i < this.#size; i++) yield this.#values[this.#slotOf(i)] as number;
  }

  #slotOf(logicalIndex: number): number {
    const physical = this.#head + logicalIndex;
    return physical < this.capacity ? physical : physical - this.capacity;
  }
}
