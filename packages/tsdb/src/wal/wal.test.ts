import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultyFileSystem, type CrashMode } from '../fs/faulty.js';
import { NodeFileSystem } from '../fs/node.js';
import type { FileSystem } from '../fs/types.js';
import { createRng, type Rng } from '../testing/rng.js';
import { WalClosedError, WalCorruptError, WalVersionError } from './errors.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encodeSegmentHeader, scanSegment } from './framing.js';
import { Wal, segmentName, type ReplayReport } from './wal.js';

/** These run hundreds of stores or crash images: a generous timeout, for a machine that is busy. */
const HEAVY = { timeout: 60_000 };

// ---- fixtures: the same tests on real files and in memory ----

interface Fixture {
  fs: FileSystem;
  dir: string;
  /** Replaces a segment file's bytes, bypassing the log. */
  put(index: number, bytes: Uint8Array): void;
  /** A segment file's bytes. */
  get(index: number): Uint8Array;
  done(): void;
}

function faultyFixture(fs = new FaultyFileSystem(), dir = '/db/wal'): Fixture {
  return {
    fs,
    dir,
    put: (index, bytes) => fs.writeFileSync(path.posix.join(dir, segmentName(index)), bytes),
    get: (index) => fs.readFile(path.posix.join(dir, segmentName(index))),
    done: () => undefined,
  };
}

function nodeFixture(): Fixture {
  const root = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-wal-'));
  const dir = path.join(root, 'wal');
  return {
    fs: new NodeFileSystem(),
    dir,
    put: (index, bytes) => nodeFs.writeFileSync(path.join(dir, segmentName(index)), bytes),
    get: (index) => new Uint8Array(nodeFs.readFileSync(path.join(dir, segmentName(index)))),
    done: () => nodeFs.rmSync(root, { recursive: true, force: true }),
  };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanups.splice(0)) done();
});
const use = (make: () => Fixture): Fixture => {
  const fixture = make();
  cleanups.push(() => fixture.done());
  return fixture;
};

const BACKENDS: [string, () => Fixture][] = [
  ['FaultyFileSystem', () => faultyFixture()],
  ['NodeFileSystem', nodeFixture],
];

// ---- records: an id in the first 4 bytes, so a replay can be compared with what was written ----

const typeOf = (id: number): number => (id % 255) + 1;

function payloadOf(id: number, size = 4 + (id % 5) * 3): Uint8Array {
  const p = new Uint8Array(Math.max(4, size));
  new DataView(p.buffer).setUint32(0, id, true);
  for (let i = 4; i < p.length; i++) p[i] = (id * 31 + i) & 0xff;
  return p;
}

function appendId(wal: Wal, id: number, size?: number): void {
  wal.append(typeOf(id), payloadOf(id, size));
}

interface Replayed {
  ids: number[];
  segments: number[];
  report: ReplayReport;
}

function replay(wal: Wal, from = 1, strict = false): Replayed {
  const ids: number[] = [];
  const segments: number[] = [];
  const report = wal.replay(
    from,
    (type, payload, segment) => {
      const id = new DataView(payload.buffer, payload.byteOffset, payload.length).getUint32(0, true);
      // a record that is not byte-for-byte what was written would be a framing bug
      expect(type).toBe(typeOf(id));
      expect(Buffer.from(payload).equals(Buffer.from(payloadOf(id, payload.length)))).toBe(true);
      ids.push(id);
      segments.push(segment);
    },
    { strict },
  );
  return { ids, segments, report };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Where each record ends in each segment of a clean log. */
function layout(fixture: Fixture, segments: readonly number[]): Map<number, { id: number; end: number }[]> {
  const result = new Map<number, { id: number; end: number }[]>();
  for (const index of segments) {
    const frames: { id: number; end: number }[] = [];
    scanSegment(fixture.get(index), index, (_type, payload, offset) => {
      frames.push({ id: Buffer.from(payload).readUInt32LE(0), end: offset + RECORD_HEADER_BYTES + payload.length });
    });
    result.set(index, frames);
  }
  return result;
}

const SMALL_SEGMENT_BYTES = 140;

/** A small log of three segments: 15 records, committed one, two or three at a time. */
function smallLog(fixture: Fixture): { ids: number[]; segments: number[]; files: Map<number, Uint8Array> } {
  const wal = Wal.open({ fs: fixture.fs, dir: fixture.dir, segmentBytes: SMALL_SEGMENT_BYTES });
  const ids = range(1, 16);
  for (const id of ids) {
    appendId(wal, id);
    if (id % 3 !== 1) wal.commit();
  }
  wal.commit();
  wal.sync();
  wal.close();
  const segments = [...Wal.open({ fs: fixture.fs, dir: fixture.dir }).segments];
  return { ids, segments, files: new Map(segments.map((s) => [s, fixture.get(s)])) };
}

// ---- tests ----

describe.each(BACKENDS)('Wal on %s', (_name, make) => {
  it('replays what was committed, in order, with the segment of each record', () => {
    const f = use(make);
    const wal = Wal.open({ fs: f.fs, dir: f.dir });
    for (const id of range(1, 101)) appendId(wal, id);
    expect(wal.commit()).toBe(SEGMENT_HEADER_BYTES + range(1, 101).reduce((n, id) => n + 10 + payloadOf(id).length, 0));
    appendId(wal, 101);
    wal.commit();
    wal.sync();
    wal.close();
    const reopened = Wal.open({ fs: f.fs, dir: f.dir });
    expect(reopened.segments).toEqual([1]);
    expect(f.fs.readdir(f.dir)).toEqual(['00000001']);
    const { ids, segments, report } = replay(reopened);
    expect(ids).toEqual(range(1, 102));
    expect(new Set(segments)).toEqual(new Set([1]));
    expect(report).toEqual({ records: 101, bytesDropped: 0, corruptRecords: 0, tornTail: false, segments: 1 });
  });

  it('counts bytes, records, commits and segments', () => {
    const f = use(make);
    const wal = Wal.open({ fs: f.fs, dir: f.dir, segmentBytes: 100 });
    expect(wal.commit()).toBe(0);
    let written = 0;
    for (const id of range(1, 21)) {
      appendId(wal, id, 20);
      expect(wal.pendingRecords).toBe(1);
      written += wal.commit();
    }
    expect(wal.pendingRecords).toBe(0);
    expect(wal.recordsWritten).toBe(20);
    expect(wal.commits).toBe(20);
    expect(wal.bytesWritten).toBe(written);
    expect(wal.segmentsCreated).toBe(wal.segments.length);
    expect(wal.segments.length).toBe(10); // 16 + 3 * 30 > 100, so two 30-byte frames per segment
    expect(wal.bytes()).toBe(written);
    expect(wal.bytes()).toBe(wal.segments.reduce((n, s) => n + f.fs.size(path.join(f.dir, segmentName(s))), 0));
  });

  it('does not rotate when a batch fills a segment exactly, and rotates on the next one', () => {
    const f = use(make);
    const frame = RECORD_HEADER_BYTES + 8;
    const wal = Wal.open({ fs: f.fs, dir: f.dir, segmentBytes: SEGMENT_HEADER_BYTES + 3 * frame });
    for (const id of [1, 2, 3]) {
      appendId(wal, id, 8);
      wal.commit();
    }
    expect(wal.segments).toEqual([1]);
    expect(f.fs.size(path.join(f.dir, '00000001'))).toBe(wal.segmentBytes);
    appendId(wal, 4, 8);
    wal.commit();
    expect(wal.segments).toEqual([1, 2]);
    expect(f.fs.size(path.join(f.dir, '00000002'))).toBe(SEGMENT_HEADER_BYTES + frame);
    wal.close();
    expect(replay(Wal.open({ fs: f.fs, dir: f.dir })).ids).toEqual([1, 2, 3, 4]);
  });

  it('gives a batch bigger than a segment a segment of its own', () => {
    const f = use(make);
    const wal = Wal.open({ fs: f.fs, dir: f.dir, segmentBytes: 64 });
    appendId(wal, 1, 8);
    wal.commit();
    for (const id of range(2, 12)) appendId(wal, id, 30);
    wal.commit();
    appendId(wal, 12, 8);
    wal.commit();
    expect(wal.segments).toEqual([1, 2, 3]);
    expect(f.fs.size(path.join(f.dir, '00000002'))).toBe(SEGMENT_HEADER_BYTES + 10 * 40);
    wal.close();
    const { ids, segments, report } = replay(Wal.open({ fs: f.fs, dir: f.dir }));
    expect(ids).toEqual(range(1, 13));
    expect(segments).toEqual([1, ...range(2, 12).map(() => 2), 3]);
    expect(report.bytesDropped).toBe(0);
  });

  it('puts even the first, oversized batch of a fresh log into segment 1', () => {
    const f = use(make);
    const wal = Wal.open({ fs: f.fs, dir: f.dir, segmentBytes: 32 });
    for (const id of range(1, 5)) appendId(wal, id, 100);
    wal.commit();
    expect(wal.segments).toEqual([1]);
    wal.close();
    expect(replay(Wal.open({ fs: f.fs, dir: f.dir })).ids).toEqual(range(1, 5));
  });

  it('returns the right records at every truncation offset of every segment of a 3-segment log', () => {
    const f = use(make);
    const log = smallLog(f);
    expect(log.segments).toEqual([1, 2, 3]);
    const frames = layout(f, log.segments);
    for (const s of log.segments) {
      const full = log.files.get(s) as Uint8Array;
      for (let cut = 0; cut <= full.length; cut++) {
        for (const [i, bytes] of log.files) f.put(i, i === s ? bytes.subarray(0, cut) : bytes);
        const inSegment = frames.get(s) ?? [];
        const kept = inSegment.filter((fr) => fr.end <= cut);
        const validEnd = cut < SEGMENT_HEADER_BYTES ? 0 : (kept.at(-1)?.end ?? SEGMENT_HEADER_BYTES);
        const torn = cut !== 0 && cut !== validEnd;
        const lost = new Set(inSegment.filter((fr) => fr.end > cut).map((fr) => fr.id));
        const expected = log.ids.filter((id) => !lost.has(id));

        const wal = Wal.open({ fs: f.fs, dir: f.dir, segmentBytes: SMALL_SEGMENT_BYTES });
        const { ids, report } = replay(wal);
        expect(ids).toEqual(expected);
        const isLast = s === 3;
        expect(report).toEqual({
          records: expected.length,
          bytesDropped: cut - validEnd,
          corruptRecords: torn && !isLast ? 1 : 0,
          tornTail: torn && isLast,
          segments: 3,
        });
        if (isLast) expect(f.fs.size(path.join(f.dir, segmentName(3)))).toBe(torn ? validEnd : cut);
        // appends continue cleanly after the repair
        appendId(wal, 100);
        wal.commit();
        wal.close();
        const again = replay(Wal.open({ fs: f.fs, dir: f.dir }));
        expect(again.ids).toEqual([...expected, 100]);
        if (isLast) expect(again.report.bytesDropped).toBe(0);
        for (const extra of Wal.open({ fs: f.fs, dir: f.dir }).segments)
          if (extra > 3) f.fs.unlink(path.join(f.dir, segmentName(extra)));
      }
    }
  });

  it('truncates a zeroed tail of the last segment to the last good record', () => {
    const f = use(make);
    const log = smallLog(f);
    const last = log.files.get(3) as Uint8Array;
    const frames = layout(f, [3]).get(3) ?? [];
    for (let from = SEGMENT_HEADER_BYTES; from < last.length; from++) {
      const zeroed = last.slice();
      zeroed.fill(0, from);
      f.put(3, new Uint8Array([...zeroed, ...new Uint8Array(700)]));
      // bytes that were zero already are not damage: the first byte zeroing changed
      let changed = from;
      while (changed < last.length && last[changed] === 0) changed++;
      const validEnd = frames.filter((fr) => fr.end <= changed).at(-1)?.end ?? SEGMENT_HEADER_BYTES;
      const wal = Wal.open({ fs: f.fs, dir: f.dir });
      const { ids, report } = replay(wal);
      const lost = new Set(frames.filter((fr) => fr.end > changed).map((fr) => fr.id));
      expect(ids).toEqual(log.ids.filter((id) => !lost.has(id)));
      expect(report.tornTail).toBe(true);
      expect(report.corruptRecords).toBe(0);
      expect(report.bytesDropped).toBe(last.length + 700 - validEnd);
      expect(f.fs.size(path.join(f.dir, segmentName(3)))).toBe(validEnd);
      wal.close();
    }
  });

  it('loses only the record holding a flipped byte, in any segment', () => {
    const f = use(make);
    const log = smallLog(f);
    const frames = layout(f, log.segments);
    for (const s of log.segments) {
      const bytes = log.files.get(s) as Uint8Array;
      const inSegment = frames.get(s) ?? [];
      for (let at = 0; at < bytes.length; at++) {
        const damaged = bytes.slice();
        damaged[at] = (damaged[at] as number) ^ 0xff;
        for (const [i, b] of log.files) f.put(i, i === s ? damaged : b);
        const hit = inSegment.find((fr) => fr.end > at && at >= fr.end - RECORD_HEADER_BYTES - payloadOf(fr.id).length);
        const inHeader = at < SEGMENT_HEADER_BYTES;
        const wal = Wal.open({ fs: f.fs, dir: f.dir });
        const { ids, report } = replay(wal);
        expect(ids).toEqual(log.ids.filter((id) => id !== hit?.id));
        const tail = s === 3 && hit !== undefined && hit === inSegment.at(-1);
        expect(report.tornTail).toBe(tail);
        expect(report.corruptRecords).toBe(tail ? 0 : 1);
        expect(report.bytesDropped).toBe(
          inHeader ? SEGMENT_HEADER_BYTES : payloadOf(hit?.id ?? 0).length + RECORD_HEADER_BYTES,
        );
        wal.close();
      }
    }
  });

  it('in strict mode throws WalCorruptError naming the segment and offset, and changes nothing', () => {
    const f = use(make);
    const log = smallLog(f);
    const frames = layout(f, [2]).get(2) ?? [];
    const damaged = (log.files.get(2) as Uint8Array).slice();
    const offset = frames[0]?.end as number;
    damaged[offset + 7] = (damaged[offset + 7] as number) ^ 1;
    f.put(2, damaged);
    const last = log.files.get(3) as Uint8Array;
    f.put(3, last.subarray(0, last.length - 3));
    const wal = Wal.open({ fs: f.fs, dir: f.dir });
    let caught: unknown;
    try {
      replay(wal, 1, true);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WalCorruptError);
    expect(caught).toMatchObject({ code: 'ERR_WAL_CORRUPT', segment: 2, offset, reason: 'record checksum mismatch' });
    expect((caught as Error).message).toMatch(new RegExp(`segment 2 .*00000002.* byte ${offset}`));
    f.put(2, log.files.get(2) as Uint8Array);
    expect(() => replay(wal, 1, true)).toThrow(expect.objectContaining({ code: 'ERR_WAL_CORRUPT', segment: 3 }));
    expect(f.fs.size(path.join(f.dir, segmentName(3)))).toBe(last.length - 3);
  });

  it('refuses a segment of a newer format version in both modes', () => {
    const f = use(make);
    smallLog(f);
    const header = encodeSegmentHeader(2);
    header[4] = 2;
    Buffer.from(header.buffer).writeUInt32LE(crc32(header.subarray(0, 12)), 12);
    f.put(2, header);
    for (const strict of [false, true]) {
      expect(() => replay(Wal.open({ fs: f.fs, dir: f.dir }), 1, strict)).toThrow(WalVersionError);
    }
    expect(() => replay(Wal.open({ fs: f.fs, dir: f.dir }))).toThrow(
      expect.objectContaining({ code: 'ERR_WAL_VERSION', version: 2 }),
    );
  });

  it('starts a new segment on the first commit when the last one was not replayed', () => {
    const f = use(make);
    smallLog(f);
    const wal = Wal.open({ fs: f.fs, dir: f.dir });
    appendId(wal, 100);
    wal.commit();
    expect(wal.segments).toEqual([1, 2, 3, 4]);
    wal.close();
    const resumed = Wal.open({ fs: f.fs, dir: f.dir });
    replay(resumed);
    appendId(resumed, 101);
    resumed.commit();
    expect(resumed.segments).toEqual([1, 2, 3, 4]);
    expect(resumed.currentSegment).toBe(4);
  });

  it('replays only segments from the given one, and numbers new segments from it', () => {
    const f = use(make);
    const log = smallLog(f);
    const frames = layout(f, log.segments);
    const { ids, report } = replay(Wal.open({ fs: f.fs, dir: f.dir }), 2);
    expect(ids).toEqual([...(frames.get(2) ?? []), ...(frames.get(3) ?? [])].map((fr) => fr.id));
    expect(report.segments).toBe(2);
    const ahead = Wal.open({ fs: f.fs, dir: f.dir });
    expect(replay(ahead, 7).report.segments).toBe(0);
    appendId(ahead, 100);
    ahead.commit();
    expect(ahead.segments).toEqual([1, 2, 3, 7]);
  });

  it('cuts to a new segment and removes the ones below it', () => {
    const f = use(make);
    const wal = Wal.open({ fs: f.fs, dir: f.dir, segmentBytes: 100 });
    for (const id of range(1, 11)) {
      appendId(wal, id, 20);
      wal.commit();
    }
    appendId(wal, 11, 4); // pending: committed by cut() into the old segment, where it fits
    const before = [...wal.segments];
    const cut = wal.cut();
    expect(cut).toBe((before.at(-1) ?? 0) + 1);
    expect(f.fs.size(path.join(f.dir, segmentName(cut)))).toBe(SEGMENT_HEADER_BYTES);
    appendId(wal, 12, 20);
    wal.commit();
    wal.sync();
    const total = wal.bytes();
    const freed = wal.removeBelow(cut);
    expect(freed).toBe(total - wal.bytes());
    expect(wal.segments).toEqual([cut]);
    expect(f.fs.readdir(f.dir)).toEqual([segmentName(cut)]);
    expect(wal.removeBelow(cut + 10)).toBe(0); // never the segment commits go to
    wal.close();
    const { ids } = replay(Wal.open({ fs: f.fs, dir: f.dir }));
    expect(ids).toEqual([12]);
  });

  it('syncs asynchronously', async () => {
    const f = use(make);
    const wal = Wal.open({ fs: f.fs, dir: f.dir, segmentBytes: 64 });
    for (const id of range(1, 6)) {
      appendId(wal, id, 30);
      wal.commit();
    }
    await wal.syncAsync();
    await wal.syncAsync();
    wal.close();
    expect(replay(Wal.open({ fs: f.fs, dir: f.dir })).ids).toEqual(range(1, 6));
  });

  it('refuses calls after close, and close is idempotent', () => {
    const f = use(make);
    const wal = Wal.open({ fs: f.fs, dir: f.dir });
    appendId(wal, 1);
    wal.close();
    wal.close();
    expect(() => appendId(wal, 2)).toThrow(WalClosedError);
    expect(() => wal.commit()).toThrow(expect.objectContaining({ code: 'ERR_WAL_CLOSED' }));
    expect(Wal.open({ fs: f.fs, dir: f.dir }).segments).toEqual([]);
  });

  it('ignores files that are not segments', () => {
    const f = use(make);
    f.fs.mkdirp(f.dir);
    f.fs.writeFileSync(path.join(f.dir, 'notes.txt'), new Uint8Array([1]));
    f.fs.writeFileSync(path.join(f.dir, '0001'), new Uint8Array([1]));
    expect(Wal.open({ fs: f.fs, dir: f.dir }).segments).toEqual([]);
  });
});

describe('Wal options and arguments', () => {
  it.each([0, 31, 1.5, Number.NaN])('rejects segmentBytes %d with a RangeError', (segmentBytes) => {
    const fs = new FaultyFileSystem();
    expect(() => Wal.open({ fs, dir: '/w', segmentBytes })).toThrow(RangeError);
  });

  it.each([0, 256, 1.5, -1])('rejects record type %d with a RangeError', (type) => {
    const wal = Wal.open({ fs: new FaultyFileSystem(), dir: '/w' });
    expect(() => wal.append(type, new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('names segments with zero-padded decimal', () => {
    expect(segmentName(1)).toBe('00000001');
    expect(segmentName(123456789)).toBe('123456789');
  });
});

describe('Wal writes', () => {
  it('writes each commit with exactly one write, rotation included', () => {
    const fs = new FaultyFileSystem();
    const wal = Wal.open({ fs, dir: '/w', segmentBytes: 200 });
    for (let turn = 0; turn < 30; turn++) {
      for (let i = 0; i < 1 + (turn % 4); i++) appendId(wal, turn * 10 + i);
      const before = fs.count('write');
      wal.commit();
      expect(fs.count('write') - before).toBe(1);
    }
    expect(wal.segments.length).toBeGreaterThan(3);
    const before = fs.count('write');
    wal.commit();
    expect(fs.count('write')).toBe(before);
  });

  it('grows its buffer for big batches and keeps framing right afterwards', () => {
    const fs = new FaultyFileSystem();
    const wal = Wal.open({ fs, dir: '/w' });
    appendId(wal, 1, 200_000);
    for (const id of range(2, 2000)) appendId(wal, id, 100);
    wal.commit();
    appendId(wal, 2000);
    wal.commit();
    wal.close();
    expect(replay(Wal.open({ fs, dir: '/w' })).ids).toEqual(range(1, 2001));
  });
});

describe('Wal after file-system failures', () => {
  it('throws a failed write, drops the batch and continues in a new segment', () => {
    const fs = new FaultyFileSystem();
    const wal = Wal.open({ fs, dir: '/w' });
    appendId(wal, 1);
    wal.commit();
    fs.failNext('write', 'EIO');
    appendId(wal, 2);
    expect(() => wal.commit()).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(wal.pendingRecords).toBe(0);
    appendId(wal, 3);
    wal.commit();
    expect(wal.segments).toEqual([1, 2]);
    wal.sync();
    wal.close();
    expect(replay(Wal.open({ fs, dir: '/w' })).ids).toEqual([1, 3]);
  });

  it('after ENOSPC with half a frame written, never appends behind it', () => {
    const fs = new FaultyFileSystem();
    const wal = Wal.open({ fs, dir: '/w' });
    appendId(wal, 1, 40);
    wal.commit();
    fs.setFull(wal.bytes() + 25);
    appendId(wal, 2, 40);
    appendId(wal, 3, 40);
    expect(() => wal.commit()).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    expect(fs.size('/w/00000001')).toBe(wal.bytes());
    appendId(wal, 4, 40);
    expect(() => wal.commit()).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    fs.setFull(undefined);
    appendId(wal, 5, 40);
    wal.commit();
    wal.close();
    const { ids, report } = replay(Wal.open({ fs, dir: '/w' }));
    expect(ids).toEqual([1, 5]);
    expect(report.corruptRecords).toBeGreaterThanOrEqual(1);
    expect(report.tornTail).toBe(false);
  });

  it('abandons the segment after a failed sync', async () => {
    const fs = new FaultyFileSystem();
    const wal = Wal.open({ fs, dir: '/w' });
    appendId(wal, 1);
    wal.commit();
    fs.failNext('sync', 'EIO');
    expect(() => wal.sync()).toThrow(expect.objectContaining({ code: 'EIO' }));
    appendId(wal, 2);
    wal.commit();
    expect(wal.currentSegment).toBe(2);
    fs.failNext('sync', 'EIO');
    await expect(wal.syncAsync()).rejects.toMatchObject({ code: 'EIO' });
    appendId(wal, 3);
    wal.commit();
    expect(wal.currentSegment).toBe(3);
  });

  it('makes a new segment durable by syncing the directory', () => {
    const fs = new FaultyFileSystem();
    const wal = Wal.open({ fs, dir: '/w', segmentBytes: 40 });
    appendId(wal, 1, 10);
    wal.commit();
    appendId(wal, 2, 10);
    wal.commit();
    expect(wal.segments).toEqual([1, 2]);
    const syncs = fs.count('syncDir');
    wal.sync();
    expect(fs.count('syncDir')).toBe(syncs + 1);
    wal.sync();
    expect(fs.count('syncDir')).toBe(syncs + 1);
    const durable = new FaultyFileSystem({ files: fs.snapshotDurable() });
    expect(replay(Wal.open({ fs: durable, dir: '/w' })).ids).toEqual([1, 2]);
  });
});

// ---- power loss ----

interface Step {
  committed: number[];
  synced: number;
}

/** A random workload: turns of 1..4 records of 4..700 bytes, some synced, some cut; checks a crash after each turn. */
async function crashWorkload(seed: number, check: (fs: FaultyFileSystem, step: Step) => void): Promise<void> {
  const rng = createRng(seed);
  const fs = new FaultyFileSystem();
  const wal = Wal.open({ fs, dir: '/w', segmentBytes: 1500 + rng(3000) });
  replay(wal);
  const committed: number[] = [];
  let synced = 0;
  let id = 1;
  for (let turn = 0; turn < 25; turn++) {
    const n = 1 + rng(4);
    for (let i = 0; i < n; i++) appendId(wal, id++, 4 + rng(700));
    wal.commit();
    committed.push(...range(id - n, id));
    const r = rng(6);
    if (r === 0) {
      wal.sync();
      synced = committed.length;
    } else if (r === 1) {
      await wal.syncAsync();
      synced = committed.length;
    } else if (r === 2) {
      wal.cut();
    }
    check(fs, { committed: [...committed], synced });
  }
  wal.close();
}

function recover(fs: FaultyFileSystem): number[] {
  const wal = Wal.open({ fs, dir: '/w' });
  const { ids } = replay(wal);
  // the recovered log takes new records, and they come back after the old ones
  appendId(wal, 1_000_000);
  wal.commit();
  wal.sync();
  wal.close();
  const again = replay(Wal.open({ fs: new FaultyFileSystem({ files: fs.snapshotDurable() }), dir: '/w' })).ids;
  expect(again).toEqual([...ids, 1_000_000]);
  return ids;
}

const isSubsequence = (sub: readonly number[], all: readonly number[]): boolean => {
  let i = 0;
  for (const x of all) if (i < sub.length && sub[i] === x) i++;
  return i === sub.length;
};

describe('Wal across power loss (FaultyFileSystem crash images)', () => {
  it('recovers, in prefix mode, a prefix of what was committed that holds everything synced', HEAVY, async () => {
    let torn = 0;
    for (const seed of range(1, 13)) {
      await crashWorkload(seed, (fs, { committed, synced }) => {
        for (const crashSeed of range(0, 4)) {
          const ids = recover(fs.crash(createRng(seed * 100 + crashSeed), 'prefix'));
          expect(ids).toEqual(committed.slice(0, ids.length));
          expect(ids.length).toBeGreaterThanOrEqual(synced);
          if (ids.length < committed.length) torn++;
        }
      });
    }
    expect(torn).toBeGreaterThan(0); // the images did lose unsynced records
  });

  it('recovers, in subset mode, records in commit order with everything synced first', HEAVY, async () => {
    let gaps = 0;
    for (const seed of range(1, 13)) {
      await crashWorkload(seed, (fs, { committed, synced }) => {
        for (const crashSeed of range(0, 4)) {
          const ids = recover(fs.crash(createRng(seed * 100 + crashSeed), 'subset'));
          expect(isSubsequence(ids, committed)).toBe(true);
          expect(ids.slice(0, synced)).toEqual(committed.slice(0, synced));
          if (!committed.slice(0, ids.length).every((x, i) => x === ids[i])) gaps++;
        }
      });
    }
    expect(gaps).toBeGreaterThan(0); // some images lost a record in the middle and kept later ones
  });

  it('never throws on any mutation of a multi-segment log, and returns every record before the first damage', () => {
    const mutation = fc.record({
      segment: fc.nat(),
      at: fc.nat(),
      kind: fc.constantFrom('flip', 'zero', 'truncate', 'magic'),
      value: fc.integer({ min: 1, max: 255 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.array(mutation, { minLength: 1, maxLength: 5 }),
        (seed, mutations) => {
          const rng: Rng = createRng(seed);
          const fs = new FaultyFileSystem();
          const wal = Wal.open({ fs, dir: '/w', segmentBytes: 200 + rng(300) });
          const written: number[] = [];
          for (let id = 1; id <= 20 + rng(20); id++) {
            appendId(wal, id, 4 + rng(60));
            written.push(id);
            if (rng(3) === 0) wal.commit();
          }
          wal.commit();
          wal.close();
          const f = faultyFixture(fs, '/w');
          const segments = [...Wal.open({ fs, dir: '/w' }).segments];
          const frames = layout(f, segments);
          const damagedAt = new Map<number, number>();
          for (const m of mutations) {
            const s = segments[m.segment % segments.length] as number;
            let bytes = f.get(s);
            if (bytes.length === 0) continue;
            const at = m.at % bytes.length;
            const before = bytes.slice();
            if (m.kind === 'flip') bytes[at] = (bytes[at] as number) ^ m.value;
            else if (m.kind === 'zero') bytes.fill(0, at, at + m.value);
            else if (m.kind === 'magic') bytes[at] = 0xd7;
            else bytes = bytes.slice(0, at);
            if (Buffer.from(before).equals(Buffer.from(bytes))) continue;
            f.put(s, bytes);
            damagedAt.set(s, Math.min(damagedAt.get(s) ?? Infinity, at));
          }
          const recovered = Wal.open({ fs, dir: '/w' });
          const { ids } = replay(recovered);
          expect(isSubsequence(ids, written)).toBe(true);
          const mustHave = segments.flatMap((s) =>
            (frames.get(s) ?? []).filter((fr) => fr.end <= (damagedAt.get(s) ?? Infinity)).map((fr) => fr.id),
          );
          expect(isSubsequence(mustHave, ids)).toBe(true);
          // a second replay after the repair finds the same records and no torn tail
          recovered.close();
          const second = replay(Wal.open({ fs, dir: '/w' }));
          expect(second.ids).toEqual(ids);
          expect(second.report.tornTail).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('crash modes', () => {
  it.each<CrashMode>(['prefix', 'subset'])('keep every synced record across many %s images of one log', (mode) => {
    const fs = new FaultyFileSystem();
    const wal = Wal.open({ fs, dir: '/w', segmentBytes: 4096 });
    for (const id of range(1, 60)) {
      appendId(wal, id, 300);
      wal.commit();
    }
    wal.sync();
    for (const id of range(60, 90)) {
      appendId(wal, id, 300);
      wal.commit();
    }
    for (const seed of range(0, 100)) {
      const ids = replay(Wal.open({ fs: fs.crash(createRng(seed), mode), dir: '/w' })).ids;
      expect(ids.slice(0, 59)).toEqual(range(1, 60));
    }
  });
});
