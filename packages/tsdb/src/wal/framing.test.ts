import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FORMAT_VERSION,
  RECORD_HEADER_BYTES,
  RECORD_MAGIC,
  SEGMENT_HEADER_BYTES,
  checkSegmentHeader,
  encodeFrame,
  encodeSegmentHeader,
  nextValidFrame,
  scanSegment,
  validFrameAt,
} from './framing.js';

interface Rec {
  type: number;
  payload: Uint8Array;
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const segmentOf = (index: number, records: readonly Rec[]): Uint8Array =>
  concat(encodeSegmentHeader(index), ...records.map((r) => encodeFrame(r.type, r.payload)));

/** Frame end offsets of a clean segment, one per record. */
const frameEnds = (records: readonly Rec[]): number[] => {
  let o = SEGMENT_HEADER_BYTES;
  return records.map((r) => (o += RECORD_HEADER_BYTES + r.payload.length));
};

const scan = (bytes: Uint8Array, index = 1, stop = false): { got: Rec[]; result: ReturnType<typeof scanSegment> } => {
  const got: Rec[] = [];
  const result = scanSegment(bytes, index, (type, payload) => got.push({ type, payload: payload.slice() }), stop);
  return { got, result };
};

const hex = (r: Rec): string => `${r.type}:${Buffer.from(r.payload).toString('hex')}`;

/** Whether `sub` is a subsequence of `all` (order kept). */
const isSubsequence = (sub: readonly string[], all: readonly string[]): boolean => {
  let i = 0;
  for (const x of all) if (i < sub.length && sub[i] === x) i++;
  return i === sub.length;
};

const RECORDS: Rec[] = [
  { type: 1, payload: Uint8Array.from([1, 2, 3]) },
  { type: 2, payload: new Uint8Array(0) },
  { type: 255, payload: Uint8Array.from({ length: 40 }, (_, i) => i * 7) },
  { type: 9, payload: Uint8Array.from([RECORD_MAGIC, 9, 0, 0, 0, 0]) },
  { type: 3, payload: Uint8Array.from({ length: 13 }, (_, i) => 200 + i) },
];

describe('segment header', () => {
  it('lays out magic, version, reserved bytes, index and a CRC of the first 12 bytes', () => {
    const header = encodeSegmentHeader(0x01020304);
    expect([...header.subarray(0, 12)]).toEqual([0x4f, 0x50, 0x43, 0x57, 1, 0, 0, 0, 4, 3, 2, 1]);
    expect(Buffer.from(header).readUInt32LE(12)).toBe(crc32(header.subarray(0, 12)));
    expect(checkSegmentHeader(header, 0x01020304)).toEqual({ ok: true });
  });

  it('names what is wrong with a bad header', () => {
    const good = encodeSegmentHeader(5);
    expect(checkSegmentHeader(good.subarray(0, 15), 5)).toEqual({ ok: false, reason: 'short' });
    expect(checkSegmentHeader(good, 6)).toEqual({ ok: false, reason: 'wrong index' });
    const badMagic = good.slice();
    badMagic[0] = 0;
    expect(checkSegmentHeader(badMagic, 5)).toEqual({ ok: false, reason: 'bad magic' });
    const flipped = good.slice();
    flipped[9] = (flipped[9] as number) ^ 1;
    expect(checkSegmentHeader(flipped, 5)).toEqual({ ok: false, reason: 'bad checksum' });
    const newer = good.slice();
    newer[4] = FORMAT_VERSION + 1;
    Buffer.from(newer.buffer).writeUInt32LE(crc32(newer.subarray(0, 12)), 12);
    expect(checkSegmentHeader(newer, 5)).toEqual({ ok: false, reason: 'unknown version', version: 2 });
  });
});

describe('record frame', () => {
  it('lays out magic, type, length and the CRC of type, length and payload', () => {
    const frame = encodeFrame(3, Uint8Array.from([0xaa, 0xbb, 0xcc]));
    const crc = crc32(Uint8Array.from([3, 3, 0, 0, 0, 0xaa, 0xbb, 0xcc]));
    expect([...frame]).toEqual([
      RECORD_MAGIC,
      3,
      3,
      0,
      0,
      0,
      crc & 0xff,
      (crc >>> 8) & 0xff,
      (crc >>> 16) & 0xff,
      crc >>> 24,
      0xaa,
      0xbb,
      0xcc,
    ]);
    expect(validFrameAt(frame, 0)).toBe(13);
  });

  it('rejects a frame at every single flipped bit and at every truncation', () => {
    const frame = encodeFrame(
      7,
      Uint8Array.from({ length: 20 }, (_, i) => i),
    );
    for (let byte = 0; byte < frame.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = frame.slice();
        damaged[byte] = (damaged[byte] as number) ^ (1 << bit);
        expect(validFrameAt(damaged, 0)).toBe(0);
      }
    }
    for (let n = 0; n < frame.length; n++) expect(validFrameAt(frame.subarray(0, n), 0)).toBe(0);
  });

  it('never takes zeros for a frame', () => {
    const zeros = new Uint8Array(100);
    zeros[10] = RECORD_MAGIC;
    expect(nextValidFrame(zeros, 0)).toBe(-1);
  });
});

describe('scanSegment', () => {
  it('reads back every record of a clean segment in order', () => {
    const { got, result } = scan(segmentOf(1, RECORDS));
    expect(got.map(hex)).toEqual(RECORDS.map(hex));
    expect(result).toEqual({ records: 5, damage: [], validEnd: segmentOf(1, RECORDS).length, headerOk: true });
  });

  it('reads an empty file as an empty segment without damage', () => {
    expect(scan(new Uint8Array(0)).result).toEqual({ records: 0, damage: [], validEnd: 0, headerOk: false });
  });

  it('at every truncation offset returns the whole frames before it and reports the rest as a torn tail', () => {
    const full = segmentOf(1, RECORDS);
    const ends = frameEnds(RECORDS);
    for (let cut = 0; cut <= full.length; cut++) {
      const { got, result } = scan(full.subarray(0, cut));
      const whole = ends.filter((e) => e <= cut).length;
      expect(got.map(hex)).toEqual(RECORDS.slice(0, whole).map(hex));
      const validEnd =
        cut === 0
          ? 0
          : cut < SEGMENT_HEADER_BYTES
            ? 0
            : whole === 0
              ? SEGMENT_HEADER_BYTES
              : (ends[whole - 1] as number);
      expect(result.validEnd).toBe(validEnd);
      const atBoundary = cut === 0 || cut === validEnd;
      expect(result.damage).toEqual(
        atBoundary ? [] : [expect.objectContaining({ offset: validEnd, bytes: cut - validEnd, tail: true })],
      );
    }
  });

  it('reports a zeroed tail as torn, keeping the records before it', () => {
    const full = segmentOf(1, RECORDS);
    const ends = frameEnds(RECORDS);
    const damaged = full.slice();
    damaged.fill(0, (ends[2] as number) + 3);
    const { got, result } = scan(concat(damaged, new Uint8Array(600)));
    expect(got.map(hex)).toEqual(RECORDS.slice(0, 3).map(hex));
    expect(result.validEnd).toBe(ends[2]);
    expect(result.damage).toHaveLength(1);
    expect(result.damage[0]?.tail).toBe(true);
  });

  it('loses only the corrupt record in the middle and resynchronises on the next frame', () => {
    const full = segmentOf(1, RECORDS);
    const ends = frameEnds(RECORDS);
    const damaged = full.slice();
    const at = (ends[1] as number) + RECORD_HEADER_BYTES + 5; // inside record 2's payload
    damaged[at] = (damaged[at] as number) ^ 0x40;
    const { got, result } = scan(damaged);
    expect(got.map(hex)).toEqual([0, 1, 3, 4].map((i) => hex(RECORDS[i] as Rec)));
    expect(result.damage).toEqual([
      {
        offset: ends[1],
        bytes: (ends[2] as number) - (ends[1] as number),
        tail: false,
        reason: 'record checksum mismatch',
      },
    ]);
    expect(result.validEnd).toBe(full.length);
  });

  it('stops at the first damage when asked to', () => {
    const damaged = segmentOf(1, RECORDS);
    const ends = frameEnds(RECORDS);
    damaged[(ends[0] as number) + 1] = 0;
    const { got, result } = scan(damaged, 1, true);
    expect(got).toHaveLength(1);
    expect(result.damage).toEqual([expect.objectContaining({ offset: ends[0], reason: 'record type 0', tail: false })]);
  });

  it('finds the frames after a damaged header', () => {
    const damaged = segmentOf(1, RECORDS);
    damaged[2] = 0;
    const { got, result } = scan(damaged);
    expect(got.map(hex)).toEqual(RECORDS.map(hex));
    expect(result.headerOk).toBe(false);
    expect(result.damage).toEqual([
      { offset: 0, bytes: SEGMENT_HEADER_BYTES, tail: false, reason: 'segment header: bad magic' },
    ]);
  });

  it('never throws on arbitrary bytes and accounts for every byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, withHeader) => {
        const data = withHeader ? concat(encodeSegmentHeader(1), bytes) : bytes;
        const { result } = scan(data);
        const dropped = result.damage.reduce((n, d) => n + d.bytes, 0);
        expect(dropped).toBeLessThanOrEqual(data.length);
        expect(result.validEnd).toBeLessThanOrEqual(data.length);
      }),
    );
  });

  it('after arbitrary mutations returns a subsequence of the records, all of those before the first damaged byte', () => {
    const record = fc.record({ type: fc.integer({ min: 1, max: 255 }), payload: fc.uint8Array({ maxLength: 48 }) });
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0, RECORD_MAGIC, 0xff) }),
      fc.record({ kind: fc.constant('zero' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 5000 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 30 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        (records, mutations) => {
          let bytes = segmentOf(1, records);
          let firstDamaged = bytes.length;
          for (const m of mutations) {
            if (bytes.length === 0) break;
            const at = m.at % bytes.length;
            if (m.kind === 'flip') bytes[at] = (bytes[at] as number) ^ m.xor;
            else if (m.kind === 'set') {
              if (bytes[at] === m.value) continue;
              bytes[at] = m.value;
            } else if (m.kind === 'zero') {
              const end = Math.min(bytes.length, at + m.length);
              if (bytes.subarray(at, end).every((b) => b === 0)) continue;
              bytes.fill(0, at, end);
            } else bytes = bytes.slice(0, at);
            firstDamaged = Math.min(firstDamaged, at);
          }
          const { got } = scan(bytes);
          const written = records.map(hex);
          expect(isSubsequence(got.map(hex), written)).toBe(true);
          const intact = frameEnds(records).filter((end) => end <= firstDamaged).length;
          expect(got.slice(0, intact).map(hex)).toEqual(written.slice(0, intact));
        },
      ),
      { numRuns: 500 },
    );
  });
});
