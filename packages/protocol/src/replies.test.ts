import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './errors.js';
import {
  ReplyDecoder,
  decodeReplyLine,
  encodeBucket,
  encodeBucketFields,
  encodeBye,
  encodeEnd,
  encodeMore,
  encodeError,
  encodeOk,
  encodePollReply,
  encodePong,
  encodePub,
  encodePubFields,
  encodeSensor,
  encodeStat,
  encodeVal,
  encodeValFields,
  type Reply,
} from './replies.js';
import { bytes, cut, cutPoints, finiteArb, nameArb, oneByteAtATime, streamBytes } from './testing/bytes.js';
import type { Reading } from './types.js';

const ramp: Reading = { name: 'ramp', value: 0.35, timestampMs: 1764316800125, seq: 42 };

describe('reply encoders', () => {
  it.each<[string, string]>([
    [encodePollReply(0.35), '0.35\n'],
    [encodePollReply(1e-5), '0.00001\n'],
    [encodePollReply(undefined), 'nan\n'],
    [encodePollReply(NaN), 'nan\n'],
    [encodeVal(ramp), 'VAL ramp 0.35 1764316800125 42\n'],
    [encodePub(ramp), 'PUB ramp 0.35 1764316800125 42\n'],
    [encodeValFields('ramp', -1, 1764316800125.5, 1), 'VAL ramp -1 1764316800125.5 1\n'],
    [encodePubFields('a/b', 1e21, 0, 9007199254740991), 'PUB a/b 1e+21 0 9007199254740991\n'],
    [
      encodeSensor({ name: 'ramp', count: 3, lastTimestampMs: 1764316800125, lastValue: 0.35 }),
      'SENSOR ramp 3 1764316800125 0.35\n',
    ],
    [encodeStat('udp.datagrams', 1200), 'STAT udp.datagrams 1200\n'],
    [encodeStat('version', '1.0.0'), 'STAT version 1.0.0\n'],
    [encodeStat('note', 'two\r\nlines'), 'STAT note two  lines\n'],
    [encodeEnd(), 'END\n'],
    [encodePong(), 'PONG\n'],
    [encodeBye(), 'BYE\n'],
    [encodeOk('SUB', 'ramp*'), 'OK SUB ramp*\n'],
    [encodeOk('unsub', 2), 'OK UNSUB 2\n'],
    [encodeOk('SUB', ''), 'OK SUB\n'],
    [encodeError('not-found', 'ramp'), 'ERR not-found ramp\n'],
    [encodeError('slow-consumer', ''), 'ERR slow-consumer\n'],
    [encodeError('bad-args', 'a\nb\u0000c\u007f'), 'ERR bad-args a b c \n'],
    [encodeMore(1764316800125), 'MORE 1764316800125\n'],
    [encodeMore(1764316800125.5), 'MORE 1764316800125.5\n'],
    [
      encodeBucketFields('ramp', 1764316800000, 3, 0.1, 0.3, 0.2, 0.1, 0.3),
      'BUCKET ramp 1764316800000 3 0.1 0.3 0.2 0.1 0.3\n',
    ],
    [
      encodeBucket({ name: 'a/b', startMs: 0.5, count: 1, min: -2, max: -2, mean: -2, first: -2, last: -2 }),
      'BUCKET a/b 0.5 1 -2 -2 -2 -2 -2\n',
    ],
    [encodeOk('AFTER', 'ramp 42'), 'OK AFTER ramp 42\n'],
  ])('writes %j', (actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('refuses keys, verbs and codes that would break the line format', () => {
    expect(() => encodeStat('', 1)).toThrow(RangeError);
    expect(() => encodeStat('a b', 1)).toThrow(RangeError);
    expect(() => encodeOk('S UB', 'x')).toThrow(RangeError);
    expect(() => encodeError('oops' as never, 'x')).toThrow(TypeError);
  });
});

describe('decodeReplyLine', () => {
  it.each<[string, Reply]>([
    ['0.35', { kind: 'value', value: 0.35 }],
    ['-1e-7', { kind: 'value', value: -1e-7 }],
    ['nan', { kind: 'value', value: NaN }],
    ['inf', { kind: 'value', value: Infinity }],
    ['PONG', { kind: 'pong' }],
    ['END', { kind: 'end' }],
    ['BYE', { kind: 'bye' }],
    ['PONG\r', { kind: 'pong' }],
    ['VAL ramp 0.35 1764316800125 42', { kind: 'val', reading: ramp }],
    ['PUB ramp 0.35 1764316800125 42', { kind: 'pub', reading: ramp }],
    ['PUB ramp 0.35 1764316800125.5 42', { kind: 'pub', reading: { ...ramp, timestampMs: 1764316800125.5 } }],
    [
      'SENSOR ramp 3 1764316800125 0.35',
      { kind: 'sensor', summary: { name: 'ramp', count: 3, lastTimestampMs: 1764316800125, lastValue: 0.35 } },
    ],
    ['STAT udp.datagrams 1200', { kind: 'stat', key: 'udp.datagrams', value: '1200' }],
    ['STAT version node v20', { kind: 'stat', key: 'version', value: 'node v20' }],
    ['OK SUB ramp*', { kind: 'ok', verb: 'SUB', detail: 'ramp*' }],
    ['OK UNSUB 2', { kind: 'ok', verb: 'UNSUB', detail: '2' }],
    ['ERR not-found ramp', { kind: 'err', code: 'not-found', detail: 'ramp' }],
    ['ERR slow-consumer', { kind: 'err', code: 'slow-consumer', detail: '' }],
    ['ERR future-code some detail', { kind: 'err', code: 'future-code', detail: 'some detail' }],
    ['MORE 1764316800125.5', { kind: 'more', timestampMs: 1764316800125.5 }],
    [
      'BUCKET ramp 1764316800000 3 0.1 0.3 0.2 0.1 0.3',
      {
        kind: 'bucket',
        bucket: {
          name: 'ramp',
          startMs: 1764316800000,
          count: 3,
          min: 0.1,
          max: 0.3,
          mean: 0.2,
          first: 0.1,
          last: 0.3,
        },
      },
    ],
    ['OK AFTER ramp 42', { kind: 'ok', verb: 'AFTER', detail: 'ramp 42' }],
    ['MORE', { kind: 'unknown', line: 'MORE' }],
    ['MORE soon', { kind: 'unknown', line: 'MORE soon' }],
    ['MORE 1 2', { kind: 'unknown', line: 'MORE 1 2' }],
    ['BUCKET ramp 0 1 2 2 2 2', { kind: 'unknown', line: 'BUCKET ramp 0 1 2 2 2 2' }],
    ['BUCKET ramp 0 1 2 2 2 2 2 2', { kind: 'unknown', line: 'BUCKET ramp 0 1 2 2 2 2 2 2' }],
    ['BUCKET ramp* 0 1 2 2 2 2 2', { kind: 'unknown', line: 'BUCKET ramp* 0 1 2 2 2 2 2' }],
    ['BUCKET ramp 0 x 2 2 2 2 2', { kind: 'unknown', line: 'BUCKET ramp 0 x 2 2 2 2 2' }],
    ['hello', { kind: 'unknown', line: 'hello' }],
    ['', { kind: 'unknown', line: '' }],
    ['pong', { kind: 'unknown', line: 'pong' }],
    ['VAL ramp 0.35 1764316800125', { kind: 'unknown', line: 'VAL ramp 0.35 1764316800125' }],
    ['VAL ramp 0.35 1764316800125 42 x', { kind: 'unknown', line: 'VAL ramp 0.35 1764316800125 42 x' }],
    ['VAL bad$name 1 2 3', { kind: 'unknown', line: 'VAL bad$name 1 2 3' }],
    ['PUB ramp x 2 3', { kind: 'unknown', line: 'PUB ramp x 2 3' }],
    ['SENSOR ramp x 2 3', { kind: 'unknown', line: 'SENSOR ramp x 2 3' }],
    ['ERR', { kind: 'unknown', line: 'ERR' }],
    ['ERR ', { kind: 'unknown', line: 'ERR ' }],
    ['OK', { kind: 'unknown', line: 'OK' }],
  ])('decodes %j', (line, expected) => {
    expect(decodeReplyLine(line)).toEqual(expected);
  });
});

describe('ReplyDecoder', () => {
  it('splits lines across chunks, strips CR and skips empty lines', () => {
    const decoder = new ReplyDecoder();
    expect(decoder.push(bytes('OK SUB ramp\r\n\nPUB ramp 0.3'))).toEqual([{ kind: 'ok', verb: 'SUB', detail: 'ramp' }]);
    expect(decoder.pendingBytes).toBe(12);
    expect(decoder.push(bytes('5 1764316800125 42\r'))).toEqual([]);
    expect(decoder.push(bytes('\n'))).toEqual([{ kind: 'pub', reading: ramp }]);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('decodes UTF-8 details and replaces invalid bytes rather than throwing', () => {
    const decoder = new ReplyDecoder();
    expect(decoder.push(bytes('ERR bad-args señal\n'))).toEqual([{ kind: 'err', code: 'bad-args', detail: 'señal' }]);
    expect(decoder.push(Uint8Array.of(0xff, 0x00, 0x0a))).toEqual([{ kind: 'unknown', line: '\ufffd\u0000' }]);
  });

  it('reports an over-long line once, truncated to maxLineBytes, and skips the rest of it', () => {
    const decoder = new ReplyDecoder({ maxLineBytes: 8 });
    expect(decoder.push(bytes('STAT abc'))).toEqual([]);
    expect(decoder.push(bytes('defgh'))).toEqual([{ kind: 'unknown', line: 'STAT abc' }]);
    expect(decoder.pendingBytes).toBe(0);
    expect(decoder.push(bytes('ijk\nEND\n'))).toEqual([{ kind: 'end' }]);
  });

  it('never throws on arbitrary bytes and buffers at most maxLineBytes', () => {
    fc.assert(
      fc.property(streamBytes, cutPoints, fc.integer({ min: 1, max: 48 }), (data, points, max) => {
        const decoder = new ReplyDecoder({ maxLineBytes: max });
        for (const chunk of cut(data, points)) {
          decoder.push(chunk);
          expect(decoder.pendingBytes).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('yields the same replies however the stream is cut, one byte at a time included', () => {
    fc.assert(
      fc.property(streamBytes, cutPoints, fc.integer({ min: 1, max: 48 }), (data, points, max) => {
        const whole = new ReplyDecoder({ maxLineBytes: max }).push(data);
        const pieces = new ReplyDecoder({ maxLineBytes: max });
        expect(cut(data, points).flatMap((chunk) => pieces.push(chunk))).toEqual(whole);
        const bytewise = new ReplyDecoder({ maxLineBytes: max });
        expect(oneByteAtATime(data).flatMap((chunk) => bytewise.push(chunk))).toEqual(whole);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('replies: encode then decode', () => {
  const readingArb = fc.record({
    name: nameArb,
    value: finiteArb,
    timestampMs: fc.oneof(fc.integer({ min: 0, max: 1e14 }), finiteArb.map(Math.abs)),
    seq: fc.maxSafeNat(),
  });
  const detailArb = fc.string({ unit: 'grapheme', maxLength: 40 });
  const tokenArb = fc.string({ unit: fc.constantFrom(...'abcXYZ09._-:'), minLength: 1, maxLength: 20 });

  const pairArb: fc.Arbitrary<[string, Reply]> = fc.oneof(
    fc
      .option(finiteArb, { nil: undefined })
      .map((v): [string, Reply] => [encodePollReply(v), { kind: 'value', value: v ?? NaN }]),
    fc.constant<[string, Reply]>([encodePong(), { kind: 'pong' }]),
    fc.constant<[string, Reply]>([encodeEnd(), { kind: 'end' }]),
    fc.constant<[string, Reply]>([encodeBye(), { kind: 'bye' }]),
    readingArb.map((r): [string, Reply] => [encodeVal(r), { kind: 'val', reading: r }]),
    readingArb.map((r): [string, Reply] => [encodePub(r), { kind: 'pub', reading: r }]),
    readingArb.map((r): [string, Reply] => [
      encodeSensor({ name: r.name, count: r.seq, lastTimestampMs: r.timestampMs, lastValue: r.value }),
      { kind: 'sensor', summary: { name: r.name, count: r.seq, lastTimestampMs: r.timestampMs, lastValue: r.value } },
    ]),
    fc
      .tuple(tokenArb, finiteArb)
      .map(([key, v]): [string, Reply] => [encodeStat(key, v), { kind: 'stat', key, value: String(v) }]),
    fc
      .tuple(tokenArb, tokenArb)
      .map(([verb, detail]): [string, Reply] => [
        encodeOk(verb, detail),
        { kind: 'ok', verb: verb.toUpperCase(), detail },
      ]),
    readingArb.map((r): [string, Reply] => [encodeMore(r.timestampMs), { kind: 'more', timestampMs: r.timestampMs }]),
    fc
      .tuple(readingArb, fc.integer({ min: 1, max: 1e9 }), finiteArb, finiteArb, finiteArb, finiteArb)
      .map(([r, count, min, max, mean, last]): [string, Reply] => {
        const bucket = { name: r.name, startMs: r.timestampMs, count, min, max, mean, first: r.value, last };
        return [encodeBucket(bucket), { kind: 'bucket', bucket }];
      }),
    fc.tuple(fc.constantFrom(...ERROR_CODES), detailArb).map(([code, detail]): [string, Reply] => {
      const line = encodeError(code, detail);
      // The encoder puts control characters on one line as spaces.
      return [line, { kind: 'err', code, detail: line.slice(5 + code.length, -1) }];
    }),
  );

  it('decodes every reply the encoders write, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(pairArb, { maxLength: 10 }), cutPoints, (pairs, points) => {
        const decoder = new ReplyDecoder();
        const data = bytes(pairs.map(([line]) => line).join(''));
        expect(cut(data, points).flatMap((chunk) => decoder.push(chunk))).toEqual(pairs.map(([, reply]) => reply));
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps error details intact when they hold no control characters', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ERROR_CODES), fc.string({ unit: 'grapheme', minLength: 1 }), (code, detail) => {
        fc.pre(!/[\u0000-\u001f\u007f]/.test(detail)); // eslint-disable-line no-control-regex
        expect(decodeReplyLine(encodeError(code, detail).slice(0, -1))).toEqual({ kind: 'err', code, detail });
      }),
    );
  });
});
