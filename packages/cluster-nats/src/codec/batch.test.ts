import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_FORMAT_VERSION,
  BatchEncoder,
  decodeBatch,
  encodeBatch,
  isValidName,
  isValidNodeName,
  toReadings,
  type Reading,
} from './batch.js';
import { BatchDecodeError } from './errors.js';

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/';
const NODE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

const nameArb = fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 128 });
const originArb = fc.string({ unit: fc.constantFrom(...NODE_CHARS), minLength: 1, maxLength: 64 });
/** Every finite double: -0, subnormals, the extremes. */
const finiteArb = fc.double({ noNaN: true, noDefaultInfinity: true });
const timestampArb = fc.oneof(
  finiteArb,
  fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -0, 1e14 - 0.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 60),
);
const senderSeqArb = fc.oneof(fc.constant(-1), fc.maxSafeNat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER));
const readingArb: fc.Arbitrary<Reading> = fc.record({
  name: nameArb,
  value: finiteArb,
  timestampMs: timestampArb,
  senderSeq: senderSeqArb,
});
/** Readings whose names repeat, so name references are exercised. */
const readingsArb = fc
  .tuple(fc.array(nameArb, { minLength: 1, maxLength: 6 }), fc.array(readingArb, { maxLength: 60 }), fc.nat())
  .map(([names, readings, k]) =>
    readings.map((r, i) => (i % 3 === 0 ? r : { ...r, name: names[(i + k) % names.length] ?? r.name })),
  );
const batchArb = fc.record({ origin: originArb, batchSeq: fc.maxSafeNat(), readings: readingsArb });

/** Recomputes the trailing checksum, so a test reaches the field checks behind it. */
function withChecksum(body: number[]): Uint8Array {
  const bytes = new Uint8Array(body.length + 4);
  bytes.set(body);
  new DataView(bytes.buffer).setUint32(body.length, crc32(bytes.subarray(0, body.length)), true);
  return bytes;
}

function decodeError(bytes: Uint8Array): unknown {
  try {
    decodeBatch(bytes);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('batch codec', () => {
  it('decodes every batch it encodes to the same origin, batch seq and readings, bit for bit', () => {
    fc.assert(
      fc.property(batchArb, ({ origin, batchSeq, readings }) => {
        const batch = decodeBatch(encodeBatch(origin, batchSeq, readings));
        expect(batch.origin).toBe(origin);
        expect(batch.batchSeq).toBe(batchSeq);
        expect(batch.length).toBe(readings.length);
        // toEqual treats -0 and 0 alike; Object.is does not.
        const decoded = toReadings(batch);
        readings.forEach((r, i) => {
          const d = decoded[i];
          expect(d?.name).toBe(r.name);
          expect(Object.is(d?.value, r.value)).toBe(true);
          expect(Object.is(d?.timestampMs, r.timestampMs)).toBe(true);
          expect(d?.senderSeq).toBe(r.senderSeq);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('throws BatchDecodeError for every cut of a batch, never a shorter batch', () => {
    fc.assert(
      fc.property(batchArb, fc.nat(), ({ origin, batchSeq, readings }, k) => {
        const bytes = encodeBatch(origin, batchSeq, readings);
        const cut = k % bytes.length;
        expect(decodeError(bytes.subarray(0, cut))).toBeInstanceOf(BatchDecodeError);
      }),
      { numRuns: 300 },
    );
  });

  it('throws BatchDecodeError when any byte is changed', () => {
    fc.assert(
      fc.property(batchArb, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ origin, batchSeq, readings }, k, x) => {
        const bytes = encodeBatch(origin, batchSeq, readings);
        const i = k % bytes.length;
        bytes[i] = (bytes[i] ?? 0) ^ x;
        const error = decodeError(bytes);
        expect(error).toBeInstanceOf(BatchDecodeError);
        expect((error as BatchDecodeError).code).toBe('ERR_BATCH_CORRUPT');
      }),
      { numRuns: 300 },
    );
  });

  it('throws BatchDecodeError for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(decodeError(bytes)).toBeInstanceOf(BatchDecodeError);
      }),
    );
  });

  it('throws BatchDecodeError when bytes appear after the last reading', () => {
    const bytes = encodeBatch('a', 1, [{ name: 'x', value: 1, timestampMs: 2, senderSeq: -1 }]);
    const body = Array.from(bytes.subarray(0, bytes.length - 4));
    expect(() => decodeBatch(withChecksum([...body, 0]))).toThrow(/1 bytes after the last reading/);
  });

  it('refuses, behind a valid checksum, every field the encoder never writes', () => {
    const header = [BATCH_FORMAT_VERSION, 1, 0x61, 5];
    const reading = (flags: number, ...rest: number[]): number[] => [flags, ...rest];
    const value = Array.from(new Uint8Array(new Float64Array([1.5]).buffer));
    const nan = Array.from(new Uint8Array(new Float64Array([NaN]).buffer));
    const cases: Array<[number[], RegExp]> = [
      [[2, 1, 0x61, 1, 0], /unknown batch version 2/],
      [[BATCH_FORMAT_VERSION, 0, 1, 0, 0], /bad origin length 0/],
      [[BATCH_FORMAT_VERSION, 1, 0x2e, 1, 0], /origin byte 46/],
      [[...header, 1, ...reading(8, 1, 0x61, ...value, 0)], /unknown flags 0x8/],
      [[...header, 1, ...reading(1, 0, ...value, 0)], /refers to name 0 of 0/],
      [[...header, 1, ...reading(0, 1, 0x20, ...value, 0)], /name byte 32/],
      [[...header, 1, ...reading(0, 129, ...Array<number>(129).fill(0x61), ...value, 0)], /bad name length 129/],
      [[...header, 1, ...reading(0, 1, 0x61, ...nan, 0)], /non-finite value/],
      [[...header, 1, ...reading(0, 1, 0x61, ...value, ...nan)], /non-finite timestamp/],
      [[...header, 1, ...reading(2, 1, 0x61, ...value, 0x80, 0x00)], /timestamp delta is not in its shortest form/],
      [[...header, 1, ...reading(6, 1, 0x61, ...value, 0, ...Array<number>(8).fill(0xff))], /longer than 8 bytes/],
      [[BATCH_FORMAT_VERSION, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0], /above 2\^53-1/],
      [[...header, 100, ...reading(0, 1, 0x61, ...value, 0)], /100 readings cannot fit/],
    ];
    for (const [body, message] of cases) {
      const error = decodeError(withChecksum(body));
      expect(error, String(message)).toBeInstanceOf(BatchDecodeError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('writes a known batch as these bytes (the format of the package README, "Batch format")', () => {
    const bytes = encodeBatch('node-a', 300, [
      { name: 'ramp', value: 0.5, timestampMs: 1000, senderSeq: 7 },
      { name: 'ramp', value: -0, timestampMs: 999, senderSeq: -1 },
      { name: 'b/c', value: 2, timestampMs: 0.25, senderSeq: 0 },
    ]);
    const body = [
      ['01', '06', '6e6f64652d61', 'ac02', '03'], // version, origin 'node-a', batch seq 300, 3 readings
      ['06', '04', '72616d70', '000000000000e03f', 'd00f', '07'], // new name 'ramp', 0.5, delta +1000, sender seq 7
      ['03', '00', '0000000000000080', '01'], // name 0, -0, delta -1, no sender seq
      ['04', '03', '622f63', '0000000000000040', '000000000000d03f', '00'], // new name 'b/c', 2, f64 0.25, seq 0
    ];
    expect(Buffer.from(bytes.subarray(0, -4)).toString('hex')).toBe(body.flat().join(''));
    expect(new DataView(bytes.buffer).getUint32(bytes.length - 4, true)).toBe(crc32(bytes.subarray(0, -4)));
  });

  it('costs 13 bytes a reading for sensors sending integers ms apart with a sender seq', () => {
    const encoder = new BatchEncoder();
    for (let i = 0; i < 1000; i++) encoder.add(`line1/sensor${i % 10}`, i * 0.1, 1_764_316_800_000 + i, i);
    expect(encoder.byteLength / 1000).toBeLessThan(13.1);
  });

  it('refuses readings it cannot encode with a RangeError that names the field, and adds nothing', () => {
    const encoder = new BatchEncoder();
    expect(() => encoder.add('', 1, 1)).toThrow(/reading name must be 1 to 128 bytes/);
    expect(() => encoder.add('a b', 1, 1)).toThrow(RangeError);
    expect(() => encoder.add('é', 1, 1)).toThrow(RangeError);
    expect(() => encoder.add('x'.repeat(129), 1, 1)).toThrow(RangeError);
    expect(() => encoder.add('a', NaN, 1)).toThrow(/value must be a finite number/);
    expect(() => encoder.add('a', 1, Infinity)).toThrow(/timestampMs must be a finite number/);
    expect(() => encoder.add('a', 1, 1, -2)).toThrow(/senderSeq must be -1 or an integer/);
    expect(() => encoder.add('a', 1, 1, 1.5)).toThrow(RangeError);
    expect(() => encoder.add('a', 1, 1, 2 ** 53)).toThrow(RangeError);
    expect(() => encoder.add(42 as unknown as string, 1, 1)).toThrow(TypeError);
    expect(encoder.count).toBe(0);
    expect(() => encoder.finish('a:b', 1)).toThrow(/origin must be 1 to 64 bytes/);
    expect(() => encoder.finish('a', -1)).toThrow(/batchSeq must be an integer/);
    expect(decodeBatch(encoder.finish('a', 0)).length).toBe(0);
  });

  it('starts each batch afresh after finish: names and timestamps are not carried over', () => {
    const encoder = new BatchEncoder();
    encoder.add('a', 1, 5);
    encoder.finish('n', 1);
    encoder.add('a', 2, 6);
    expect(toReadings(decodeBatch(encoder.finish('n', 2)))).toEqual([
      { name: 'a', value: 2, timestampMs: 6, senderSeq: -1 },
    ]);
  });

  it('tells valid sensor and node names from others', () => {
    expect(isValidName('__proto__')).toBe(true);
    expect(isValidName('plant1/boiler.temp-2')).toBe(true);
    expect(isValidName('a:b')).toBe(false);
    expect(isValidNodeName('node_a-1')).toBe(true);
    expect(isValidNodeName('node.a')).toBe(false);
    expect(isValidNodeName('x'.repeat(65))).toBe(false);
  });
});
