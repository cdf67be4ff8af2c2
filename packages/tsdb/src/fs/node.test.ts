import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFileSystemContract } from '../testing/fs-contract.js';
import { NodeFileSystem } from './node.js';

const tempDir = (): string => nodeFs.mkdtempSync(path.join(os.tmpdir(), 'tsdb-fs-'));

describeFileSystemContract('NodeFileSystem', () => {
  const dir = tempDir();
  return { fs: new NodeFileSystem(), dir, done: () => nodeFs.rmSync(dir, { recursive: true, force: true }) };
});

describe('NodeFileSystem', () => {
  it("throws Node's own errors with their code and syscall", () => {
    const dir = tempDir();
    try {
      const fs = new NodeFileSystem();
      let caught: unknown;
      try {
        fs.readFile(path.join(dir, 'missing'));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(Error);
      expect(caught).toMatchObject({ code: 'ENOENT', syscall: 'open' });
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes through to the real file, visible to node:fs at once', () => {
    const dir = tempDir();
    try {
      const fs = new NodeFileSystem();
      const h = fs.openAppend(path.join(dir, 'log'));
      h.write(new Uint8Array([1, 2, 3]));
      expect([...nodeFs.readFileSync(path.join(dir, 'log'))]).toEqual([1, 2, 3]);
      h.close();
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the descriptor open until an asynchronous sync in flight settles, even when closed meanwhile', async () => {
    const dir = tempDir();
    try {
      const fs = new NodeFileSystem();
      const h = fs.openAppend(path.join(dir, 'log'));
      h.write(new Uint8Array(4096));
      const pending = h.syncAsync();
      h.close();
      await expect(pending).resolves.toBeUndefined();
      expect(() => h.write(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'EBADF' }));
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('syncs a directory', () => {
    const dir = tempDir();
    try {
      const fs = new NodeFileSystem();
      fs.writeFileSync(path.join(dir, 'a.tmp'), new Uint8Array([7]));
      fs.rename(path.join(dir, 'a.tmp'), path.join(dir, 'a'));
      expect(() => fs.syncDir(dir)).not.toThrow();
      expect(nodeFs.readdirSync(dir)).toEqual(['a']);
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
