import type { Reading } from '@opc-lite/protocol';
import { describe, expect, it, vi } from 'vitest';
import { Subscription } from './subscription.js';

const reading = (seq: number, name = 'ramp'): Reading => ({ name, value: seq / 10, timestampMs: 1000 + seq, seq });

function make(capacity = 3, signal?: AbortSignal): { sub: Subscription; release: ReturnType<typeof vi.fn> } {
  const release = vi.fn(() => Promise.resolve());
  const sub = new Subscription({ release }, 'ramp*', 0, capacity, signal);
  sub.confirm();
  return { sub, release };
}

describe('Subscription', () => {
  it('hands a reading straight to a waiting next()', async () => {
    const { sub } = make();
    const next = sub.next();
    sub.deliver(reading(1));
    expect(await next).toEqual({ done: false, value: reading(1) });
    expect(sub.queued).toBe(0);
  });

  it('keeps only the newest readings when the consumer falls behind, counting the dropped', async () => {
    const { sub } = make(3);
    for (let seq = 1; seq <= 10; seq += 1) sub.deliver(reading(seq));
    expect(sub.received).toBe(10);
    expect(sub.dropped).toBe(7);
    expect(sub.queued).toBe(3);
    expect((await sub.next()).value?.seq).toBe(8);
  });

  it('skips readings at or below the last seq seen for their sensor, until the connection changes', () => {
    const { sub } = make(10);
    sub.deliver(reading(5));
    sub.deliver(reading(4));
    sub.deliver(reading(5));
    sub.deliver(reading(1, 'ramp2'));
    expect(sub.queued).toBe(2);
    sub.resetSeqs();
    sub.deliver(reading(1));
    expect(sub.queued).toBe(3);
  });

  it('drains queued readings before ending after unsubscribe()', async () => {
    const { sub, release } = make();
    sub.deliver(reading(1));
    await sub.unsubscribe();
    expect(release).toHaveBeenCalledTimes(1);
    expect((await sub.next()).value).toEqual(reading(1));
    expect(await sub.next()).toEqual({ done: true, value: undefined });
    sub.deliver(reading(2));
    expect(sub.received).toBe(1);
  });

  it('throws an end error once, after the queue, then is done', async () => {
    const { sub } = make();
    sub.deliver(reading(1));
    const failure = new Error('gone');
    sub.end({ drain: true, error: failure });
    expect((await sub.next()).value).toEqual(reading(1));
    await expect(sub.next()).rejects.toBe(failure);
    expect(await sub.next()).toEqual({ done: true, value: undefined });
  });

  it('ends at once on abort, dropping the queue, and releases itself', async () => {
    const controller = new AbortController();
    const { sub, release } = make(3, controller.signal);
    sub.deliver(reading(1));
    controller.abort();
    expect(await sub.next()).toEqual({ done: true, value: undefined });
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('unsubscribes when a for-await loop breaks', async () => {
    const { sub, release } = make();
    sub.deliver(reading(1));
    sub.deliver(reading(2));
    for await (const r of sub) {
      expect(r.seq).toBe(1);
      break;
    }
    expect(release).toHaveBeenCalledTimes(1);
    expect(sub.ended).toBe(true);
  });

  it('remembers the last seq of each sensor as resume points, and follows a rewind', () => {
    const { sub } = make(10);
    sub.deliver(reading(4));
    sub.deliver(reading(2, 'ramp2'));
    sub.deliver(reading(7));
    expect(sub.resumePoints()).toEqual([
      ['ramp', 7],
      ['ramp2', 2],
    ]);
    sub.rewind('ramp', 0);
    sub.rewind('ramp2', undefined);
    expect(sub.resumePoints()).toEqual([['ramp', 0]]);
    sub.deliver(reading(1));
    sub.deliver(reading(1, 'ramp2'));
    // Three before the rewind, and both readings numbered from 1 again after it.
    expect(sub.queued).toBe(5);
  });

  it('is live only from the confirmation of its SUB on the current connection', () => {
    const { sub } = make(10);
    expect(sub.live).toBe(true);
    sub.suspend();
    expect(sub.live).toBe(false);
    expect(sub.confirmed).toBe(true);
    sub.confirm();
    expect(sub.live).toBe(true);
  });
});
