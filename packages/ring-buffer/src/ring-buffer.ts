// How it works: items live in one array used as a circle. Until the buffer
// first fills, pushes append (so a large capacity costs nothing up front) and
// the oldest item sits at slot 0. Once full, `#head` marks the oldest slot: a
// push writes the new item there, which drops the oldest, and moves `#head`
// one slot on. Logical index i (0 = oldest) lives at slot (#head + i) % capacity.
// `clear()` drops the array so every item can be garbage-collected.

import { clampCount, resolveIndex, validateCapacity } from './capacity.js';

/**
 * A fixed-capacity circular buffer: when full, a push overwrites the oldest
 * item. Reads never throw; out-of-range reads return `undefined`.
 *
 * @example
 * ```ts
 * import { RingBuffer } from '@opc-lite/ring-buffer';
 *
 * const window = new RingBuffer<string>(3);
 * for (const reading of ['a', 'b', 'c', 'd']) window.push(reading);
 * window.toArray(); // ['b', 'c', 'd']
 * window.at(-1); // 'd'
 * window.overwritten; // 1
 * ```
 */
export class RingBuffer<T> implements Iterable<T> {
  /**
   * How many items the buffer holds before it starts overwriting.
   *
   * @example
   * ```ts
   * new RingBuffer<number>(20).capacity; // 20
   * ```
   */
  readonly capacity: number;

  #items: (T | undefined)[] = [];
  #head = 0;
  #size = 0;
  #overwritten = 0;

  /**
   * @param capacity An integer from 1 to 2**31 - 1.
   * @throws {TypeError} When `capacity` is not a number (`code: 'ERR_INVALID_ARG_TYPE'`).
   * @throws {RangeError} When `capacity` is not an integer in range (`code: 'ERR_OUT_OF_RANGE'`).
   *
   * @example
   * ```ts
   * const history = new RingBuffer<{ value: number }>(100);
   * ```
   */
  constructor(capacity: number) {
    this.capacity = validateCapacity(capacity);
  }

  /**
   * How many items the buffer holds now, 0..capacity.
   *
   * @example
   * ```ts
   * const buffer = new RingBuffer<number>(2);
   * buffer.push(1);
   * buffer.size; // 1
   * ```
   */
  get size(): number {
    return this.#size;
  }

  /**
   * Whether the next push will overwrite the oldest item.
   *
   * @example
   * ```ts
   * const buffer = new RingBuffer<number>(1);
   * buffer.push(1);
   * buffer.isFull; // true
   * ```
   */
  get isFull(): boolean {
    return this.#size === this.capacity;
  }

  /**
   * How many items were overwritten since construction or the last `clear()`.
   *
   * @example
   * ```ts
   * const buffer = new RingBuffer<number>(2);
   * for (const n of [1, 2, 3, 4, 5]) buffer.push(n);
   * buffer.overwritten; // 3
   * ```
   */
  get overwritten(): number {
    return this.#overwritten;
  }

  /**
   * Appends an item as the newest; when full, overwrites the oldest.
   *
   * @example
   * ```ts
   * const buffer = new RingBuffer<number>(2);
   * buffer.push(1);
   * buffer.push(2);
   * buffer.push(3); // overwrites 1
   * buffer.toArray(); // [2, 3]
   * ```
   */
  push(item: T): void {
    if (this.#size < this.capacity) {
      // Not yet full since the last clear: #head is 0 and the array grows.
      this.#items.push(item);
      this.#size++;
      return;
    }
    this.#items[this.#head] = item;
    this.#head = this.#head + 1 === this.capacity ? 0 : this.#head + 1;
    this.#overwritten++;
  }

  /**
   * The item at a logical index: 0 is the oldest, -1 the newest (as
   * `Array.prototype.at`). Out of range returns `undefined`.
   *
   * @example
   * ```ts
   * const buffer = new RingBuffer<string>(3);
   * buffer.push('a');
   * buffer.push('b');
   * buffer.at(0); // 'a'
   * buffer.at(-1); // 'b'
   * buffer.at(5); // undefined
   * ```
   */
  at(index: number): T | undefined {
    const i = resolveIndex(index, this.#size);
    return i < 0 ? undefined : this.#slot(i);
  }

  /**
   * The newest `n` items, oldest first, in a new array; `n` is clamped to 0..size.
   *
   * @example
   * ```ts
   * const buffer = new RingBuffer<number>(5);
   * for (const n of [1, 2, 3, 4]) buffer.push(n);
   * buffer.last(2); // [3, 4]
   * buffer.last(10); // [1, 2, 3, 4]
   * ```
   */
  last(n: number): T[] {
    const count = clampCount(n, this.#size);
    const result = new Array<T>(count);
    const start = this.#size - count;
    for (let i = 0; i < count; i++) result[i] = this.#slot(start + i);
    return result;
  }

  /**
   * Every item, oldest first, in a new array.
   *
   * @example
   * ```ts
   * const buffer = new RingBuffer<number>(2);
   * buffer.push(1);
   * buffer.toArray(); // [1]
   * ```
   */
  toArray(): T[] {
    return this.last(this.#size);
  }

  /**
   * Removes every item and resets `overwritten`; the items can be garbage-collected.
   *
   * @example
   * ```ts
   * const buffer = new RingBuffer<number>(2);
   * buffer.push(1);
   * buffer.clear();
   * buffer.size; // 0
   * ```
   */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#size = 0;
    this.#overwritten = 0;
  }

  /**
   * Iterates the items, oldest first.
   *
   * @example
   * ```ts
   * const buffer = new RingBuffer<number>(3);
   * buffer.push(1);
   * buffer.push(2);
   * [...buffer]; // [1, 2]
   * ```
   */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#slot(i);
  }

  #slot(logicalIndex: number): T {
    const physical = this.#head + logicalIndex;
    return this.#items[physical < this.capacity ? physical : physical - this.capacity] as T;
  }
}
