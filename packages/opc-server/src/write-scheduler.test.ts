import { describe, expect, it } from 'vitest';
import { WriteScheduler } from './write-scheduler.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('WriteScheduler', () => {
  it('flushes each scheduled target once per turn, then runs afterFlush once', async () => {
    const events: string[] = [];
    const scheduler = new WriteScheduler(() => events.push('after'));
    const a = { flush: () => events.push('a') };
    const b = { flush: () => events.push('b') };
    scheduler.schedule(a);
    scheduler.schedule(b);
    expect(events).toEqual([]);
    await turn();
    expect(events).toEqual(['a', 'b', 'after']);

    // A target scheduled during a pass is flushed in the next turn's pass.
    const again = {
      flush: () => {
        events.push('again');
        if (events.filter((e) => e === 'again').length === 1) scheduler.schedule(again);
      },
    };
    scheduler.schedule(again);
    await turn();
    await turn();
    expect(events).toEqual(['a', 'b', 'after', 'again', 'after', 'again', 'after']);
  });
});
