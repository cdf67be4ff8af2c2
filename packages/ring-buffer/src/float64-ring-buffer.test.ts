import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_CAPACITY } from './capacity.js';
import { Float64RingBuffer } from './float64-ring-buffer.js';

const filled = (capacity: number, values: readonly number[]): Float64RingBuffer => {
  const buffer = new Float64RingBuffer(capacity);
  for (const value of values) buffer.push(value);
  return buffer;
};

describe('Float64RingBuffer', () => {
  describe('capacity validation', () => {
    it.each([1, 2, 1000])('accepts capacity %d and allocates it at once', (capacity) => {
      const buffer = new Float64RingBuffer(capacity);
      expect(buffer.capacity).toBe(capacity);
      expect(buffer.size).toBe(0);
    });

    it.each([0, -1, 0.5, MAX_CAPACITY + 1, Number.NaN, Number.NEGATIVE_INFINITY])(
      'rejects capacity %d with a RangeError',
      (capacity) => {
        expect(() => new Float64RingBuffer(capacity)).toThrow(RangeError);
        expect(() => new Float64RingBuffer(capacity)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      },
    );

    it.each([['8'], [null], [undefined], [[8]]])('rejects a capacity of %o with a TypeError', (capacity) => {
      expect(() => new Float64RingBuffer(capacity as unknown as number)).toThrow(TypeError);
      expect(() => new Float64RingBuffer(capacity as unknown as number)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
      expect(() => new Float64RingBuffer(capacity as unknown as number)).toThrow(/^capacity must be a number/);
    });
  });

  describe('push and overwrite', () => {
    it.each([
      { capacity: 3, pushed: [], contents: [], overwritten: 0, isFull: false },
      { capacity: 3, pushed: [1, 2], contents: [1, 2], overwritten: 0, isFull: false },
      { capacity: 3, pushed: [1, 2, 3], contents: [1, 2, 3], overwritten: 0, isFull: true },
      { capacity: 3, pushed: [1, 2, 3, 4], contents: [2, 3, 4], overwritten: 1, isFull: true },
      { capacity: 3, pushed: [1, 2, 3, 4, 5, 6, 7, 8], contents: [6, 7, 8], overwritten: 5, isFull: true },
      { capacity: 1, pushed: [1, 2, 3], contents: [3], overwritten: 2, isFull: true },
    ])(
      'holding $pushed in capacity $capacity keeps $contents',
      ({ capacity, pushed, contents, overwritten, isFull }) => {
        const buffer = filled(capacity, pushed);
        expect(Array.from(buffer.toArray())).toEqual(contents);
        expect([...buffer]).toEqual(contents);
        expect(buffer.size).toBe(contents.length);
        expect(buffer.overwritten).toBe(overwritten);
        expect(buffer.isFull).toBe(isFull);
      },
    );

    it('overwrites the oldest reading when full', () => {
      const buffer = filled(2, [0.1, 0.2]);
      buffer.push(0.3);
      expect(buffer.at(0)).toBe(0.2);
      expect(buffer.at(-1)).toBe(0.3);
    });

    it('stores every float64 exactly, NaN and -0 included', () => {
      const values = [Number.NaN, -0, Number.MIN_VALUE, Number.MAX_VALUE, Number.NEGATIVE_INFINITY, 0.1 + 0.2];
      expect([...filled(values.length, values)]).toEqual(values);
    });
  });

  describe('at', () => {
    const buffer = filled(3, [10, 20, 30, 40]);
    it.each([
      [0, 20],
      [2, 40],
      [3, undefined],
      [-1, 40],
      [-3, 20],
      [-4, undefined],
      [1.5, 30],
      [Number.NaN, 20],
    ])('at(%d) reads %s, as Array.prototype.at would', (index, expected) => {
      expect(buffer.at(index)).toBe(expected);
      expect(buffer.at(index)).toBe([20, 30, 40].at(index));
    });

    it('returns undefined from an empty buffer', () => {
      expect(new Float64RingBuffer(3).at(-1)).toBeUndefined();
    });
  });

  describe('last', () => {
    const buffer = filled(4, [1, 2, 3, 4, 5]);
    it.each([
      [0, []],
      [1, [5]],
      [3, [3, 4, 5]],
      [4, [2, 3, 4, 5]],
      [9, [2, 3, 4, 5]],
      [-1, []],
      [Number.NaN, []],
    ])('last(%d) returns %o, newest n oldest first with n clamped to 0..size', (n, expected) => {
      const result = buffer.last(n);
      expect(result).toBeInstanceOf(Float64Array);
      expect(Array.from(result)).toEqual(expected);
    });

    it('returns a copy that later pushes do not change', () => {
      const small = filled(2, [1, 2]);
      const snapshot = small.last(2);
      const all = small.toArray();
      small.push(3);
      expect(Array.from(snapshot)).toEqual([1, 2]);
      expect(Array.from(all)).toEqual([1, 2]);
    });
  });

  describe('copyLast', () => {
    const buffer = filled(4, [1, 2, 3, 4, 5, 6]); // holds 3, 4, 5, 6 across the wrap
    it.each([
      { n: 4, length: 4, offset: 0, copied: 4, target: [3, 4, 5, 6] },
      { n: 2, length: 4, offset: 0, copied: 2, target: [5, 6, -1, -1] },
      { n: 2, length: 4, offset: 1, copied: 2, target: [-1, 5, 6, -1] },
      { n: 9, length: 6, offset: 1, copied: 4, target: [-1, 3, 4, 5, 6, -1] },
      { n: 4, length: 3, offset: 1, copied: 2, target: [-1, 5, 6] },
      { n: 4, length: 3, offset: 3, copied: 0, target: [-1, -1, -1] },
      { n: 0, length: 2, offset: 0, copied: 0, target: [-1, -1] },
      { n: -5, length: 2, offset: 0, copied: 0, target: [-1, -1] },
    ])(
      'copyLast($n) into $length slots at $offset copies $copied, the newest that fit, oldest first',
      ({ n, length, offset, copied, target }) => {
        const into = new Float64Array(length).fill(-1);
        expect(buffer.copyLast(n, into, offset)).toBe(copied);
        expect(Array.from(into)).toEqual(target);
      },
    );

    it.each([-1, 5, 1.5, Number.NaN])('rejects targetOffset %d outside the target with a RangeError', (offset) => {
      expect(() => buffer.copyLast(1, new Float64Array(4), offset)).toThrow(RangeError);
      expect(() => buffer.copyLast(1, new Float64Array(4), offset)).toThrow(/targetOffset/);
    });
  });

  describe('clear', () => {
    it('empties the buffer and resets the overwritten count', () => {
      const buffer = filled(2, [1, 2, 3]);
      buffer.clear();
      expect(buffer.size).toBe(0);
      expect(buffer.isFull).toBe(false);
      expect(buffer.overwritten).toBe(0);
      expect(buffer.toArray()).toHaveLength(0);
      expect(buffer.at(0)).toBeUndefined();
    });

    it('fills again from empty after a clear', () => {
      const buffer = filled(2, [1, 2, 3]);
      buffer.clear();
      for (const value of [7, 8, 9]) buffer.push(value);
      expect([...buffer]).toEqual([8, 9]);
      expect(buffer.overwritten).toBe(1);
    });
  });

  describe('against a plain-array model', () => {
    type Op =
      | { kind: 'push'; value: number }
      | { kind: 'at'; index: number }
      | { kind: 'last'; n: number }
      | { kind: 'copyLast'; n: number; length: number; offset: number }
      | { kind: 'clear' };

    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), value: fc.double() }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('at' as const), index: fc.integer({ min: -12, max: 12 }) }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('last' as const), n: fc.integer({ min: -3, max: 12 }) }) },
      {
        weight: 2,
        arbitrary: fc
          .record({
            kind: fc.constant('copyLast' as const),
            n: fc.integer({ min: -3, max: 12 }),
            length: fc.integer({ min: 0, max: 12 }),
            offset: fc.nat(12),
          })
          .filter(({ length, offset }) => offset <= length),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
    );

    it('matches the model after every operation of a random sequence', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 80 }), (capacity, ops) => {
          const buffer = new Float64RingBuffer(capacity);
          let model: number[] = [];
          let overwritten = 0;
          const newest = (n: number): number[] => (n <= 0 ? [] : model.slice(-n));
          for (const step of ops) {
            switch (step.kind) {
              case 'push':
                buffer.push(step.value);
                model.push(step.value);
                if (model.length > capacity) {
                  model.shift();
                  overwritten++;
                }
                break;
              case 'at':
                expect(buffer.at(step.index)).toBe(model.at(step.index));
                break;
              case 'last':
                expect(Array.from(buffer.last(step.n))).toEqual(newest(step.n));
                break;
              case 'copyLast': {
                const target = new Float64Array(step.length).fill(0.5);
                const copied = buffer.copyLast(step.n, target, step.offset);
                const expected = newest(Math.min(step.n, step.length - step.offset));
                expect(copied).toBe(expected.length);
                const filler = (count: number): number[] => new Array<number>(count).fill(0.5);
                expect(Array.from(target)).toEqual([
                  ...filler(step.offset),
                  ...expected,
                  ...filler(step.length - step.offset - expected.length),
                ]);
                break;
              }
              case 'clear':
                buffer.clear();
                model = [];
                overwritten = 0;
                break;
            }
            expect(Array.from(buffer.toArray())).toEqual(model);
            expect([...buffer]).toEqual(model);
            expect(buffer.size).toBe(model.length);
            expect(buffer.isFull).toBe(model.length === capacity);
            expect(buffer.overwritten).toBe(overwritten);
          }
        }),
      );
    });
  });
});
