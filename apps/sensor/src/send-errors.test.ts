import { describe, expect, it } from 'vitest';
import { SendErrorReporter } from './send-errors.js';

const refused = (): NodeJS.ErrnoException =>
  Object.assign(new Error('send ECONNREFUSED 127.0.0.1:7330'), { code: 'ECONNREFUSED' });
const unreachable = (): NodeJS.ErrnoException =>
  Object.assign(new Error('network is unreachable'), { code: 'ENETUNREACH' });

const setup = () => {
  let now = 0;
  const lines: string[] = [];
  const reporter = new SendErrorReporter({ log: (line) => lines.push(line), now: () => now, reportIntervalMs: 5000 });
  return {
    reporter,
    lines,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

describe('SendErrorReporter', () => {
  it('says nothing while sends succeed', () => {
    const { reporter, lines } = setup();
    reporter.succeeded();
    reporter.succeeded();
    expect(lines).toEqual([]);
    expect(reporter.total).toBe(0);
    expect(reporter.failing).toBe(false);
  });

  it('reports the first failure at once, with its code', () => {
    const { reporter, lines } = setup();
    reporter.failed(refused());
    expect(lines).toEqual([
      'send failed: send ECONNREFUSED 127.0.0.1:7330; still sending, readings are lost until it works again',
    ]);
    expect(reporter.failing).toBe(true);
  });

  it('adds the code when the message lacks it', () => {
    const { reporter, lines } = setup();
    reporter.failed(unreachable());
    expect(lines[0]).toContain('ENETUNREACH (network is unreachable)');
  });

  it('stays quiet about further failures until the report interval has passed', () => {
    const { reporter, lines, advance } = setup();
    reporter.failed(refused());
    for (let i = 0; i < 99; i++) {
      advance(10);
      reporter.failed(refused());
    }
    expect(lines).toHaveLength(1);
    advance(4010); // 5000 ms since the first report
    reporter.failed(refused());
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('send still failing: 100 more failed datagrams in 5.0 s (send ECONNREFUSED 127.0.0.1:7330)');
    expect(reporter.total).toBe(101);
  });

  it('says when sending resumes, with how many datagrams failed, then only reports new outages', () => {
    const { reporter, lines, advance } = setup();
    reporter.failed(refused());
    advance(1500);
    reporter.failed(refused());
    reporter.succeeded();
    expect(lines[1]).toBe('sending resumed after 2 failed datagrams over 1.5 s');
    expect(reporter.failing).toBe(false);
    reporter.succeeded();
    expect(lines).toHaveLength(2);
    reporter.failed(refused());
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^send failed:/);
    expect(reporter.total).toBe(3);
  });

  it('rejects a report interval that is not positive', () => {
    expect(() => new SendErrorReporter({ log: () => {}, now: () => 0, reportIntervalMs: 0 })).toThrow(RangeError);
  });
});
