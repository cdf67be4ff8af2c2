import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SAMPLE_CLOCK_DEFAULTS, sampleClock, systemClock, type Clock, type SampleClock, type Tick } from './clock.js';
import { createWaveform } from './waveform.js';

const T0 = 1_764_316_800_000; // 2025-11-28T08:00:00Z, a Unix epoch ms

/** A deterministic PRNG (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A Clock on vi's fake timers whose timer callbacks run `lateBy(target)` ms after
 * the time they were asked for (negative: early). Whole-ms delays, rounded up,
 * as the fake timers keep whole milliseconds.
 */
function fakeClock(lateBy: (targetMs: number) => number = () => 0): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => {
      const delay = Math.ceil(ms);
      return setTimeout(fn, Math.max(0, delay + lateBy(Date.now() + delay)));
    },
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

/** Consumes the clock in the background; the promise settles when the iteration ends. */
function collect(clock: SampleClock, onTick?: (tick: Tick) => void): { ticks: Tick[]; done: Promise<void> } {
  const ticks: Tick[] = [];
  const done = (async () => {
    for await (const tick of clock) {
      ticks.push(tick);
      onTick?.(tick);
    }
  })();
  return { ticks, done };
}

const DONE = { done: true, value: undefined };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: T0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('sampleClock timing', () => {
  it.each([10, 100 / 3])(
    'keeps tick k due at exactly t0 + k·Δt over 10,000 ticks (Δt = %d ms) while every timer fires late by a random amount',
    async (intervalMs) => {
      const maxLateMs = 7;
      const rng = random(20251128);
      const clock = sampleClock({
        intervalMs,
        count: 10_000,
        clock: fakeClock(() => Math.floor(rng() * (maxLateMs + 1))),
        lateToleranceMs: maxLateMs + 1,
      });
      const { ticks, done } = collect(clock);
      await vi.advanceTimersByTimeAsync(10_000 * intervalMs + 100);
      expect(ticks).toHaveLength(10_000);
      await done;

      for (const [k, tick] of ticks.entries()) {
        expect(tick.k).toBe(k);
        expect(tick.dueTime).toBe(T0 + k * intervalMs);
        expect(tick.firedAt).toBeGreaterThanOrEqual(tick.dueTime);
        // Whole-ms timers add up to 1 ms of rounding to the injected lateness.
        expect(tick.lateMs).toBeLessThanOrEqual(maxLateMs + 1);
        expect(tick.lateMs).toBe(tick.firedAt - tick.dueTime);
      }
      expect(clock.emitted).toBe(10_000);
      expect(clock.late).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    },
  );

  it('yields every overdue sample after a late wake-up, each with its own due time, and counts them late', async () => {
    // The timer for tick 3 (due T0 + 30) fires 35 ms late, at T0 + 65.
    const clock = sampleClock({
      intervalMs: 10,
      count: 10,
      clock: fakeClock((target) => (target === T0 + 30 ? 35 : 0)),
      lateToleranceMs: 1,
      waveform: createWaveform({ periodMs: 100 }),
    });
    const overdueAfter: number[] = [];
    const { ticks, done } = collect(clock, () => overdueAfter.push(clock.overdue));
    await vi.advanceTimersByTimeAsync(200);
    expect(ticks.map((t) => t.k)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await done;

    expect(ticks.map((t) => t.dueTime - T0)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(ticks.map((t) => t.firedAt - T0)).toEqual([0, 10, 20, 65, 65, 65, 65, 70, 80, 90]);
    expect(ticks.map((t) => t.lateMs)).toEqual([0, 0, 0, 35, 25, 15, 5, 0, 0, 0]);
    expect(ticks.map((t) => t.value)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    // While catching up, `overdue` says how many more are already due: a sender can batch until it is 0.
    expect(overdueAfter).toEqual([0, 0, 0, 3, 2, 1, 0, 0, 0, 0]);
    expect(clock.late).toBe(4);
    expect(clock.emitted).toBe(10);
  });

  it('by default counts a tick late when it fires more than min(5 ms, Δt / 2) after its due time', async () => {
    expect(SAMPLE_CLOCK_DEFAULTS.lateToleranceMs).toBe(5);
    const lateness = new Map([
      [T0 + 100, 5], // at the tolerance: on time
      [T0 + 200, 6], // past it: late
    ]);
    const slow = sampleClock({ intervalMs: 100, count: 3, clock: fakeClock((t) => lateness.get(t) ?? 0) });
    const fast = sampleClock({ intervalMs: 4, count: 3, clock: fakeClock((t) => (t === T0 + 4 ? 3 : 0)) });
    const runs = [collect(slow), collect(fast)];
    await vi.advanceTimersByTimeAsync(300);
    await Promise.all(runs.map((r) => r.done));
    expect(runs[0]?.ticks.map((t) => t.lateMs)).toEqual([0, 5, 6]);
    expect(slow.late).toBe(1);
    expect(runs[1]?.ticks.map((t) => t.lateMs)).toEqual([0, 3, 0]);
    expect(fast.late).toBe(1); // 3 ms > 4 ms / 2
  });

  it('never yields a tick before its due time, even when timers fire early', async () => {
    const clock = sampleClock({ intervalMs: 10, count: 20, clock: fakeClock(() => -4) });
    const { ticks, done } = collect(clock);
    await vi.advanceTimersByTimeAsync(300);
    await done;
    expect(ticks).toHaveLength(20);
    for (const tick of ticks) expect(tick.firedAt).toBe(tick.dueTime);
  });

  it('takes t0 from startTime: a past start yields the overdue samples at once, a future one waits', async () => {
    const past = sampleClock({ intervalMs: 10, count: 4, startTime: T0 - 25, clock: fakeClock() });
    expect(past.overdue).toBe(3);
    const first = [await past.next(), await past.next(), await past.next()];
    expect(first.map((r) => (r.done ? undefined : r.value.lateMs))).toEqual([25, 15, 5]);

    const future = sampleClock({ intervalMs: 10, count: 1, startTime: T0 + 50, clock: fakeClock() });
    const pending = future.next();
    await vi.advanceTimersByTimeAsync(49);
    expect(future.emitted).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await expect(pending).resolves.toMatchObject({ done: false, value: { k: 0, dueTime: T0 + 50, lateMs: 0 } });
  });

  it('serves overlapping next() calls in order', async () => {
    const clock = sampleClock({ intervalMs: 10, count: 3, clock: fakeClock() });
    const results = Promise.all([clock.next(), clock.next(), clock.next(), clock.next()]);
    await vi.advanceTimersByTimeAsync(30);
    expect((await results).map((r) => (r.done ? 'done' : r.value.k))).toEqual([0, 1, 2, 'done']);
  });

  it('runs on systemClock under fake timers that include performance', async () => {
    const started = systemClock.now();
    const clock = sampleClock({ intervalMs: 100, count: 5 });
    const { ticks, done } = collect(clock);
    await vi.advanceTimersByTimeAsync(500);
    await done;
    expect(ticks.map((t) => t.dueTime)).toEqual([0, 1, 2, 3, 4].map((k) => started + k * 100));
    expect(ticks.map((t) => t.lateMs)).toEqual([0, 0, 0, 0, 0]);
    expect(systemClock.now() - started).toBe(500);
  });
});

describe('sampleClock ending', () => {
  it('ends after count ticks and leaves no timer behind', async () => {
    const clock = sampleClock({ intervalMs: 10, count: 3, clock: fakeClock() });
    const { ticks, done } = collect(clock);
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(ticks.map((t) => t.k)).toEqual([0, 1, 2]);
    expect(vi.getTimerCount()).toBe(0);
    await expect(clock.next()).resolves.toEqual(DONE);
  });

  it('yields nothing when count is 0', async () => {
    await expect(sampleClock({ intervalMs: 10, count: 0, clock: fakeClock() }).next()).resolves.toEqual(DONE);
  });

  it('ends the iteration cleanly when the signal aborts, and clears its timer', async () => {
    const controller = new AbortController();
    const clock = sampleClock({ intervalMs: 100, signal: controller.signal, clock: fakeClock() });
    const { ticks, done } = collect(clock);
    await vi.advanceTimersByTimeAsync(250);
    expect(ticks).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(1);

    controller.abort(new Error('stop'));
    await expect(done).resolves.toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
    expect(ticks).toHaveLength(3);
    await expect(clock.next()).resolves.toEqual(DONE);
  });

  it('ends when aborted from inside the loop body', async () => {
    const controller = new AbortController();
    const clock = sampleClock({ intervalMs: 10, signal: controller.signal, clock: fakeClock() });
    const { ticks, done } = collect(clock, (tick) => {
      if (tick.k === 2) controller.abort();
    });
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(ticks.map((t) => t.k)).toEqual([0, 1, 2]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('yields nothing when the signal is already aborted', async () => {
    const clock = sampleClock({ intervalMs: 10, signal: AbortSignal.abort(), clock: fakeClock() });
    await expect(clock.next()).resolves.toEqual(DONE);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('return() resolves a waiting next() with done and clears the timer', async () => {
    const clock = sampleClock({ intervalMs: 100, clock: fakeClock() });
    await clock.next(); // tick 0 is due at once
    const waiting = clock.next();
    await vi.advanceTimersByTimeAsync(1);
    expect(vi.getTimerCount()).toBe(1);
    await expect(clock.return()).resolves.toEqual(DONE);
    await expect(waiting).resolves.toEqual(DONE);
    expect(vi.getTimerCount()).toBe(0);
    expect(clock.overdue).toBe(0);
  });

  it('breaking out of for await ends the clock', async () => {
    const clock = sampleClock({ intervalMs: 10, clock: fakeClock() });
    const seen: number[] = [];
    const loop = (async () => {
      for await (const tick of clock) {
        seen.push(tick.k);
        if (tick.k === 1) break;
      }
    })();
    await vi.advanceTimersByTimeAsync(50);
    await loop;
    expect(seen).toEqual([0, 1]);
    expect(vi.getTimerCount()).toBe(0);
    await expect(clock.next()).resolves.toEqual(DONE);
  });

  it('rejects the next() whose waveform throws, then ends', async () => {
    const failure = new Error('sensor broke');
    const clock = sampleClock({
      intervalMs: 10,
      clock: fakeClock(),
      waveform: (t) => {
        if (t >= T0 + 10) throw failure;
        return 1;
      },
    });
    await expect(clock.next()).resolves.toMatchObject({ done: false, value: { value: 1 } });
    const failing = clock.next();
    const settled = expect(failing).rejects.toBe(failure);
    await vi.advanceTimersByTimeAsync(10);
    await settled;
    await expect(clock.next()).resolves.toEqual(DONE);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('sampleClock option validation', () => {
  const clock = (): Clock => fakeClock();
  it.each([
    ['intervalMs', { intervalMs: 0 }],
    ['intervalMs', { intervalMs: -10 }],
    ['intervalMs', { intervalMs: Number.NaN }],
    ['intervalMs', { intervalMs: Number.POSITIVE_INFINITY }],
    ['count', { intervalMs: 10, count: -1 }],
    ['count', { intervalMs: 10, count: 1.5 }],
    ['count', { intervalMs: 10, count: Number.NaN }],
    ['lateToleranceMs', { intervalMs: 10, lateToleranceMs: -1 }],
    ['startTime', { intervalMs: 10, startTime: Number.NaN }],
  ])('rejects a bad %s with a RangeError naming it: %o', (name, options) => {
    const call = (): unknown => sampleClock({ ...options, clock: clock() });
    expect(call).toThrow(RangeError);
    expect(call).toThrow(new RegExp(`^${name} must be`));
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it.each([
    ['intervalMs', {}],
    ['intervalMs', { intervalMs: '10' }],
    ['count', { intervalMs: 10, count: '3' }],
    ['waveform', { intervalMs: 10, waveform: 0.5 }],
    ['clock', { intervalMs: 10, clock: { now: () => 0 } }],
    ['signal', { intervalMs: 10, signal: { aborted: 'no' } }],
  ])('rejects a %s of the wrong type with a TypeError naming it: %o', (name, options) => {
    const call = (): unknown => sampleClock(options as never);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(new RegExp(`^${name} must be`));
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('accepts count Infinity (the default) and lateToleranceMs 0', () => {
    expect(() => sampleClock({ intervalMs: 10, count: Infinity, lateToleranceMs: 0, clock: clock() })).not.toThrow();
  });
});
