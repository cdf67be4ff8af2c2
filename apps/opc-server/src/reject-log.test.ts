import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { printableSample, RejectLog, rejectHint, type WarnLogger } from './reject-log.js';

interface Logged {
  fields: Record<string, unknown>;
  message: string;
}

const recorder = (): { logger: WarnLogger; lines: Logged[] } => {
  const lines: Logged[] = [];
  return { logger: { warn: (fields, message) => lines.push({ fields, message }) }, lines };
};

describe('RejectLog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs the first reject of a reason at once, with the sample, the sender and a hint', () => {
    const { logger, lines } = recorder();
    const log = new RejectLog(logger);
    log.record({ reason: 'bad-number', line: 'temp=21.5', remote: '127.0.0.1:5000' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.fields).toEqual({
      reason: 'bad-number',
      sample: '"temp=21.5"',
      from: '127.0.0.1:5000',
      hint: expect.stringContaining('InfluxDB') as string,
    });
    expect(lines[0]!.message).toMatch(/^UDP line rejected for bad-number: "temp=21\.5" from 127\.0\.0\.1:5000: /);
    expect(lines[0]!.message).toContain('send "temp 21.5"');
    expect(lines[0]!.message).toContain('further bad-number lines are counted and logged every minute');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('counts later rejects of a reason and logs them as one line when the interval ends', () => {
    const { logger, lines } = recorder();
    const log = new RejectLog(logger);
    log.record({ reason: 'bad-number', line: 'temp=21.5', remote: '127.0.0.1:5000' });
    log.record({ reason: 'bad-number', line: 'temp 21,5', remote: '10.0.0.2:6000' });
    for (let i = 0; i < 999; i++) log.record({ reason: 'bad-number', line: `x=${i}`, remote: '10.0.0.3:7000' });
    vi.advanceTimersByTime(59_999);
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      fields: {
        reason: 'bad-number',
        count: 1000,
        sample: '"temp 21,5"',
        from: '10.0.0.2:6000',
        hint: 'the decimal separator is a point: 21.5, not 21,5',
      },
      message:
        '1000 more UDP lines rejected for bad-number in the last minute, e.g. "temp 21,5" from 10.0.0.2:6000: ' +
        'the decimal separator is a point: 21.5, not 21,5',
    });
  });

  it('logs each reason on its own: a first line for each, then one count line per reason', () => {
    const { logger, lines } = recorder();
    const log = new RejectLog(logger, { intervalMs: 1000 });
    for (let i = 0; i < 3; i++) {
      log.record({ reason: 'bad-number', line: 'a b', remote: 'h:1' });
      log.record({ reason: 'bad-timestamp', line: 'a 1 1764316800125', remote: 'h:2' });
    }
    expect(lines.map((l) => l.fields.reason)).toEqual(['bad-number', 'bad-timestamp']);
    vi.advanceTimersByTime(1000);
    expect(lines.slice(2).map((l) => [l.fields.reason, l.fields.count])).toEqual([
      ['bad-number', 2],
      ['bad-timestamp', 2],
    ]);
    expect(lines[3]!.message).toMatch(
      /^2 more UDP lines rejected for bad-timestamp in the last 1 s, e\.g\. "a 1 1764316800125" from h:2: .*milliseconds/,
    );
  });

  it('loses no reject and logs each reason at most once per interval, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            reason: fc.constantFrom('bad-number', 'bad-name', 'bad-syntax', 'line-too-long' as const),
            advanceMs: fc.nat({ max: 300 }),
          }),
          { maxLength: 200 },
        ),
        (events) => {
          const lines: { reason: unknown; count: unknown; at: number }[] = [];
          const log = new RejectLog(
            { warn: (fields) => lines.push({ reason: fields.reason, count: fields.count, at: Date.now() }) },
            { intervalMs: 100 },
          );
          for (const { reason, advanceMs } of events) {
            log.record({ reason, line: 'x', remote: 'h:1' });
            vi.advanceTimersByTime(advanceMs);
          }
          const beforeClose = lines.length;
          log.close();
          const counted = lines.reduce((sum, l) => sum + (typeof l.count === 'number' ? l.count : 1), 0);
          expect(counted).toBe(events.length);
          for (const reason of new Set(events.map((e) => e.reason))) {
            const mine = lines.slice(0, beforeClose).filter((l) => l.reason === reason);
            expect(mine[0]?.count).toBeUndefined(); // the first is the sample line
            const timed = mine.slice(1).map((l) => l.at);
            for (let i = 1; i < timed.length; i++) expect(timed[i]! - timed[i - 1]!).toBeGreaterThanOrEqual(100);
          }
        },
      ),
    );
  });

  it('starts counting afresh after each interval', () => {
    const { logger, lines } = recorder();
    const log = new RejectLog(logger, { intervalMs: 1000 });
    log.record({ reason: 'bad-name', line: 'a$ 1' });
    log.record({ reason: 'bad-name', line: 'b$ 1' });
    vi.advanceTimersByTime(1000);
    expect(vi.getTimerCount()).toBe(0); // quiet: no timer while nothing is counted
    vi.advanceTimersByTime(5000);
    log.record({ reason: 'bad-name', line: 'c$ 1' });
    vi.advanceTimersByTime(1000);
    expect(lines.map((l) => l.fields.count)).toEqual([undefined, 1, 1]);
    expect(lines[2]!.message).toMatch(
      /^1 more UDP line rejected for bad-name in the last 1 s, e\.g\. "c\$ 1": sensor names/,
    );
  });

  it('logs what is still counted on close, and nothing after', () => {
    const { logger, lines } = recorder();
    const log = new RejectLog(logger);
    log.record({ reason: 'bad-syntax', line: 'a b c d e' });
    log.record({ reason: 'bad-syntax', line: 'a b c d e' });
    log.close();
    log.close();
    expect(lines.map((l) => l.fields.count)).toEqual([undefined, 1]);
    expect(lines[1]!.message).toMatch(/^1 more UDP line rejected for bad-syntax since the last report, e\.g\. /);
    expect(vi.getTimerCount()).toBe(0);
    log.record({ reason: 'bad-number', line: 'nan' });
    vi.advanceTimersByTime(120_000);
    expect(lines).toHaveLength(2);
  });

  it('refuses an interval or sample length that is not a positive integer', () => {
    const { logger } = recorder();
    expect(() => new RejectLog(logger, { intervalMs: 0 })).toThrow(RangeError);
    expect(() => new RejectLog(logger, { sampleChars: 1.5 })).toThrow(/sampleChars/);
  });
});

describe('printableSample', () => {
  it('quotes the line and escapes quotes, backslashes, control and non-ASCII characters', () => {
    expect(printableSample('temp=21.5', 80)).toBe('"temp=21.5"');
    expect(printableSample('a\tb\u0000"\\\r\u00f1', 80)).toBe('"a\\tb\\x00\\"\\\\\\r\\xf1"');
  });

  it('cuts a long line and says how long it was', () => {
    expect(printableSample('x'.repeat(100), 8)).toBe('"xxxxxxxx"… (100 characters)');
  });

  it('is printable ASCII, one line, at most a bounded length, for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 1, max: 100 }), (line, max) => {
        const sample = printableSample(line, max);
        expect(sample.replace('…', '')).toMatch(/^[\x20-\x7e]*$/);
        expect(sample.length).toBeLessThanOrEqual(max * 6 + 2 + ' (… characters)'.length + 10);
      }),
    );
  });
});

describe('rejectHint', () => {
  it.each([
    ['bad-number', 'temp=21.5', /key=value; send "temp 21\.5".*InfluxDB line protocol .*"temp value=21\.5"/],
    ['bad-name', 'room=lab 21.5', /key=value; send "<name> <value>".*InfluxDB line protocol/],
    ['bad-number', 'temp 21,5', /decimal separator is a point: 21\.5, not 21,5/],
    ['bad-number', '21,5', /decimal separator is a point/],
    ['bad-number', 'hot', /bare value for the sensor "default"/],
    ['bad-number', 'temp 12ms', /decimal number such as 21\.5/],
    ['bad-number', 'ramp:|g', /decimal number such as 21\.5/],
    ['bad-name', 'tëmp 1', /A-Z a-z 0-9 _ \. - \//],
    [
      'bad-timestamp',
      'temp 21.5 1764316800125',
      /Unix seconds; 1764316800125 looks like milliseconds \(send 1764316800\.125\)/,
    ],
    ['bad-timestamp', 'temp:21.5|g|T1764316800125', /looks like milliseconds/],
    ['bad-timestamp', 'temp 21.5 1764316800125000000', /micro- or nanoseconds/],
    ['bad-timestamp', 'temp 21.5 now', /Unix seconds .*or -1/],
    ['bad-sequence', 'temp 21.5 -1 1.5', /whole number/],
    ['bad-syntax', 'a b c d e', /2 to 4 fields/],
    ['bad-syntax', 'temp 1 12:00', /StatsD gauge/],
    ['unsupported-type', 'hits:1|c', /only StatsD gauges/],
    ['line-too-long', 'x', /--max-line-bytes/],
    ['too-many-sensors', 'new', /--max-sensors/],
  ] as const)('for %s %j says %s', (reason, line, hint) => {
    expect(rejectHint(reason, line)).toMatch(hint);
  });
});
