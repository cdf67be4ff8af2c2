import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './limiter.js';

function limiter(overrides = {}) {
  let now = 1_000_000;
  const l = new FailureLimiter(
    { failureDelayMs: 100, maxFailureDelayMs: 1000, maxFailures: 5, blockMs: 60_000, maxAddresses: 3, ...overrides },
    () => now,
  );
  return { l, advance: (ms: number) => (now += ms) };
}

describe('FailureLimiter (docs/SECURITY.md, "Guessing tokens")', () => {
  it('doubles the wait with each failure of an address, up to the longest wait', () => {
    const { l } = limiter({ maxFailures: 10 });
    const delays = [];
    for (let i = 0; i < 6; i++) {
      expect(l.begin('10.0.0.1')).toBe(true);
      delays.push(l.failed('10.0.0.1'));
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('refuses an address after maxFailures, until blockMs after its last failure', () => {
    const { l, advance } = limiter();
    for (let i = 0; i < 5; i++) {
      expect(l.begin('10.0.0.1')).toBe(true);
      l.failed('10.0.0.1');
    }
    expect(l.begin('10.0.0.1')).toBe(false);
    expect(l.isBlocked('10.0.0.1')).toBe(true);
    expect(l.blockedAddresses).toBe(1);
    expect(l.begin('10.0.0.2')).toBe(true); // another address is not affected
    advance(59_999);
    expect(l.begin('10.0.0.1')).toBe(false);
    advance(1);
    expect(l.begin('10.0.0.1')).toBe(true);
  });

  it('counts checks still running, so that many connections at once get no more checks than maxFailures', () => {
    const { l } = limiter();
    const started = Array.from({ length: 20 }, () => l.begin('10.0.0.1')).filter(Boolean).length;
    expect(started).toBe(5);
  });

  it('forgets an address whose check succeeded with no failure, and bounds the table', () => {
    const { l } = limiter({ maxFailures: 1 });
    l.begin('10.0.0.9');
    l.succeeded('10.0.0.9');
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) {
      l.begin(a);
      l.failed(a);
    }
    // At most 3 addresses kept: the one that failed longest ago was forgotten.
    expect(l.isBlocked('10.0.0.1')).toBe(false);
    expect(l.isBlocked('10.0.0.4')).toBe(true);
  });

  it('validates its limits', () => {
    expect(() => new FailureLimiter({ maxFailures: 0 })).toThrow(RangeError);
    expect(() => new FailureLimiter({ failureDelayMs: -1 })).toThrow(/failureDelayMs/);
  });
});
