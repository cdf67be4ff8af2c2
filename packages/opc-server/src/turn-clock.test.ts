import { describe, expect, it } from 'vitest';
import { TurnClock } from './turn-clock.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const busyFor = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('TurnClock', () => {
  it('gives every call of one event-loop turn the time of the first', () => {
    const clock = new TurnClock();
    const before = performance.now();
    const first = clock.now();
    busyFor(5);
    expect(clock.now()).toBe(first);
    expect(first).toBeGreaterThanOrEqual(before);
  });

  it('reads the clock again in the next turn', async () => {
    const clock = new TurnClock();
    const first = clock.now();
    busyFor(5);
    await nextTurn();
    const second = clock.now();
    expect(second - first).toBeGreaterThanOrEqual(5);
    expect(second).toBeLessThanOrEqual(performance.now());
  });
});
