import { decodeReplyLine, ProtocolError } from '@opc-lite/protocol';
import { describe, expect, it } from 'vitest';
import { UnexpectedReplyError } from './errors.js';
import { PendingRequest } from './request.js';
import type { Expect, Step } from './request.js';

function feed<T>(expect_: Expect, lines: string[]): { request: PendingRequest<T>; steps: Step[] } {
  const request = new PendingRequest<T>('X\n', expect_);
  const steps = lines.map((line) => request.accept(decodeReplyLine(line)));
  return { request, steps };
}

describe('PendingRequest', () => {
  it('completes a one-line reply', async () => {
    const { request, steps } = feed<number>('value', ['0.5']);
    expect(steps).toEqual(['done']);
    expect(await request.promise).toBe(0.5);
  });

  it('collects a multi-line reply until END', async () => {
    const { request, steps } = feed('vals', ['VAL a 1 1000 1', 'VAL a 2 2000 2', 'END']);
    expect(steps).toEqual(['more', 'more', 'done']);
    expect(await request.promise).toEqual([
      { name: 'a', value: 1, timestampMs: 1000, seq: 1 },
      { name: 'a', value: 2, timestampMs: 2000, seq: 2 },
    ]);
  });

  it('turns STAT lines into numbers where they are numeric', async () => {
    const { request } = feed('stats', ['STAT clients 2', 'STAT version 1.0.0', 'STAT ratio 0.5', 'END']);
    expect(await request.promise).toEqual({ clients: 2, version: '1.0.0', ratio: 0.5 });
  });

  it('rejects with a ProtocolError on ERR, ending even a multi-line reply', async () => {
    const { request, steps } = feed('vals', ['ERR not-found ramp']);
    expect(steps).toEqual(['done']);
    await expect(request.promise).rejects.toEqual(new ProtocolError('not-found', 'ramp'));
  });

  it('rejects an ERR with an unknown code as an UnexpectedReplyError, still completing', async () => {
    const { request, steps } = feed('pong', ['ERR brand-new-code detail']);
    expect(steps).toEqual(['done']);
    await expect(request.promise).rejects.toBeInstanceOf(UnexpectedReplyError);
  });

  it('reports a line that cannot answer the request as a mismatch', async () => {
    const { request, steps } = feed('val', ['PONG']);
    expect(steps).toEqual(['mismatch']);
    await expect(request.promise).rejects.toBeInstanceOf(UnexpectedReplyError);
  });

  it('still consumes its reply after it was settled by a timeout', async () => {
    const request = new PendingRequest<unknown>('LIST\n', 'sensors');
    request.reject(new Error('timeout'));
    await expect(request.promise).rejects.toThrow('timeout');
    expect(request.accept(decodeReplyLine('SENSOR a 1 1000 0.5'))).toBe('more');
    expect(request.accept(decodeReplyLine('END'))).toBe('done');
  });

  it('collects a RANGE reply into readings and the MORE that cut it', async () => {
    const { request, steps } = feed('range', ['VAL a 1 1000 1', 'VAL a 2 2000 2', 'MORE 3000', 'END']);
    expect(steps).toEqual(['more', 'more', 'more', 'done']);
    expect(await request.promise).toEqual({
      readings: [
        { name: 'a', value: 1, timestampMs: 1000, seq: 1 },
        { name: 'a', value: 2, timestampMs: 2000, seq: 2 },
      ],
      more: 3000,
    });
    expect(await feed('range', ['END']).request.promise).toEqual({ readings: [], more: undefined });
  });

  it('collects a RANGE with points into buckets', async () => {
    const { request } = feed('buckets', ['BUCKET a 0 2 1 3 2 1 3', 'END']);
    expect(await request.promise).toEqual({
      buckets: [{ name: 'a', startMs: 0, count: 2, min: 1, max: 3, mean: 2, first: 1, last: 3 }],
    });
  });

  it.each<[Expect, string[]]>([
    ['range', ['MORE 1', 'VAL a 1 1000 1']],
    ['range', ['MORE 1', 'MORE 2']],
    ['range', ['BUCKET a 0 2 1 3 2 1 3']],
    ['buckets', ['VAL a 1 1000 1']],
  ])('reports a %s reply out of order as a mismatch: %j', async (kind, lines) => {
    const { request, steps } = feed(kind, lines);
    expect(steps.at(-1)).toBe('mismatch');
    await expect(request.promise).rejects.toBeInstanceOf(UnexpectedReplyError);
  });
});
