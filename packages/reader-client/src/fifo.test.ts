import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.js';

describe('Fifo', () => {
  it('returns items in the order they were pushed, across growth', () => {
    const q = new Fifo<number>(2);
    for (let i = 0; i < 10; i += 1) q.push(i);
    expect(q.size).toBe(10);
    expect([...q]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(q.drain()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });

  it('puts an unshifted item in front', () => {
    const q = new Fifo<string>(1);
    q.push('b');
    q.unshift('a');
    expect(q.peek()).toBe('a');
    expect(q.drain()).toEqual(['a', 'b']);
  });

  it('behaves like an array used as a queue for any sequence of operations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.constant('shift' as const), fc.constant('unshift' as const))),
        (ops) => {
          const q = new Fifo<number>(1);
          const model: number[] = [];
          for (const op of ops) {
            if (op === 'shift') expect(q.shift()).toBe(model.shift());
            else if (op === 'unshift') {
              q.unshift(-1);
              model.unshift(-1);
            } else {
              q.push(op);
              model.push(op);
            }
            expect(q.size).toBe(model.length);
            expect(q.peek()).toBe(model[0]);
          }
          expect([...q]).toEqual(model);
        },
      ),
    );
  });
});
