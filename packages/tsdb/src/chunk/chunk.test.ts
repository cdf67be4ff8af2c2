import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitWriter } from './bit-writer.js';
import {
  CHUNK_FORMAT_VERSION,
  ChunkDecodeError,
  ChunkEncoder,
  ChunkReader,
  decodeChunk,
  decimalScale,
} from './chunk.js';

type Reading = readonly [ts: number, value: number];

function encode(readings: readonly Reading[]): ChunkEncoder {
  const encoder = new ChunkEncoder();
  for (const [ts, value] of readings) encoder.append(ts, value);
  return encoder;
}

function decode(bytes: Uint8Array, count: number): Reading[] {
  const ts = new Float64Array(count);
  const values = new Float64Array(count);
  decodeChunk(bytes, count, ts, values);
  return Array.from(ts, (t, i): Reading => [t, values[i] as number]);
}

/** Reads with a ChunkReader until it ends or throws; returns what it read and what it threw. */
function readAll(bytes: Uint8Array, count: number): { readings: Reading[]; error: unknown } {
  const readings: Reading[] = [];
  try {
    const reader = new ChunkReader(bytes, count);
    while (reader.next()) readings.push([reader.ts, reader.value]);
    return { readings, error: undefined };
  } catch (error) {
    return { readings, error };
  }
}

/** Decodes with decodeChunk; returns the readings (when it succeeds) and what it threw. */
function decodeAll(bytes: Uint8Array, count: number): { readings: Reading[] | undefined; error: unknown } {
  try {
    return { readings: decode(bytes, count), error: undefined };
  } catch (error) {
    return { readings: undefined, error };
  }
}

/** decodeChunk and ChunkReader agree: the same readings, or errors of the same class and message. */
function expectBothDecoders(bytes: Uint8Array, count: number): void {
  const bulk = decodeAll(bytes, count);
  const stepwise = readAll(bytes, count);
  if (stepwise.error === undefined) {
    expect(bulk.error).toBeUndefined();
    expectSame(bulk.readings ?? [], stepwise.readings);
  } else {
    expect(bulk.error).toBeInstanceOf(ChunkDecodeError);
    expect((bulk.error as Error).message).toBe((stepwise.error as Error).message);
  }
}

/** Object.is on every number, with a message naming the first reading that differs. */
function expectSame(actual: readonly Reading[], expected: readonly Reading[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach(([ts, value], i) => {
    const [wantTs, wantValue] = expected[i] as Reading;
    if (!Object.is(ts, wantTs) || !Object.is(value, wantValue)) {
      expect.fail(`reading ${i}: got (${ts}, ${value}), want (${wantTs}, ${wantValue})`);
    }
  });
}

/** Bytes from a string of 0s and 1s (spaces ignored), padded with ones to a whole byte. */
function bitString(bits: string): Uint8Array {
  const clean = bits.replace(/ /g, '').padEnd(Math.ceil(bits.replace(/ /g, '').length / 8) * 8, '1');
  const bytes = new Uint8Array(clean.length / 8);
  for (let i = 0; i < clean.length; i++) if (clean[i] === '1') bytes[i >> 3]! |= 0x80 >> (i & 7);
  return bytes;
}

const hexBits = (hex: string): string =>
  [...hex].map((digit) => Number.parseInt(digit, 16).toString(2).padStart(4, '0')).join('');

/** A seeded mulberry32 in [0, 1), so that workloads are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const T0 = 1_700_000_000_003;

function workload(count: number, ts: (i: number) => number, value: (ts: number) => number): Reading[] {
  return Array.from({ length: count }, (_, i): Reading => {
    const t = ts(i);
    return [t, value(t)];
  });
}

const sawtooth3 = (t: number): number => Math.round(t % 1000) / 1000; // 1 s period, 3 decimals
function walk2(seed: number): (t: number) => number {
  const rng = random(seed);
  let v = 20;
  return () => {
    v += (rng() - 0.5) * 0.02;
    return Math.round(v * 100) / 100;
  };
}
const every10ms = (i: number): number => T0 + 10 * i;
function everySecondJittered(seed: number): (i: number) => number {
  const rng = random(seed);
  return (i) => T0 + 1000 * i + Math.floor(rng() * 3);
}

function bytesPerReading(readings: readonly Reading[]): number {
  const encoder = encode(readings);
  expectSame(decode(encoder.bytes(), encoder.count), readings);
  return encoder.byteLength / encoder.count;
}

/** A version byte and a first reading at ts 1000, then the bits `rest` adds, padded with ones as the encoder does. */
function crafted(firstValue: number, rest: (w: BitWriter) => void): Uint8Array {
  const w = new BitWriter();
  w.reserve(64);
  w.writeBits(CHUNK_FORMAT_VERSION, 8);
  const first = new DataView(new ArrayBuffer(16));
  first.setFloat64(0, 1000);
  first.setFloat64(8, firstValue);
  for (let i = 0; i < 16; i += 4) w.writeBits(first.getUint32(i), 32);
  rest(w);
  const spare = (8 - (w.bitLength % 8)) % 8;
  if (spare > 0) w.writeBits(-1, spare);
  return w.bytes();
}

describe('the bit layout', () => {
  it('is format version 1, byte for byte', () => {
    const readings: Reading[] = [
      [1000, 1.5],
      [1010, 1.5],
      [1020, 1.75],
      [1031, 2],
    ];
    const expected = bitString(
      [
        '00000001', // format version 1
        hexBits('408f400000000000'), // ts 1000 as float64
        hexBits('3ff8000000000000'), // 1.5 as float64: decimal mode, scale 1, m = 15
        '110 00001010', // interval 10 - 0: the 8-bit bucket
        '0', // 15 predicted
        '0', // interval 10 again
        '1111110 0010 110 0011001', // 1.75 needs scale 2: rescale, m = 150 predicted, residual 25
        '10 0001', // interval 11: delta of delta 1
        '0', // 175 + 25 = 200 predicted: 2.00
      ].join(''), // then 7 one bits to the byte's end
    );
    const encoder = encode(readings);
    expect(CHUNK_FORMAT_VERSION).toBe(1);
    expect(encoder.bitLength).toBe(8 + 128 + 12 + 22 + 7);
    expect(encoder.bytes()).toEqual(expected);
    expectSame(decode(expected, 4), readings);
  });

  it('encodes a fixed mixed workload to the bytes format version 1 has always given', () => {
    // Ramps, a walk, a constant, jitter, gaps, fractions, -0 and non-decimal values: every code and both
    // predictions. A change here changes the format: it needs a new CHUNK_FORMAT_VERSION.
    const rng = random(2024);
    const walk = walk2(2025);
    let x = 1 / 3;
    const ts = (i: number): number => {
      if (i % 97 === 0) return T0 + 10 * i + 0.5;
      if (i % 89 === 0) return T0 - 5e9;
      const gap = i % 61 === 0 ? 1500 : i % 53 === 0 ? 300_000 : i % 131 === 0 ? 1e8 : 0;
      return T0 + 10 * i + gap + (i > 600 ? Math.floor(rng() * 3) : 0);
    };
    const readings = workload(1024, ts, (t) => {
      const phase = Math.floor(t / 2560) % 5;
      if (phase === 0) return sawtooth3(t);
      if (phase === 1) return walk(t) + (rng() < 0.03 ? 10_000 : 0);
      if (phase === 2) return rng() < 0.1 ? -0 : 21.5;
      if (phase === 3) return (x = rng() < 0.5 ? x + 2 ** -45 : rng() / 3);
      return Math.round(rng() * 1e6) / 10 ** Math.floor(rng() * 7);
    });
    const bytes = encode(readings).bytes();
    expectSame(decode(bytes, readings.length), readings);
    expect([bytes.length, crc32(bytes)]).toEqual([4007, 1553752175]);
  });

  it.each([
    [
      'a ramp of 0.1 steps every 1 s',
      workload(
        1024,
        (i) => T0 + 1000 * i,
        (t) => ((t - T0) % 600_000) / 10_000,
      ),
      281,
      1838429275,
    ],
    ['a 1 s sawtooth with 3 decimals every 10 ms', workload(1024, every10ms, sawtooth3), 313, 3398369254],
    ['a slow random walk with 2 decimals every 10 ms', workload(1024, every10ms, walk2(1)), 538, 346547823],
    ['a constant every 10 ms', workload(1024, every10ms, () => 21.5), 274, 2233044311],
    ['the sawtooth every 1 s with 0-2 ms jitter', workload(1024, everySecondJittered(2), sawtooth3), 1149, 4246568226],
    [
      'a sine (no short decimals) every 1 s',
      workload(
        1024,
        (i) => T0 + 1000 * i,
        (t) => Math.sin(t / 7e4),
      ),
      8580,
      3295852580,
    ],
  ])('encodes %s to the bytes format version 1 has always given', (_, readings, length, crc) => {
    // A change here changes the format: it needs a new CHUNK_FORMAT_VERSION.
    const bytes = encode(readings).bytes();
    expectSame(decode(bytes, readings.length), readings);
    expect([bytes.length, crc32(bytes)]).toEqual([length, crc]);
  });

  it('writes a bare version byte for an empty chunk', () => {
    expect(new ChunkEncoder().bytes()).toEqual(Uint8Array.of(CHUNK_FORMAT_VERSION));
    expect(decode(Uint8Array.of(CHUNK_FORMAT_VERSION), 0)).toEqual([]);
  });

  it('costs 2 bits per reading for a constant at a steady interval', () => {
    const readings = workload(1000, every10ms, () => 21.5);
    const encoder = encode(readings);
    expect(encoder.bitLength).toBe(8 + 128 + 12 + 998 * 2);
  });

  it('keeps fractional timestamps with whole-ms steps as cheap as whole ones', () => {
    const readings = workload(
      100,
      (i) => T0 + 0.25 + 10 * i,
      () => 1 / 3,
    );
    expect(encode(readings).bitLength).toBe(8 + 128 + 12 + 98 * 2);
    expectSame(decode(encode(readings).bytes(), 100), readings);
  });

  it('stores a timestamp that no whole-ms step reaches as its raw 64 bits', () => {
    const readings = workload(
      10,
      (i) => i * 0.1,
      () => 0,
    );
    const encoder = encode(readings);
    expectSame(decode(encoder.bytes(), 10), readings);
    expect(encoder.bitLength).toBeGreaterThan(8 + 128 + 6 * 70);
  });

  describe('stays within the targets (TSDB-SPEC, chunk codec) on the reference workloads', () => {
    it.each([
      ['a 1 s sawtooth with 3 decimals every 10 ms', workload(10_240, every10ms, sawtooth3), 0.35],
      ['a slow random walk with 2 decimals every 10 ms', workload(10_240, every10ms, walk2(1)), 0.6],
      ['a constant every 10 ms', workload(10_240, every10ms, () => 21.5), 0.27],
      ['the sawtooth every 1 s with 0-2 ms jitter', workload(10_240, everySecondJittered(2), sawtooth3), 1.2],
      ['the random walk every 1 s with 0-2 ms jitter', workload(10_240, everySecondJittered(3), walk2(4)), 1.1],
      ['the constant every 1 s with 0-2 ms jitter', workload(10_240, everySecondJittered(5), () => 21.5), 0.8],
    ])('%s: at most %s bytes per reading in chunks of 1024', (_, readings, limit) => {
      let bytes = 0;
      for (let i = 0; i < readings.length; i += 1024) bytes += bytesPerReading(readings.slice(i, i + 1024)) * 1024;
      expect(bytes / readings.length).toBeLessThanOrEqual(limit);
    });
  });
});

describe('ChunkEncoder', () => {
  it('round-trips -0, subnormals and the extremes in timestamps and values', () => {
    const readings: Reading[] = [
      [-0, -0],
      [0, 5e-324],
      [0.25, -Number.MAX_VALUE],
      [Number.MAX_SAFE_INTEGER, Number.MAX_VALUE],
      [2 ** 60, -5e-324],
      [-Number.MAX_VALUE, 0],
      [5, -0],
      [4, 2.2250738585072014e-308],
      [4, 0.1 + 0.2],
      [-0, 1e21],
    ];
    expectSame(decode(encode(readings).bytes(), readings.length), readings);
  });

  it('rejects a non-finite timestamp or value with a RangeError and appends nothing', () => {
    const encoder = encode([[1, 1]]);
    const before = encoder.bytes();
    for (const [ts, value] of [
      [Number.NaN, 1],
      [Infinity, 1],
      [2, Number.NaN],
      [2, -Infinity],
    ] as const) {
      expect(() => encoder.append(ts, value)).toThrow(
        expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }),
      );
    }
    expect(() => encoder.append(2, Number.NaN)).toThrow('value must be a finite number, got NaN');
    expect(encoder.count).toBe(1);
    expect(encoder.bytes()).toEqual(before);
  });

  it('reports an empty summary as identities for min/max, 0 for the sum and NaN for the rest', () => {
    const encoder = new ChunkEncoder();
    expect([encoder.count, encoder.sum, encoder.minTs, encoder.maxTs, encoder.minValue, encoder.maxValue]).toEqual([
      0,
      0,
      Infinity,
      -Infinity,
      Infinity,
      -Infinity,
    ]);
    expect([encoder.firstTs, encoder.firstValue, encoder.lastTs, encoder.lastValue]).toEqual([NaN, NaN, NaN, NaN]);
    expect([encoder.earliestValue, encoder.latestValue, encoder.sortedByTs]).toEqual([NaN, NaN, true]);
  });

  it('keeps the earliest and latest reading by (ts, position) when timestamps go backwards or repeat', () => {
    const encoder = encode([
      [20, 1],
      [10, 2],
      [10, 3],
      [30, 4],
      [30, 5],
      [25, 6],
    ]);
    expect([encoder.minTs, encoder.earliestValue, encoder.maxTs, encoder.latestValue]).toEqual([10, 2, 30, 5]);
    expect([encoder.firstTs, encoder.firstValue, encoder.lastTs, encoder.lastValue]).toEqual([20, 1, 25, 6]);
    expect(encoder.sortedByTs).toBe(false);
    expect(
      encode([
        [1, 0],
        [1, 0],
        [2, 0],
      ] as Reading[]).sortedByTs,
    ).toBe(true);
  });

  it('starts the next chunk after reset() exactly like a new encoder', () => {
    const encoder = encode(workload(300, every10ms, walk2(7)));
    encoder.reset();
    expect(encoder.bytes()).toEqual(new ChunkEncoder().bytes());
    expect([encoder.count, encoder.minTs, encoder.sum, encoder.lastValue]).toEqual([0, Infinity, 0, NaN]);
    const next = workload(
      50,
      (i) => 5000 + i,
      (t) => t / 8,
    );
    for (const [ts, value] of next) encoder.append(ts, value);
    expect(encoder.bytes()).toEqual(encode(next).bytes());
    expect(encoder.sum).toBe(encode(next).sum);
  });

  it('hands out copies of its bytes', () => {
    const encoder = encode([[1, 1]]);
    const bytes = encoder.bytes();
    bytes.fill(0);
    expect(encoder.bytes()[0]).toBe(CHUNK_FORMAT_VERSION);
  });

  describe('resume', () => {
    it('continues a chunk as if it had never stopped', () => {
      const readings = workload(200, everySecondJittered(9), walk2(10));
      const resumed = ChunkEncoder.resume(encode(readings.slice(0, 120)).bytes(), 120);
      expect(resumed.count).toBe(120);
      for (const [ts, value] of readings.slice(120)) resumed.append(ts, value);
      expect(resumed.bytes()).toEqual(encode(readings).bytes());
    });

    it('resumes an empty chunk', () => {
      const resumed = ChunkEncoder.resume(Uint8Array.of(CHUNK_FORMAT_VERSION), 0);
      resumed.append(1, 2);
      expect(resumed.bytes()).toEqual(encode([[1, 2]]).bytes());
    });

    it('refuses bytes that are not a chunk of that many readings', () => {
      const bytes = encode(workload(10, every10ms, () => 1)).bytes();
      expect(() => ChunkEncoder.resume(bytes, 11)).toThrow(ChunkDecodeError);
      expect(() => ChunkEncoder.resume(bytes.subarray(0, bytes.length - 1), 10)).toThrow(ChunkDecodeError);
      expect(() => ChunkEncoder.resume(new Uint8Array(0), 1)).toThrow(ChunkDecodeError);
    });
  });
});

describe('ChunkReader', () => {
  it('walks the readings with their index, then returns false for good', () => {
    const readings = workload(5, every10ms, sawtooth3);
    const reader = new ChunkReader(encode(readings).bytes(), 5);
    expect([reader.index, reader.ts, reader.value, reader.count]).toEqual([-1, NaN, NaN, 5]);
    for (let i = 0; i < 5; i++) {
      expect(reader.next()).toBe(true);
      expect([reader.index, reader.ts, reader.value]).toEqual([i, ...(readings[i] as Reading)]);
    }
    expect(reader.next()).toBe(false);
    expect(reader.next()).toBe(false);
    expect(reader.index).toBe(4);
  });

  it('rejects arguments of the wrong kind', () => {
    const bytes = encode([[1, 1]]).bytes();
    expect(() => new ChunkReader([1, 2] as unknown as Uint8Array, 1)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
    );
    for (const count of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => new ChunkReader(bytes, count)).toThrow(
        expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }),
      );
    }
  });

  it('keeps throwing the same error after the first', () => {
    const bytes = encode(workload(4, every10ms, () => 1)).bytes();
    const reader = new ChunkReader(bytes.subarray(0, 18), 4);
    expect(reader.next()).toBe(true);
    let first: unknown;
    try {
      reader.next();
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(ChunkDecodeError);
    let again: unknown;
    try {
      reader.next();
    } catch (error) {
      again = error;
    }
    expect(again).toBe(first);
    expect(reader.index).toBe(0);
  });
});

describe('decodeChunk', () => {
  it('fills the first count elements of longer arrays', () => {
    const ts = new Float64Array(4).fill(-1);
    const values = new Float64Array(4).fill(-1);
    decodeChunk(
      encode([
        [10, 1],
        [20, 2],
      ] as Reading[]).bytes(),
      2,
      ts,
      values,
    );
    expect(Array.from(ts)).toEqual([10, 20, -1, -1]);
    expect(Array.from(values)).toEqual([1, 2, -1, -1]);
  });

  it('refuses arrays shorter than count', () => {
    const bytes = encode([
      [10, 1],
      [20, 2],
    ] as Reading[]).bytes();
    expect(() => decodeChunk(bytes, 2, new Float64Array(1), new Float64Array(2))).toThrow(
      'decodeChunk needs arrays of at least 2 elements, got 1 and 2',
    );
    expect(() => decodeChunk(bytes, 2, new Float64Array(2), new Float64Array(0))).toThrow(RangeError);
  });
});

describe('corrupt chunks', () => {
  const corrupt = (bytes: Uint8Array, count: number, message: RegExp): void => {
    const { error } = readAll(bytes, count);
    expect(error).toBeInstanceOf(ChunkDecodeError);
    const { name, code, message: text } = error as ChunkDecodeError;
    expect([name, code]).toEqual(['ChunkDecodeError', 'ERR_CHUNK_CORRUPT']);
    expect(text).toMatch(message);
    expectBothDecoders(bytes, count);
  };

  it('rejects another format version', () => {
    const bytes = encode([[1, 1]]).bytes();
    bytes[0] = 2;
    corrupt(bytes, 1, /^unknown chunk format version 2 \(this codec reads version 1\)$/);
  });

  it('rejects bytes too short for the count before decoding anything', () => {
    corrupt(new Uint8Array(0), 0, /cannot hold 0 readings/);
    corrupt(Uint8Array.of(CHUNK_FORMAT_VERSION), 1, /chunk truncated: 1 bytes cannot hold 1 readings/);
    corrupt(Uint8Array.of(CHUNK_FORMAT_VERSION, 0), 0, /a chunk of 0 readings is 1 byte long, got 2 bytes/);
  });

  it('rejects bytes after the last reading and a zero among the one bits that end it', () => {
    const bytes = encode(workload(3, every10ms, () => 1)).bytes(); // 8 + 128 + 12 + 2 bits, then 2 one bits
    expect((bytes[bytes.length - 1] as number) & 0b11).toBe(0b11);
    corrupt(Uint8Array.of(...bytes, 0xff), 3, /1 bytes after the last of 3 readings/);
    const stray = bytes.slice();
    stray[stray.length - 1]! &= 0xfe;
    corrupt(stray, 3, /the bits after the last of 3 readings are not all ones/);
  });

  it('rejects a code in a wider bucket than its number needs', () => {
    corrupt(
      crafted(1, (w) => w.writeBits(0b10_0000, 6)),
      2,
      /timestamp code wider than needed at reading 1/,
    );
    corrupt(
      crafted(1, (w) => w.writeBits(0b0_110_0000011, 11)),
      2,
      /value code wider than needed at reading 1/,
    );
  });

  // [code width in one bits, payload bits, smallest, largest] of each bucket after the 1-bit zero code
  const tsBuckets = [
    [1, 4, -8, 7],
    [2, 8, -128, 127],
    [3, 12, -2048, 2047],
    [4, 20, -524288, 524287],
    [5, 32, -(2 ** 31), 2 ** 31 - 1],
  ] as const;
  const residualBuckets = [
    [1, 3, -4, 3],
    [2, 7, -64, 63],
    [3, 12, -2048, 2047],
    [4, 20, -524288, 524287],
    [5, 32, -(2 ** 31), 2 ** 31 - 1],
  ] as const;
  const writeCode = (w: BitWriter, ones: number, bits: number, n: number): void => {
    w.writeBits(((1 << ones) - 1) << 1, ones + 1);
    w.writeBits(n, bits);
  };

  it.each(tsBuckets)(
    'decodes the %d-one timestamp bucket of %d bits at its edges and refuses what a smaller one holds',
    (ones, bits, min, max) => {
      const [, , smallerMin, smallerMax] = tsBuckets[ones - 2] ?? [0, 0, 0, 0];
      for (const d of [min, max]) {
        const bytes = crafted(1, (w) => {
          writeCode(w, ones, bits, d);
          w.writeBits(0, 1); // the value: as predicted
        });
        expectSame(decode(bytes, 2), [
          [1000, 1],
          [1000 + d, 1],
        ]);
      }
      for (const d of new Set([smallerMin, smallerMax])) {
        corrupt(
          crafted(1, (w) => writeCode(w, ones, bits, d)),
          2,
          /timestamp code wider than needed at reading 1/,
        );
      }
    },
  );

  it.each(residualBuckets)(
    'decodes the %d-one residual bucket of %d bits at its edges and refuses what a smaller one holds',
    (ones, bits, min, max) => {
      const [, , smallerMin, smallerMax] = residualBuckets[ones - 2] ?? [0, 0, 0, 0];
      for (const r of [min, max]) {
        const bytes = crafted(1, (w) => {
          w.writeBits(0, 1); // the timestamp: the same interval (0)
          writeCode(w, ones, bits, r);
        });
        expectSame(decode(bytes, 2), [
          [1000, 1],
          [1000, 1 + r],
        ]);
      }
      for (const r of new Set([smallerMin, smallerMax])) {
        corrupt(
          crafted(1, (w) => {
            w.writeBits(0, 1);
            writeCode(w, ones, bits, r);
          }),
          2,
          /value code wider than needed at reading 1/,
        );
      }
    },
  );

  it('rejects a raw timestamp or XOR value that is not finite', () => {
    corrupt(
      crafted(1, (w) => {
        w.writeBits(0b111111, 6);
        w.write64(0x7ff00000, 0, 64);
      }),
      2,
      /non-finite timestamp at reading 1/,
    );
    corrupt(
      crafted(1 / 3, (w) => {
        w.writeBits(0, 1);
        w.writeBits((0b110 << 11) | (1 << 6) | 9, 14); // lead 1, 10 bits: exponent 0x3fd becomes 0x7ff
        w.writeBits(0b1000000001, 10);
      }),
      2,
      /non-finite value at reading 1/,
    );
  });

  it('rejects XOR windows that do not exist or do not fit', () => {
    corrupt(
      crafted(1 / 3, (w) => w.writeBits(0b0_10, 3)),
      2,
      /reusing a window before there is one/,
    );
    corrupt(
      crafted(1 / 3, (w) => w.writeBits((0b0_110 << 11) | (31 << 6) | 63, 15)),
      2,
      /an XOR window past 64 bits/,
    );
    corrupt(
      crafted(1 / 3, (w) => {
        w.writeBits((0b0_110 << 11) | (3 << 6) | 3, 15);
        w.writeBits(0b1110, 4); // a window of 4 bits must end with a 1
      }),
      2,
      /an XOR window wider than its bits/,
    );
  });

  it('rejects a rescale or mode switch that is not followed by what it announces', () => {
    corrupt(
      crafted(1, (w) => w.writeBits(0b0_1111110_0011_1111111, 19)),
      2,
      /a rescale not followed by a residual/,
    );
    corrupt(
      crafted(1, (w) => w.writeBits(0b0_1111111_111_0001, 15)),
      2,
      /a switch to XOR mode followed by a switch back/,
    );
  });
});

// Property tests (fast-check).

/** The next double after `x` towards `to`. */
function nextAfter(x: number, to: number): number {
  if (x === to) return x;
  if (x === 0) return to > 0 ? 5e-324 : -5e-324;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, x < to === x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const specialDouble = fc.constantFrom(
  0,
  -0,
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2 ** 53,
  0.1 + 0.2,
);
const decimalValue = fc
  .tuple(fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.integer({ min: 0, max: 15 }))
  .map(([m, e]) => m / 10 ** e);
const value = fc.oneof(finiteDouble, specialDouble, decimalValue);
const timestamp = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
  fc.maxSafeInteger(),
  finiteDouble,
  specialDouble,
  fc.integer({ min: 0, max: 1_000_000 }).map((n) => n / 4),
);
/** Steps of every size the timestamp and residual buckets have, and past them. */
const step = fc.oneof(
  fc.integer({ min: -8, max: 8 }),
  fc.integer({ min: -200, max: 200 }),
  fc.integer({ min: -3000, max: 3000 }),
  fc.integer({ min: -600_000, max: 600_000 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
);
/** A series with a mostly steady interval and a value that moves by decimal steps, with the odd wild reading. */
const regular = fc
  .record({
    t0: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), finiteDouble),
    interval: fc.integer({ min: 0, max: 3_600_000 }),
    v0: value,
    scale: fc.integer({ min: 0, max: 6 }),
    moves: fc.array(fc.tuple(fc.oneof(fc.constant(0), step), fc.oneof(fc.constant(0), step), fc.option(value)), {
      maxLength: 80,
    }),
  })
  .map(({ t0, interval, v0, scale, moves }) => {
    let t = t0;
    let m = Math.round(v0 * 10 ** scale);
    if (!Number.isFinite(m)) m = 0;
    return moves.map(([jitter, dm, wild]): Reading => {
      t += interval + jitter;
      m += dm;
      return [t, wild ?? m / 10 ** scale];
    });
  });
const arbitrary = fc.array(fc.tuple(timestamp, value), { maxLength: 60 });
const readings = fc.oneof(arbitrary, regular);

describe('properties', () => {
  it('every reading decodes bit for bit as it was appended', () => {
    fc.assert(
      fc.property(readings, (list) => {
        const encoder = encode(list);
        expect(encoder.count).toBe(list.length);
        expect(encoder.byteLength).toBe(encoder.bytes().length);
        expect(encoder.byteLength).toBe(Math.ceil(encoder.bitLength / 8));
        expectSame(decode(encoder.bytes(), list.length), list);
      }),
      { numRuns: 500 },
    );
  });

  it('finds the smallest decimal scale of any value, as trying every scale in turn does', () => {
    const tryEvery = (v: number): number => {
      for (let e = 0; e <= 15; e++) if (Object.is((Math.round(v * 10 ** e) + 0) / 10 ** e, v)) return e;
      return -1;
    };
    const near = fc
      .tuple(
        fc.integer({ min: -(2 ** 53), max: 2 ** 53 }),
        fc.integer({ min: 0, max: 22 }),
        fc.integer({ min: -2, max: 2 }),
      )
      .map(([m, e, ulps]) => {
        let v = m / 10 ** e;
        for (let i = 0; i < Math.abs(ulps); i++) v = nextAfter(v, ulps > 0 ? Infinity : -Infinity);
        return v;
      });
    fc.assert(
      fc.property(fc.oneof(value, near, fc.double({ min: 1, max: 2 ** 54, noNaN: true })), (v) => {
        expect(decimalScale(v)).toBe(tryEvery(v));
      }),
      { numRuns: 20_000 },
    );
  });

  it('ChunkReader yields exactly what decodeChunk writes', () => {
    fc.assert(
      fc.property(readings, (list) => {
        const bytes = encode(list).bytes();
        const { readings: read, error } = readAll(bytes, list.length);
        expect(error).toBeUndefined();
        expectSame(read, decode(bytes, list.length));
      }),
      { numRuns: 200 },
    );
  });

  it('resuming from any prefix and appending the rest gives the same bytes and summary', () => {
    fc.assert(
      fc.property(readings, fc.nat(), (list, at) => {
        const k = list.length === 0 ? 0 : at % (list.length + 1);
        const whole = encode(list);
        const resumed = ChunkEncoder.resume(encode(list.slice(0, k)).bytes(), k);
        for (const [ts, v] of list.slice(k)) resumed.append(ts, v);
        expect(resumed.bytes()).toEqual(whole.bytes());
        expectSame(decode(resumed.bytes(), resumed.count), list);
        const summary = (e: ChunkEncoder): number[] => [
          e.count,
          e.minTs,
          e.maxTs,
          e.minValue,
          e.maxValue,
          e.sum,
          e.firstTs,
          e.firstValue,
          e.lastTs,
          e.lastValue,
          e.earliestValue,
          e.latestValue,
          Number(e.sortedByTs),
        ];
        expectSame(
          summary(resumed).map((x): Reading => [x, 0]),
          summary(whole).map((x): Reading => [x, 0]),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a summary equal to a plain model of the readings', () => {
    fc.assert(
      fc.property(readings, (list) => {
        fc.pre(list.length > 0);
        const encoder = encode(list);
        const ts = list.map(([t]) => t);
        const values = list.map(([, v]) => v);
        const minTs = Math.min(...ts);
        const maxTs = Math.max(...ts);
        const model: Reading[] = [
          [minTs, maxTs],
          [Math.min(...values), Math.max(...values)],
          [values.reduce((a, b) => a + b), list.length],
          list[0] as Reading,
          list[list.length - 1] as Reading,
          [values[ts.findIndex((t) => t === minTs)] as number, values[ts.findLastIndex((t) => t === maxTs)] as number],
          [Number(ts.every((t, i) => i === 0 || t >= (ts[i - 1] as number))), 0],
        ];
        expectSame(
          [
            [encoder.minTs, encoder.maxTs],
            [encoder.minValue, encoder.maxValue],
            [encoder.sum, encoder.count],
            [encoder.firstTs, encoder.firstValue],
            [encoder.lastTs, encoder.lastValue],
            [encoder.earliestValue, encoder.latestValue],
            [Number(encoder.sortedByTs), 0],
          ],
          model,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('a chunk cut short at any byte throws ChunkDecodeError after a correct prefix of its readings', () => {
    fc.assert(
      fc.property(readings, fc.nat(), (list, at) => {
        fc.pre(list.length > 0);
        const bytes = encode(list).bytes();
        const cut = bytes.subarray(0, at % bytes.length);
        const { readings: read, error } = readAll(cut, list.length);
        expect(error).toBeInstanceOf(ChunkDecodeError);
        expectBothDecoders(cut, list.length);
        expect(read.length).toBeLessThan(list.length);
        expectSame(read, list.slice(0, read.length));
      }),
      { numRuns: 300 },
    );
  });

  it('decoding with a count one too high or one too low throws ChunkDecodeError', () => {
    fc.assert(
      fc.property(readings, (list) => {
        fc.pre(list.length > 0);
        const bytes = encode(list).bytes();
        expect(readAll(bytes, list.length + 1).error).toBeInstanceOf(ChunkDecodeError);
        expectBothDecoders(bytes, list.length + 1);
        expectBothDecoders(bytes, list.length - 1);
        const fewer = readAll(bytes, list.length - 1);
        expect(fewer.error).toBeInstanceOf(ChunkDecodeError);
        expectSame(fewer.readings, list.slice(0, fewer.readings.length));
      }),
      { numRuns: 200 },
    );
  });

  it('flipped bits or garbage either decode to count finite readings or throw ChunkDecodeError', () => {
    const damaged = fc.oneof(
      fc
        .tuple(readings, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }))
        .map(([list, flips]) => {
          const bytes = encode(list).bytes();
          for (const [at, mask] of flips) bytes[at % bytes.length]! ^= mask;
          return { bytes, count: list.length };
        }),
      fc
        .tuple(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 400 }))
        .map(([garbage, count]) => ({ bytes: Uint8Array.of(CHUNK_FORMAT_VERSION, ...garbage), count })),
    );
    fc.assert(
      fc.property(damaged, ({ bytes, count }) => {
        const { readings: read, error } = readAll(bytes, count);
        if (error === undefined) expect(read.length).toBe(count);
        else expect(error).toBeInstanceOf(ChunkDecodeError);
        for (const [ts, v] of read) expect(Number.isFinite(ts) && Number.isFinite(v)).toBe(true);
        expectBothDecoders(bytes, count);
      }),
      { numRuns: 1000 },
    );
  });
});
