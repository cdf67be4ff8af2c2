import type { Clock } from '@opc-lite/sawtooth-generator';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatSummary, runSensor, type SendDatagram, type SensorLoopOptions } from './sensor.js';

// A round second, so that due times print as short decimals: t0 + 10 ms → 1764316800.01.
const T0 = 1_764_316_800_000;

// The sample clock on vitest's fake timers.
const fakeClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

const options = (overrides: Partial<SensorLoopOptions> = {}): SensorLoopOptions => ({
  intervalMs: 10,
  name: 'ramp',
  periodMs: 1000,
  amplitude: 1,
  offset: 0,
  phase: 0,
  width: 1,
  legacy: false,
  count: 6,
  batchMax: 64,
  ...overrides,
});

/** A send that records each datagram's text; `delayMs(n)` makes the n-th send (from 1) take that long. */
function recorder(delayMs: (n: number) => number = () => 0, fail: (n: number) => boolean = () => false) {
  const datagrams: string[] = [];
  const send: SendDatagram = (buffer, length) => {
    datagrams.push(buffer.toString('latin1', 0, length));
    const n = datagrams.length;
    const result = fail(n) ? new Error('send EPERM') : undefined;
    const delay = delayMs(n);
    return delay === 0 ? Promise.resolve(result) : new Promise((resolve) => setTimeout(() => resolve(result), delay));
  };
  return { datagrams, send };
}

const seqs = (datagram: string): number[] => datagram.split('\n').map((line) => Number(line.split(' ')[3]));

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('runSensor', () => {
  it('sends one native line per datagram while on time, with seq from 1 and the due time as timestamp', async () => {
    const { datagrams, send } = recorder();
    const done = runSensor({ options: options({ count: 3 }), send, clock: fakeClock });
    await vi.advanceTimersByTimeAsync(100);
    const summary = await done;
    expect(datagrams).toHaveLength(3);
    expect(datagrams.map((d) => d.split(' ').slice(0, 1).concat(d.split(' ').slice(2)))).toEqual([
      ['ramp', '1764316800', '1'],
      ['ramp', '1764316800.01', '2'],
      ['ramp', '1764316800.02', '3'],
    ]);
    expect(datagrams.map((d) => Number(d.split(' ')[1]))).toEqual([
      0,
      expect.closeTo(0.01, 9),
      expect.closeTo(0.02, 9),
    ]);
    expect(summary).toEqual({
      readings: 3,
      datagrams: 3,
      lateTicks: 0,
      sendErrors: 0,
      unsentReadings: 0,
      elapsedMs: 20,
    });
  });

  it('packs the samples that fell due during a slow send into one datagram, each with its own line', async () => {
    // The first send takes 36 ms: samples 2, 3 and 4 (due at 10, 20, 30 ms) are then all overdue.
    const { datagrams, send } = recorder((n) => (n === 1 ? 36 : 0));
    const done = runSensor({ options: options({ count: 6 }), send, clock: fakeClock });
    await vi.advanceTimersByTimeAsync(100);
    const summary = await done;
    expect(datagrams.map(seqs)).toEqual([[1], [2, 3, 4], [5], [6]]);
    expect(datagrams[1]?.split('\n').map((line) => line.split(' ')[2])).toEqual([
      '1764316800.01',
      '1764316800.02',
      '1764316800.03',
    ]);
    expect(summary).toMatchObject({ readings: 6, datagrams: 4, lateTicks: 3 });
  });

  it('caps a batch at batchMax readings', async () => {
    const { datagrams, send } = recorder((n) => (n === 1 ? 36 : 0));
    const done = runSensor({ options: options({ count: 6, batchMax: 2 }), send, clock: fakeClock });
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(datagrams.map(seqs)).toEqual([[1], [2, 3], [4], [5], [6]]);
  });

  it('starts a new datagram when the next line would pass the byte capacity', async () => {
    const { datagrams, send } = recorder((n) => (n === 1 ? 36 : 0));
    // 'ramp 0.01 1764316800.01 2' is 25 bytes: two lines and their LF need 51.
    const done = runSensor({ options: options({ count: 6 }), send, clock: fakeClock, datagramBytes: 60 });
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(datagrams.map(seqs)).toEqual([[1], [2, 3], [4], [5], [6]]);
    for (const datagram of datagrams) expect(datagram.length).toBeLessThanOrEqual(60);
  });

  it('never batches in legacy mode: one bare value per datagram', async () => {
    const { datagrams, send } = recorder((n) => (n === 1 ? 36 : 0));
    const done = runSensor({ options: options({ count: 6, legacy: true, batchMax: 64 }), send, clock: fakeClock });
    await vi.advanceTimersByTimeAsync(100);
    const summary = await done;
    expect(datagrams).toHaveLength(6);
    for (const datagram of datagrams) expect(datagram).toMatch(/^\d+(?:\.\d+)?(?:e-\d+)?$/);
    datagrams.forEach((datagram, k) => expect(Number(datagram)).toBeCloseTo(k / 100, 9));
    expect(summary).toMatchObject({ readings: 6, datagrams: 6 });
  });

  it('counts a failed send and keeps going', async () => {
    const { datagrams, send } = recorder(
      () => 0,
      (n) => n === 2,
    );
    const done = runSensor({ options: options({ count: 4 }), send, clock: fakeClock });
    await vi.advanceTimersByTimeAsync(100);
    const summary = await done;
    expect(datagrams.map(seqs)).toEqual([[1], [2], [3], [4]]);
    expect(summary).toMatchObject({ readings: 3, datagrams: 3, sendErrors: 1, unsentReadings: 1 });
  });

  it('stops when the signal aborts and reports what it sent', async () => {
    const controller = new AbortController();
    const { datagrams, send } = recorder();
    const counting: SendDatagram = async (buffer, length) => {
      const result = await send(buffer, length);
      if (datagrams.length === 3) controller.abort();
      return result;
    };
    const done = runSensor({
      options: options({ count: undefined }),
      send: counting,
      clock: fakeClock,
      signal: controller.signal,
    });
    await vi.advanceTimersByTimeAsync(1000);
    const summary = await done;
    expect(datagrams).toHaveLength(3);
    expect(summary).toMatchObject({ readings: 3, datagrams: 3 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('uses the waveform options: a falling ramp from offset + amplitude', async () => {
    const { datagrams, send } = recorder();
    const done = runSensor({
      options: options({ count: 2, width: 0, amplitude: 4, offset: -2, periodMs: 100 }),
      send,
      clock: fakeClock,
    });
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(datagrams.map((d) => Number(d.split(' ')[1]))).toEqual([2, expect.closeTo(1.6, 9)]);
  });
});

describe('formatSummary', () => {
  it('prints counts, elapsed time and rate on one line', () => {
    expect(
      formatSummary({ readings: 50, datagrams: 48, lateTicks: 2, sendErrors: 0, unsentReadings: 0, elapsedMs: 500 }),
    ).toBe('50 readings sent in 48 datagrams over 0.50 s (100.0 readings/s); 2 late ticks, 0 send errors');
  });

  it('uses the singular for one and mentions readings that were not sent', () => {
    expect(
      formatSummary({ readings: 1, datagrams: 1, lateTicks: 1, sendErrors: 1, unsentReadings: 3, elapsedMs: 0 }),
    ).toBe(
      '1 reading sent in 1 datagram over 0.00 s (0.0 readings/s); 1 late tick, 1 send error (3 readings not sent)',
    );
  });
});
