/**
 * Test helper: the behaviour every {@link FileSystem} must share, run by the
 * tests of each implementation against a fresh, empty directory.
 */
import { describe, expect, it } from 'vitest';
import { errnoCode } from '../fs/errors.js';
import type { FileSystem } from '../fs/types.js';

/** A file system and an empty directory in it; `done` removes what the test left behind. */
export interface FileSystemFixture {
  fs: FileSystem;
  dir: string;
  done(): void;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return errnoCode(error);
  }
  return undefined;
}

/** Declares the shared file-system tests; `setup` is called once per test. */
export function describeFileSystemContract(name: string, setup: () => FileSystemFixture): void {
  const withFs = (fn: (fs: FileSystem, dir: string) => void | Promise<void>) => async (): Promise<void> => {
    const fixture = setup();
    try {
      await fn(fixture.fs, fixture.dir);
    } finally {
      fixture.done();
    }
  };

  describe(`${name} (FileSystem contract)`, () => {
    it(
      'appends every write at the end and reports the size',
      withFs((fs, dir) => {
        const h = fs.openAppend(`${dir}/log`);
        h.write(bytes('abc'));
        h.write(bytes('defg'));
        h.write(new Uint8Array(0));
        expect(h.size()).toBe(7);
        h.sync();
        h.close();
        h.close();
        expect(text(fs.readFile(`${dir}/log`))).toBe('abcdefg');
        expect(fs.size(`${dir}/log`)).toBe(7);
      }),
    );

    it(
      'continues an existing file when opened again',
      withFs(async (fs, dir) => {
        const a = fs.openAppend(`${dir}/log`);
        a.write(bytes('one'));
        await a.syncAsync();
        a.close();
        const b = fs.openAppend(`${dir}/log`);
        expect(b.size()).toBe(3);
        b.write(bytes('two'));
        b.close();
        expect(text(fs.readFile(`${dir}/log`))).toBe('onetwo');
      }),
    );

    it(
      'refuses to write through a closed handle with EBADF',
      withFs(async (fs, dir) => {
        const h = fs.openAppend(`${dir}/log`);
        h.close();
        expect(codeOf(() => h.write(bytes('x')))).toBe('EBADF');
        expect(codeOf(() => h.sync())).toBe('EBADF');
        await expect(h.syncAsync()).rejects.toMatchObject({ code: 'EBADF' });
      }),
    );

    it(
      'creates a file exclusively and refuses a second time with EEXIST',
      withFs((fs, dir) => {
        fs.createExclusive(`${dir}/LOCK`, bytes('123'));
        expect(text(fs.readFile(`${dir}/LOCK`))).toBe('123');
        expect(codeOf(() => fs.createExclusive(`${dir}/LOCK`, bytes('456')))).toBe('EEXIST');
        expect(text(fs.readFile(`${dir}/LOCK`))).toBe('123');
      }),
    );

    it(
      'replaces a whole file with writeFileSync',
      withFs((fs, dir) => {
        fs.writeFileSync(`${dir}/f`, bytes('a long first version'));
        fs.writeFileSync(`${dir}/f`, bytes('short'));
        expect(text(fs.readFile(`${dir}/f`))).toBe('short');
      }),
    );

    it(
      'lists a directory sorted, files and subdirectories alike',
      withFs((fs, dir) => {
        fs.mkdirp(`${dir}/b/deeper/still`);
        fs.mkdirp(`${dir}/b`);
        fs.writeFileSync(`${dir}/c`, bytes(''));
        fs.writeFileSync(`${dir}/a`, bytes(''));
        expect(fs.readdir(dir)).toEqual(['a', 'b', 'c']);
        expect(fs.readdir(`${dir}/b`)).toEqual(['deeper']);
        expect(fs.exists(`${dir}/b/deeper/still`)).toBe(true);
      }),
    );

    it(
      'renames a file over an existing one',
      withFs((fs, dir) => {
        fs.writeFileSync(`${dir}/new.tmp`, bytes('new'));
        fs.writeFileSync(`${dir}/current`, bytes('old'));
        fs.rename(`${dir}/new.tmp`, `${dir}/current`);
        fs.syncDir(dir);
        expect(fs.exists(`${dir}/new.tmp`)).toBe(false);
        expect(text(fs.readFile(`${dir}/current`))).toBe('new');
      }),
    );

    it(
      'unlinks a file',
      withFs((fs, dir) => {
        fs.writeFileSync(`${dir}/f`, bytes('x'));
        fs.unlink(`${dir}/f`);
        expect(fs.exists(`${dir}/f`)).toBe(false);
        expect(fs.readdir(dir)).toEqual([]);
      }),
    );

    it(
      'truncates a file shorter, and longer with zeros',
      withFs((fs, dir) => {
        fs.writeFileSync(`${dir}/f`, bytes('abcdef'));
        fs.truncate(`${dir}/f`, 2);
        expect(text(fs.readFile(`${dir}/f`))).toBe('ab');
        fs.truncate(`${dir}/f`, 4);
        expect([...fs.readFile(`${dir}/f`)]).toEqual([97, 98, 0, 0]);
        const h = fs.openAppend(`${dir}/f`);
        h.write(bytes('z'));
        h.close();
        expect([...fs.readFile(`${dir}/f`)]).toEqual([97, 98, 0, 0, 122]);
      }),
    );

    it(
      'reads a range at a position, short where the file ends and empty past it',
      withFs((fs, dir) => {
        fs.writeFileSync(`${dir}/f`, bytes('abcdefgh'));
        expect(text(fs.readAt(`${dir}/f`, 2, 3))).toBe('cde');
        expect(text(fs.readAt(`${dir}/f`, 0, 8))).toBe('abcdefgh');
        expect(text(fs.readAt(`${dir}/f`, 6, 10))).toBe('gh');
        expect(fs.readAt(`${dir}/f`, 8, 4)).toEqual(new Uint8Array(0));
        expect(fs.readAt(`${dir}/f`, 100, 4)).toEqual(new Uint8Array(0));
        expect(fs.readAt(`${dir}/f`, 3, 0)).toEqual(new Uint8Array(0));
      }),
    );

    it(
      'reads at a position what an open append handle wrote, and returns a copy',
      withFs((fs, dir) => {
        const h = fs.openAppend(`${dir}/log`);
        h.write(bytes('head'));
        h.write(bytes('tail'));
        const got = fs.readAt(`${dir}/log`, 4, 4);
        expect(text(got)).toBe('tail');
        got.fill(0);
        h.close();
        expect(text(fs.readAt(`${dir}/log`, 0, 8))).toBe('headtail');
      }),
    );

    it(
      'refuses a negative or fractional position or length with EINVAL',
      withFs((fs, dir) => {
        fs.writeFileSync(`${dir}/f`, bytes('abc'));
        expect(codeOf(() => fs.readAt(`${dir}/f`, -1, 1))).toBe('EINVAL');
        expect(codeOf(() => fs.readAt(`${dir}/f`, 0, -1))).toBe('EINVAL');
        expect(codeOf(() => fs.readAt(`${dir}/f`, 0.5, 1))).toBe('EINVAL');
        expect(codeOf(() => fs.readAt(`${dir}/f`, 0, Number.NaN))).toBe('EINVAL');
      }),
    );

    it(
      'reports a missing file with ENOENT',
      withFs((fs, dir) => {
        expect(fs.exists(`${dir}/missing`)).toBe(false);
        expect(codeOf(() => fs.readFile(`${dir}/missing`))).toBe('ENOENT');
        expect(codeOf(() => fs.readAt(`${dir}/missing`, 0, 1))).toBe('ENOENT');
        expect(codeOf(() => fs.size(`${dir}/missing`))).toBe('ENOENT');
        expect(codeOf(() => fs.unlink(`${dir}/missing`))).toBe('ENOENT');
        expect(codeOf(() => fs.rename(`${dir}/missing`, `${dir}/other`))).toBe('ENOENT');
        expect(codeOf(() => fs.truncate(`${dir}/missing`, 0))).toBe('ENOENT');
        expect(codeOf(() => fs.readdir(`${dir}/missing`))).toBe('ENOENT');
        expect(codeOf(() => fs.openAppend(`${dir}/missing/log`))).toBe('ENOENT');
        expect(codeOf(() => fs.syncDir(`${dir}/missing`))).toBe('ENOENT');
      }),
    );

    it(
      'refuses to open a directory as a file with EISDIR',
      withFs((fs, dir) => {
        fs.mkdirp(`${dir}/sub`);
        expect(codeOf(() => fs.openAppend(`${dir}/sub`))).toBe('EISDIR');
        expect(codeOf(() => fs.readFile(`${dir}/sub`))).toBe('EISDIR');
        expect(codeOf(() => fs.readAt(`${dir}/sub`, 0, 1))).toBe('EISDIR');
      }),
    );
  });
}
