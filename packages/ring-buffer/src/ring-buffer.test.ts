import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_CAPACITY } from './capacity.js';
import { RingBuffer } from './ring-buffer.js';

const filled = (capacity: number, items: readonly string[]): RingBuffer<string> => {
  const buffer = new RingBuffer<string>(capacity);
  for (const item of items) buffer.push(item);
  return buffer;
};

describe('RingBuffer', () => {
  describe('capacity validation', () => {
    it.each([1, 2, 20, MAX_CAPACITY])('accepts capacity %d', (capacity) => {
      expect(new RingBuffer(capacity).capacity).toBe(capacity);
    });

    it.each([0, -1, 1.5, MAX_CAPACITY + 1, Number.NaN, Number.POSITIVE_INFINITY])(
      'rejects capacity %d with a RangeError',
      (capacity) => {
        expect(() => new RingBuffer(capacity)).toThrow(RangeError);
        expect(() => new RingBuffer(capacity)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      },
    );

    it.each([['3'], [null], [undefined], [3n], [{}]])('rejects a capacity of %o with a TypeError', (capacity) => {
      expect(() => new RingBuffer(capacity as unknown as number)).toThrow(TypeError);
      expect(() => new RingBuffer(capacity as unknown as number)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
      expect(() => new RingBuffer(capacity as unknown as number)).toThrow(/^capacity must be a number/);
    });

    it('does not allocate the whole capacity up front', () => {
      const buffer = new RingBuffer<number>(MAX_CAPACITY);
      buffer.push(1);
      expect(buffer.toArray()).toEqual([1]);
    });
  });

  describe('push and overwrite', () => {
    it.each([
      { capacity: 3, pushed: [], contents: [], overwritten: 0, isFull: false },
      { capacity: 3, pushed: ['a'], contents: ['a'], overwritten: 0, isFull: false },
      { capacity: 3, pushed: ['a', 'b', 'c'], contents: ['a', 'b', 'c'], overwritten: 0, isFull: true },
      { capacity: 3, pushed: ['a', 'b', 'c', 'd'], contents: ['b', 'c', 'd'], overwritten: 1, isFull: true },
      {
        capacity: 3,
        pushed: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
        contents: ['e', 'f', 'g'],
        overwritten: 4,
        isFull: true,
      },
      { capacity: 1, pushed: ['a', 'b'], contents: ['b'], overwritten: 1, isFull: true },
    ])(
      'holding $pushed in capacity $capacity keeps $contents',
      ({ capacity, pushed, contents, overwritten, isFull }) => {
        const buffer = filled(capacity, pushed);
        expect(buffer.toArray()).toEqual(contents);
        expect([...buffer]).toEqual(contents);
        expect(buffer.size).toBe(contents.length);
        expect(buffer.overwritten).toBe(overwritten);
        expect(buffer.isFull).toBe(isFull);
      },
    );

    it('overwrites the oldest reading when full', () => {
      const buffer = filled(2, ['old', 'mid']);
      buffer.push('new');
      expect(buffer.at(0)).toBe('mid');
      expect(buffer.at(-1)).toBe('new');
    });
  });

  describe('at', () => {
    // Buffer wrapped once: slots hold d, b, c; logical order b, c, d.
    const buffer = filled(3, ['a', 'b', 'c', 'd']);
    it.each([
      [0, 'b'],
      [1, 'c'],
      [2, 'd'],
      [3, undefined],
      [-1, 'd'],
      [-2, 'c'],
      [-3, 'b'],
      [-4, undefined],
      [1.9, 'c'],
      [-1.5, 'd'],
      [Number.NaN, 'b'],
      [Number.POSITIVE_INFINITY, undefined],
      [Number.NEGATIVE_INFINITY, undefined],
    ])('at(%d) reads %s, as Array.prototype.at would', (index, expected) => {
      expect(buffer.at(index)).toBe(expected);
      expect(buffer.at(index)).toBe(['b', 'c', 'd'].at(index));
    });

    it('returns undefined from an empty buffer', () => {
      expect(new RingBuffer<string>(3).at(0)).toBeUndefined();
      expect(new RingBuffer<string>(3).at(-1)).toBeUndefined();
    });
  });

  describe('last', () => {
    const buffer = filled(4, ['a', 'b', 'c', 'd', 'e']);
    it.each([
      [0, []],
      [1, ['e']],
      [3, ['c', 'd', 'e']],
      [4, ['b', 'c', 'd', 'e']],
      [10, ['b', 'c', 'd', 'e']],
      [-2, []],
      [2.7, ['d', 'e']],
      [Number.NaN, []],
      [Number.POSITIVE_INFINITY, ['b', 'c', 'd', 'e']],
    ])('last(%d) returns %o, newest n oldest first with n clamped to 0..size', (n, expected) => {
      expect(buffer.last(n)).toEqual(expected);
    });

    it('returns a copy that later pushes do not change', () => {
      const small = filled(2, ['x', 'y']);
      const snapshot = small.last(2);
      small.push('z');
      expect(snapshot).toEqual(['x', 'y']);
      expect(small.last(2)).toEqual(['y', 'z']);
    });
  });

  describe('clear', () => {
    it('empties the buffer and resets the overwritten count', () => {
      const buffer = filled(2, ['a', 'b', 'c']);
      buffer.clear();
      expect(buffer.size).toBe(0);
      expect(buffer.isFull).toBe(false);
      expect(buffer.overwritten).toBe(0);
      expect(buffer.toArray()).toEqual([]);
      expect(buffer.at(0)).toBeUndefined();
    });

    it('fills again from empty after a clear', () => {
      const buffer = filled(2, ['a', 'b', 'c']);
      buffer.clear();
      for (const item of ['x', 'y', 'z']) buffer.push(item);
      expect(buffer.toArray()).toEqual(['y', 'z']);
      expect(buffer.overwritten).toBe(1);
    });
  });

  describe('against a plain-array model', () => {
    type Op =
      { kind: 'push'; item: number } | { kind: 'at'; index: number } | { kind: 'last'; n: number } | { kind: 'clear' };

    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), item: fc.integer() }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('at' as const), index: fc.integer({ min: -12, max: 12 }) }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('last' as const), n: fc.integer({ min: -3, max: 12 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
    );

    it('matches the model after every operation of a random sequence', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 80 }), (capacity, ops) => {
          const buffer = new RingBuffer<number>(capacity);
          let model: number[] = [];
          let overwritten = 0;
          for (const step of ops) {
            switch (step.kind) {
              case 'push':
                buffer.push(step.item);
                model.push(step.item);
                if (model.length > capacity) {
                  model.shift();
                  overwritten++;
                }
                break;
              case 'at':
                expect(buffer.at(step.index)).toBe(model.at(step.index));
                break;
              case 'last':
                expect(buffer.last(step.n)).toEqual(step.n <= 0 ? [] : model.slice(-step.n));
                break;
              case 'clear':
                buffer.clear();
                model = [];
                overwritten = 0;
                break;
            }
            expect(buffer.toArray()).toEqual(model);
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
