import { afterEach, describe, expect, it, vi } from 'vitest';
import { BusyPoll } from './busy-poll.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const polls: BusyPoll[] = [];
afterEach(() => {
  for (const p of polls.splice(0)) p.stop();
});

/** Resolves with the time at which `busyPoll` stopped polling. */
async function stoppedAt(busyPoll: BusyPoll): Promise<number> {
  await vi.waitFor(() => expect(busyPoll.spinning).toBe(false), { timeout: 5000, interval: 1 });
  return performance.now();
}

describe('BusyPoll', () => {
  it('keeps the loop polling for the window after input, then stops by itself', async () => {
    const busyPoll = new BusyPoll(300_000);
    polls.push(busyPoll);
    expect(busyPoll.spinning).toBe(false);
    const start = performance.now();
    busyPoll.touch();
    expect(busyPoll.spinning).toBe(true);
    // An Immediate stays queued: libuv polls with a zero timeout instead of sleeping.
    expect(process.getActiveResourcesInfo()).toContain('Immediate');
    expect((await stoppedAt(busyPoll)) - start).toBeGreaterThanOrEqual(300);
  });

  it('extends the window with every input', async () => {
    const busyPoll = new BusyPoll(300_000);
    polls.push(busyPoll);
    const start = performance.now();
    busyPoll.touch();
    await sleep(200);
    busyPoll.touch(); // at least 200 ms after the first: the window now ends 500 ms or more after the start
    expect(busyPoll.spinning).toBe(true);
    expect((await stoppedAt(busyPoll)) - start).toBeGreaterThanOrEqual(500);
  });

  it('does nothing with a window of 0', () => {
    const busyPoll = new BusyPoll(0);
    busyPoll.touch();
    expect(busyPoll.spinning).toBe(false);
  });

  it('stops at once when stopped, and ignores input after that', async () => {
    const busyPoll = new BusyPoll(1_000_000);
    const start = performance.now();
    busyPoll.touch();
    busyPoll.stop();
    expect((await stoppedAt(busyPoll)) - start).toBeLessThan(1000);
    busyPoll.touch();
    expect(busyPoll.spinning).toBe(false);
  });
});
