import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectDeadline, ConnectTimeoutError } from './connect-deadline.js';

describe('ConnectDeadline', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const start = (timeoutMs: number): { deadline: ConnectDeadline; expired: ConnectTimeoutError[] } => {
    const expired: ConnectTimeoutError[] = [];
    const deadline = new ConnectDeadline({ server: '127.0.0.1:7330', timeoutMs, onExpire: (e) => expired.push(e) });
    return { deadline, expired };
  };

  it('expires when nothing accepted the connection in time, saying so', () => {
    const { expired } = start(10_000);
    vi.advanceTimersByTime(9_999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toBeInstanceOf(ConnectTimeoutError);
    expect(expired[0]).toMatchObject({ code: 'ENOCONNECT', timeoutMs: 10_000 });
    expect(expired[0]!.message).toMatch(/^could not connect to 127\.0\.0\.1:7330 within 10 s \(is opc-server running/);
  });

  it('expires when the connection is up but the server never answered, saying so', () => {
    const { deadline, expired } = start(1500);
    deadline.connected();
    vi.advanceTimersByTime(1500);
    expect(expired.map((e) => e.code)).toEqual(['ENOANSWER']);
    expect(expired[0]!.message).toBe(
      'the server at 127.0.0.1:7330 accepted the connection but did not answer within 1.5 s (is it an opc-lite server?)',
    );
  });

  it('never expires once the server answered, however long the reader then runs', () => {
    const { deadline, expired } = start(1000);
    deadline.connected();
    vi.advanceTimersByTime(999);
    deadline.answered();
    deadline.answered();
    vi.advanceTimersByTime(3_600_000);
    expect(expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits forever with a timeout of 0: no timer at all', () => {
    const { expired } = start(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(86_400_000);
    expect(expired).toEqual([]);
  });

  it('stops its timer when cancelled', () => {
    const { deadline, expired } = start(1000);
    deadline.cancel();
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual([]);
  });

  it('refuses a negative or infinite timeout', () => {
    expect(() => start(-1)).toThrow(RangeError);
    expect(() => start(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => start(Number.NaN)).toThrow(RangeError);
  });
});
