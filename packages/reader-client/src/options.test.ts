import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULTS, RECONNECT_DEFAULTS, resolveOptions } from './options.js';

describe('resolveOptions', () => {
  it('applies the defaults', () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({ host: '127.0.0.1', port: 7330, requestTimeoutMs: DEFAULTS.requestTimeoutMs });
    expect(o.reconnect).toBeUndefined();
    expect(resolveOptions({ reconnect: true }).reconnect).toEqual({ ...RECONNECT_DEFAULTS });
    expect(resolveOptions({ reconnect: { maxAttempts: 3 } }).reconnect).toMatchObject({ maxAttempts: 3, factor: 2 });
  });

  it('rejects bad values naming the option', () => {
    expect(() => resolveOptions({ port: 70000 })).toThrow(/port/);
    expect(() => resolveOptions({ port: 0 })).toThrow(RangeError);
    expect(() => resolveOptions({ requestTimeoutMs: -1 })).toThrow(/requestTimeoutMs/);
    expect(() => resolveOptions({ connectTimeoutMs: '5' as unknown as number })).toThrow(TypeError);
    expect(() => resolveOptions({ reconnect: { jitter: 2 } })).toThrow(/reconnect.jitter/);
    expect(() => resolveOptions({ reconnect: { factor: 0.5 } })).toThrow(/reconnect.factor/);
    expect(() => resolveOptions({ reconnect: { initialDelayMs: 10, maxDelayMs: 5 } })).toThrow(/maxDelayMs/);
    expect(() => resolveOptions({ host: '' })).toThrow(TypeError);
  });

  it('keeps its defaults frozen', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(Object.isFrozen(RECONNECT_DEFAULTS)).toBe(true);
  });
});

describe('backoffDelayMs', () => {
  const settings = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0 };

  it('grows exponentially from the initial delay up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelayMs(a, settings))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads each delay by at most the jitter fraction, never past the cap', () => {
    const jittered = { ...settings, jitter: 0.5 };
    expect(backoffDelayMs(2, jittered, () => 0)).toBe(100);
    expect(backoffDelayMs(2, jittered, () => 0.5)).toBe(200);
    expect(backoffDelayMs(2, jittered, () => 1)).toBe(300);
    expect(backoffDelayMs(9, jittered, () => 1)).toBe(1000);
  });
});
