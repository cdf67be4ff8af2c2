import { describe, expect, it, vi } from 'vitest';
import { ChunkEncoder } from '../chunk/index.js';
import { FaultyFileSystem } from '../fs/index.js';
import { FormatError } from './bytes.js';
import { ChunkStore, type ChunkFile } from './chunk-file.js';
import { CHUNK_HEADER_BYTES, FLAG_SORTED, type ChunkSummary } from './format.js';
import type { ChunkRef } from './head.js';

const DIR = '/data/chunks';
const T0 = Date.UTC(2030, 0, 1);

/** A chunk of `n` readings from seq `firstSeq`: its summary and encoded bytes. */
function chunk(firstSeq: number, n: number): { summary: ChunkSummary; data: Uint8Array } {
  const enc = new ChunkEncoder();
  for (let i = 0; i < n; i++) enc.append(T0 + 1000 * (firstSeq + i), ((firstSeq + i) % 60) / 10);
  const summary: ChunkSummary = {
    seriesId: 3,
    count: n,
    flags: FLAG_SORTED,
    firstSeq,
    minTs: enc.minTs,
    maxTs: enc.maxTs,
    minValue: enc.minValue,
    maxValue: enc.maxValue,
    sum: enc.sum,
    firstValue: enc.earliestValue,
    lastValue: enc.latestValue,
  };
  return { summary, data: enc.bytes() };
}

/** A store holding three chunks in one synced file, and the file system under it. */
function setup(cacheBytes?: number): {
  fs: FaultyFileSystem;
  store: ChunkStore;
  file: ChunkFile;
  refs: ChunkRef[];
  data: Uint8Array[];
} {
  const fs = new FaultyFileSystem();
  fs.mkdirp(DIR);
  const store = new ChunkStore(fs, DIR, cacheBytes);
  const parts = [chunk(1, 100), chunk(101, 50), chunk(151, 7)];
  const refs = parts.map(({ summary, data }) => store.append(summary, data, T0, 1 << 20, 86_400_000));
  store.flush();
  store.syncAll();
  store.roll(T0); // the first file is no longer the active one: synced, its image becomes cache
  store.syncAll();
  const file = store.files.get((refs[0] as ChunkRef).file) as ChunkFile;
  return { fs, store, file, refs, data: parts.map((p) => p.data) };
}

describe('ChunkStore.chunkData', () => {
  it('reads a chunk of a file no longer in memory with one positional read of its record', () => {
    const { fs, store, file, refs, data } = setup(0);
    expect(file.image).toBeUndefined();
    expect(file.cached).toBeUndefined();
    const readAt = vi.spyOn(fs, 'readAt');
    const readFile = vi.spyOn(fs, 'readFile');
    refs.forEach((ref, i) => expect(store.chunkData(file, ref)).toEqual(data[i]));
    expect(readAt.mock.calls).toEqual(refs.map((ref) => [file.path, ref.offset, CHUNK_HEADER_BYTES + ref.dataLength]));
    expect(readFile).not.toHaveBeenCalled();
  });

  it('serves chunks from the file image or the cache while the budget holds it, without reading', () => {
    const { fs, store, file, refs, data } = setup();
    expect(file.cached).toBeDefined();
    const readAt = vi.spyOn(fs, 'readAt');
    refs.forEach((ref, i) => expect(store.chunkData(file, ref)).toEqual(data[i]));
    const active = store.active as ChunkFile;
    const { summary, data: fresh } = chunk(158, 20);
    const ref = store.append(summary, fresh, T0, 1 << 20, 86_400_000);
    expect(ref.file).toBe(active.index);
    expect(store.chunkData(active, ref)).toEqual(fresh);
    expect(readAt).not.toHaveBeenCalled();
  });

  it('refuses a record that is damaged or not the chunk indexed there, and reports a file cut short', () => {
    const { fs, store, file, refs } = setup(0);
    const [first, second] = refs as [ChunkRef, ChunkRef];
    const bytes = fs.readFile(file.path);
    bytes[second.offset + CHUNK_HEADER_BYTES + 3]! ^= 0x10;
    fs.writeFileSync(file.path, bytes);
    expect(() => store.chunkData(file, second)).toThrow(FormatError);
    expect(() => store.chunkData(file, second)).toThrow(`chunk at ${second.offset} fails its CRC`);
    expect(() => store.chunkData(file, { ...first, firstSeq: 2 })).toThrow(
      `chunk at ${first.offset} is not the one the index holds there`,
    );
    fs.truncate(file.path, second.offset + 10);
    expect(store.chunkData(file, second)).toBeUndefined();
  });

  it('passes on the error of a failing read', () => {
    const { fs, store, file, refs } = setup(0);
    fs.failNext('read', 'EIO');
    expect(() => store.chunkData(file, refs[0] as ChunkRef)).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(store.chunkData(file, refs[0] as ChunkRef)).toBeDefined();
  });
});
