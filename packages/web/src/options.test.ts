import { describe, expect, it } from 'vitest';
import { resolveWebOptions, WEB_DEFAULTS } from './options.js';

describe('resolveWebOptions', () => {
  it('fills in the defaults', () => {
    const resolved = resolveWebOptions({});
    expect(resolved).toMatchObject({
      ...WEB_DEFAULTS,
      processMetrics: true,
      metricsSensors: undefined,
      maxPoints: 100_000,
    });
    expect(Object.isFrozen(WEB_DEFAULTS)).toBe(true);
  });

  it('names the option in every refusal', () => {
    expect(() => resolveWebOptions({ maxStreams: -1 })).toThrow(
      new RangeError('maxStreams must be an integer from 0 to 1000000 (got -1)'),
    );
    expect(() => resolveWebOptions({ heartbeatMs: '5' as unknown as number })).toThrow(
      new TypeError('heartbeatMs must be a number (got string)'),
    );
    expect(() => resolveWebOptions({ metricsSensors: 'a b' })).toThrow(RangeError);
    expect(() => resolveWebOptions({ logger: {} as never })).toThrow(/^logger must have debug, info, warn and error/);
    expect(() => resolveWebOptions({ heartbeatMS: 5 } as never)).toThrow(/^unknown option 'heartbeatMS' \(known: /);
  });

  it('caps points at the protocol bound however large maxRangeReply is', () => {
    expect(resolveWebOptions({ maxRangeReply: 500_000 }).maxPoints).toBe(100_000);
    expect(resolveWebOptions({ maxRangeReply: 10 }).maxPoints).toBe(10);
  });
});
