import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBatch, toReadings, type Reading } from '../codec/batch.js';
import { Outbox } from './outbox.js';

type Op =
  | { kind: 'add'; count: number }
  | { kind: 'take'; maxReadings: number; maxBytes: number }
  | { kind: 'ack' }
  | { kind: 'retake' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), count: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    kind: fc.constant('take' as const),
    maxReadings: fc.integer({ min: 1, max: 50 }),
    maxBytes: fc.integer({ min: 1, max: 2000 }),
  }),
  fc.record({ kind: fc.constant('ack' as const) }),
  fc.record({ kind: fc.constant('retake' as const) }),
);

describe('Outbox', () => {
  it('hands out readings oldest first, in batches within their limits, and never holds more than its bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.array(opArb, { maxLength: 120 }), (bound, ops) => {
        const outbox = new Outbox(bound);
        const model: Reading[] = [];
        let inFlight: { bytes: Uint8Array; count: number } | undefined;
        let next = 0;
        let dropped = 0;
        let batchSeq = 0;
        for (const op of ops) {
          if (op.kind === 'add') {
            for (let k = 0; k < op.count; k++) {
              const r: Reading = { name: `s${next % 7}`, value: next, timestampMs: 1000 + next, senderSeq: next - 1 };
              next++;
              const accepted = outbox.add(r.name, r.value, r.timestampMs, r.senderSeq);
              expect(accepted).toBe(model.length < bound);
              if (accepted) model.push(r);
              else dropped++;
            }
          } else if (op.kind === 'take') {
            if (inFlight !== undefined) {
              expect(() => outbox.take('n', batchSeq, op.maxReadings, op.maxBytes)).toThrow(/in flight/);
              continue;
            }
            const batch = outbox.take('n', ++batchSeq, op.maxReadings, op.maxBytes);
            if (model.length === 0) {
              expect(batch).toBeUndefined();
              continue;
            }
            expect(batch).toBeDefined();
            if (batch === undefined) continue;
            expect(batch.count).toBeGreaterThanOrEqual(1);
            expect(batch.count).toBeLessThanOrEqual(op.maxReadings);
            // A batch keeps to its byte budget, except that it always holds at least one reading.
            if (batch.count > 1) expect(batch.bytes.length).toBeLessThanOrEqual(op.maxBytes);
            const decoded = decodeBatch(batch.bytes);
            expect(decoded.batchSeq).toBe(batchSeq);
            expect(toReadings(decoded)).toEqual(model.slice(0, batch.count));
            inFlight = batch;
          } else if (op.kind === 'retake') {
            expect(outbox.inFlight?.bytes).toBe(inFlight?.bytes);
          } else {
            outbox.ack();
            if (inFlight !== undefined) model.splice(0, inFlight.count);
            inFlight = undefined;
          }
          expect(outbox.pending).toBe(model.length);
          expect(outbox.waiting).toBe(model.length - (inFlight?.count ?? 0));
          expect(outbox.dropped).toBe(dropped);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a reading past maxPendingReadings and counts it, then accepts again once a batch is acknowledged', () => {
    const outbox = new Outbox(3);
    expect([1, 2, 3, 4, 5].map((v) => outbox.add('a', v, v, -1))).toEqual([true, true, true, false, false]);
    expect(outbox.dropped).toBe(2);
    expect(outbox.take('n', 1, 2, 1 << 20)?.count).toBe(2);
    expect(outbox.add('a', 6, 6, -1)).toBe(false);
    outbox.ack();
    expect(outbox.add('a', 7, 7, -1)).toBe(true);
    expect(
      toReadings(decodeBatch(outbox.take('n', 2, 10, 1 << 20)?.bytes ?? new Uint8Array())).map((r) => r.value),
    ).toEqual([3, 7]);
  });

  it('throws for a reading that cannot be encoded and keeps nothing of it', () => {
    const outbox = new Outbox(10);
    expect(() => outbox.add('bad name', 1, 1, -1)).toThrow(RangeError);
    expect(outbox.pending).toBe(0);
  });
});
