import { describe, expect, it } from 'vitest';
import { describeFileSystemContract } from '../testing/fs-contract.js';
import { createRng } from '../testing/rng.js';
import { errnoCode } from './errors.js';
import { FaultyFileSystem, type CrashMode } from './faulty.js';

describeFileSystemContract('FaultyFileSystem', () => {
  const fs = new FaultyFileSystem();
  fs.mkdirp('/data');
  return { fs, dir: '/data', done: () => undefined };
});

const MODES: CrashMode[] = ['prefix', 'subset'];
const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

/** Bytes 1..255 repeating from `start`, never zero, so a zero in an image always means "not written". */
const pattern = (length: number, start = 0): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => ((start + i) % 255) + 1);

/** Byte equality without vitest's element-by-element diffing (fast on large arrays). */
const same = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  a !== undefined &&
  Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

const images = (fs: FaultyFileSystem, mode: CrashMode): Map<string, Uint8Array>[] =>
  SEEDS.map((seed) => fs.crashImage(createRng(seed), mode));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return errnoCode(error);
  }
  return undefined;
}

function setup(): FaultyFileSystem {
  const fs = new FaultyFileSystem();
  fs.mkdirp('/db');
  return fs;
}

describe('FaultyFileSystem durability model', () => {
  it.each(MODES)('keeps synced data in every %s crash image', (mode) => {
    const fs = setup();
    const synced = pattern(10_000);
    const h = fs.openAppend('/db/log');
    h.write(synced.subarray(0, 3000));
    h.write(synced.subarray(3000));
    h.sync();
    fs.syncDir('/db');
    h.write(pattern(9000, 7));
    fs.truncate('/db/log', 12_000);
    for (const image of images(fs, mode)) {
      const data = image.get('/db/log');
      expect(same(data?.subarray(0, synced.length), synced)).toBe(true);
    }
  });

  it('orders writes: an image holds the synced bytes, then a prefix of the later write, torn at 512 B or 4 KiB', () => {
    const fs = setup();
    const first = pattern(1000);
    const later = pattern(20_000, 3);
    const h = fs.openAppend('/db/log');
    h.write(first);
    h.sync();
    fs.syncDir('/db');
    h.write(later);
    const cuts = new Set<number>();
    let zeroTails = 0;
    for (const image of images(fs, 'prefix')) {
      const data = image.get('/db/log') as Uint8Array;
      expect(same(data.subarray(0, first.length), first)).toBe(true);
      const tail = data.subarray(first.length);
      expect(tail.length === 0 || tail.length <= later.length).toBe(true);
      let cut = 0;
      while (cut < tail.length && tail[cut] === later[cut]) cut++;
      expect(tail.subarray(cut).every((b) => b === 0)).toBe(true);
      const fileOffset = first.length + cut;
      expect(cut === 0 || cut === later.length || fileOffset % 512 === 0).toBe(true);
      if (cut < tail.length) zeroTails++;
      cuts.add(cut);
    }
    expect(cuts.has(0)).toBe(true);
    expect(cuts.has(later.length)).toBe(true);
    expect([...cuts].some((c) => c > 0 && c < later.length && (first.length + c) % 4096 === 0)).toBe(true);
    expect([...cuts].some((c) => c > 0 && c < later.length && (first.length + c) % 4096 !== 0)).toBe(true);
    expect(zeroTails).toBeGreaterThan(0);
  });

  it('in subset mode may keep a later page of a write and lose an earlier one, leaving zeros', () => {
    const fs = setup();
    const h = fs.openAppend('/db/log');
    h.sync();
    fs.syncDir('/db');
    const data = pattern(16 * 4096);
    h.write(data);
    let holes = 0;
    for (const image of images(fs, 'subset')) {
      const got = image.get('/db/log') as Uint8Array;
      expect(got.every((b, i) => b === 0 || b === data[i])).toBe(true);
      const firstZero = got.indexOf(0);
      if (firstZero >= 0 && got.subarray(firstZero).some((b) => b !== 0)) holes++;
    }
    expect(holes).toBeGreaterThan(0);
  });

  it('may lose a create that was not dir-synced, even with its data synced, and never loses a dir-synced one', () => {
    const fs = setup();
    const a = fs.openAppend('/db/a');
    a.write(pattern(10));
    a.sync();
    const b = fs.openAppend('/db/b');
    b.write(pattern(10));
    b.sync();
    fs.syncDir('/db');
    const c = fs.openAppend('/db/c');
    c.write(pattern(10));
    c.sync();
    for (const mode of MODES) {
      const all = images(fs, mode);
      for (const image of all) {
        expect(image.get('/db/a')).toEqual(pattern(10));
        expect(image.get('/db/b')).toEqual(pattern(10));
      }
      expect(all.some((image) => !image.has('/db/c'))).toBe(true);
      expect(all.some((image) => image.get('/db/c')?.length === 10)).toBe(true);
    }
    expect(fs.snapshotDurable().has('/db/c')).toBe(false);
  });

  it('may lose a rename that was not dir-synced, never a synced one, and never shows both names or neither', () => {
    const fs = setup();
    fs.writeFileSync('/db/checkpoint.tmp', pattern(100));
    fs.syncDir('/db');
    fs.rename('/db/checkpoint.tmp', '/db/checkpoint.1');
    for (const mode of MODES) {
      const all = images(fs, mode);
      for (const image of all)
        expect(Number(image.has('/db/checkpoint.tmp')) + Number(image.has('/db/checkpoint.1'))).toBe(1);
      expect(all.some((image) => image.has('/db/checkpoint.tmp'))).toBe(true);
      expect(all.some((image) => image.get('/db/checkpoint.1')?.length === 100)).toBe(true);
    }
    fs.syncDir('/db');
    for (const mode of MODES) {
      for (const image of images(fs, mode)) {
        expect(image.has('/db/checkpoint.tmp')).toBe(false);
        expect(image.get('/db/checkpoint.1')).toEqual(pattern(100));
      }
    }
  });

  it('makes a rename across directories durable per directory', () => {
    const fs = setup();
    fs.mkdirp('/other');
    fs.writeFileSync('/db/f', pattern(5));
    fs.syncDir('/db');
    fs.rename('/db/f', '/other/f');
    fs.syncDir('/other');
    const durable = fs.snapshotDurable();
    expect(durable.get('/other/f')).toEqual(pattern(5));
    expect(durable.get('/db/f')).toEqual(pattern(5));
    fs.syncDir('/db');
    expect([...fs.snapshotDurable().keys()]).toEqual(['/other/f']);
  });

  it('may resurrect an unlinked file until the directory is synced', () => {
    const fs = setup();
    fs.writeFileSync('/db/old', pattern(3));
    fs.syncDir('/db');
    fs.unlink('/db/old');
    expect(fs.exists('/db/old')).toBe(false);
    expect(images(fs, 'subset').some((image) => image.has('/db/old'))).toBe(true);
    fs.syncDir('/db');
    for (const mode of MODES) for (const image of images(fs, mode)) expect(image.has('/db/old')).toBe(false);
  });

  it('may lose an unsynced truncate, exposing the old bytes again', () => {
    const fs = setup();
    fs.writeFileSync('/db/f', pattern(100));
    fs.syncDir('/db');
    fs.truncate('/db/f', 10);
    const lengths = new Set(images(fs, 'prefix').map((image) => image.get('/db/f')?.length));
    expect(lengths).toEqual(new Set([10, 100]));
  });

  it('snapshotDurable holds exactly the synced state', () => {
    const fs = setup();
    const h = fs.openAppend('/db/log');
    h.write(pattern(50));
    h.sync();
    fs.syncDir('/db');
    h.write(pattern(50, 50));
    fs.writeFileSync('/db/tmp', pattern(7));
    expect(fs.snapshotDurable()).toEqual(new Map([['/db/log', pattern(50)]]));
    expect(fs.readFile('/db/log').length).toBe(100);
  });

  it('builds a crashed file system whose whole content is durable', () => {
    const fs = setup();
    fs.mkdirp('/db/empty');
    const h = fs.openAppend('/db/log');
    h.write(pattern(5000));
    h.sync();
    fs.syncDir('/db');
    h.write(pattern(5000, 1));
    const rng = createRng(11);
    const after = fs.crash(rng, 'prefix');
    expect(after.readdir('/db')).toContain('empty');
    expect(after.snapshotDurable()).toEqual(after.crashImage(createRng(5), 'subset'));
    expect(after.pendingOps()).toBe(0);
    expect(after.readFile('/db/log').subarray(0, 5000)).toEqual(pattern(5000));
  });

  it('makes data durable when syncAsync settles, covering only writes issued before the call', async () => {
    const fs = setup();
    const h = fs.openAppend('/db/log');
    fs.syncDir('/db');
    h.write(pattern(10));
    const pending = h.syncAsync();
    h.write(pattern(10, 10));
    expect(fs.snapshotDurable().get('/db/log')?.length).toBe(0);
    await pending;
    expect(fs.snapshotDurable().get('/db/log')).toEqual(pattern(10));
  });
});

describe('FaultyFileSystem fault injection', () => {
  it('fails the next write with the given code, writing nothing, then works again', () => {
    const fs = setup();
    const h = fs.openAppend('/db/log');
    fs.failNext('write', 'ENOSPC');
    expect(codeOf(() => h.write(pattern(10)))).toBe('ENOSPC');
    expect(h.size()).toBe(0);
    h.write(pattern(10));
    expect(h.size()).toBe(10);
    expect(fs.count('write')).toBe(2);
  });

  it('fails as many calls as asked, only on matching paths', () => {
    const fs = setup();
    const wal = fs.openAppend('/db/wal');
    const other = fs.openAppend('/db/other');
    fs.failNext('sync', 'EIO', 2, (p) => p.endsWith('/wal'));
    other.sync();
    expect(codeOf(() => wal.sync())).toBe('EIO');
    expect(codeOf(() => wal.sync())).toBe('EIO');
    expect(() => wal.sync()).not.toThrow();
  });

  it('rejects syncAsync with the armed code and leaves the data pending after a failed sync', async () => {
    const fs = setup();
    fs.syncDir('/db');
    const h = fs.openAppend('/db/log');
    fs.syncDir('/db');
    h.write(pattern(10));
    fs.failNext('sync', 'EIO');
    await expect(h.syncAsync()).rejects.toMatchObject({ code: 'EIO', syscall: 'fdatasync', path: '/db/log' });
    expect(fs.snapshotDurable().get('/db/log')?.length).toBe(0);
  });

  it('writes what fits and then throws ENOSPC when the disk is full', () => {
    const fs = setup();
    fs.writeFileSync('/db/a', pattern(600));
    fs.setFull(1000);
    const h = fs.openAppend('/db/log');
    h.write(pattern(300));
    expect(codeOf(() => h.write(pattern(300)))).toBe('ENOSPC');
    expect(h.size()).toBe(400);
    expect(codeOf(() => h.write(pattern(1)))).toBe('ENOSPC');
    fs.unlink('/db/a');
    h.write(pattern(300));
    fs.setFull(undefined);
    h.write(pattern(10_000));
    expect(h.size()).toBe(10_700);
  });

  it('fails directory operations too', () => {
    const fs = setup();
    fs.writeFileSync('/db/a', pattern(1));
    fs.failNext('rename', 'EACCES');
    fs.failNext('syncDir', 'EIO');
    fs.failNext('open', 'EMFILE');
    expect(codeOf(() => fs.rename('/db/a', '/db/b'))).toBe('EACCES');
    expect(fs.exists('/db/a')).toBe(true);
    expect(codeOf(() => fs.syncDir('/db'))).toBe('EIO');
    expect(codeOf(() => fs.openAppend('/db/a'))).toBe('EMFILE');
    fs.failNext('read', 'EIO');
    fs.clearFaults();
    expect(fs.readFile('/db/a')).toEqual(pattern(1));
  });

  it('fails positional reads as it fails whole-file reads, by path when asked', () => {
    const fs = setup();
    fs.writeFileSync('/db/a', pattern(100));
    fs.writeFileSync('/db/b', pattern(100));
    fs.failNext('read', 'EIO', 2, (path) => path === '/db/b');
    expect(fs.readAt('/db/a', 10, 5)).toEqual(pattern(100).subarray(10, 15));
    expect(codeOf(() => fs.readAt('/db/b', 10, 5))).toBe('EIO');
    expect(codeOf(() => fs.readFile('/db/b'))).toBe('EIO');
    expect(fs.readAt('/db/b', 95, 10)).toEqual(pattern(100).subarray(95));
    expect(fs.count('read')).toBe(4);
  });
});
