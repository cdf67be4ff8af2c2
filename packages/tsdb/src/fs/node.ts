// How it works: thin synchronous wrappers over node:fs. A handle opens its file
// with O_APPEND ('a'), so every write lands at the end whatever else holds the
// file open; a short write is continued from where it stopped. The handle
// tracks the file length it has seen (fstat at open, plus what it wrote) so
// `size()` costs no system call. An asynchronous fdatasync in flight keeps the
// descriptor open until it settles, even if `close()` is called meanwhile, so
// the number can never be reused under it. Errors are Node's own, `code` intact;
// only a call on a closed handle throws a FileSystemError (EBADF) of its own.

import * as fs from 'node:fs';
import { FileSystemError, checkReadRange } from './errors.js';
import type { FileHandle, FileSystem } from './types.js';

class NodeFileHandle implements FileHandle {
  readonly path: string;
  #fd: number;
  #size: number;
  #closed = false;
  #inFlight = 0;

  constructor(path: string) {
    this.path = path;
    this.#fd = fs.openSync(path, 'a');
    try {
      this.#size = fs.fstatSync(this.#fd).size;
    } catch (error) {
      fs.closeSync(this.#fd);
      throw error;
    }
  }

  write(data: Uint8Array): void {
    this.#checkOpen('write');
    let done = 0;
    try {
      while (done < data.length) done += fs.writeSync(this.#fd, data, done, data.length - done);
    } finally {
      this.#size += done;
    }
  }

  sync(): void {
    this.#checkOpen('fdatasync');
    fs.fdatasyncSync(this.#fd);
  }

  syncAsync(): Promise<void> {
    if (this.#closed) return Promise.reject(new FileSystemError('EBADF', 'fdatasync', this.path));
    this.#inFlight++;
    return new Promise<void>((resolve, reject) => {
      fs.fdatasync(this.#fd, (error) => {
        this.#inFlight--;
        if (this.#closed && this.#inFlight === 0) this.#release();
        if (error) reject(error);
        else resolve();
      });
    });
  }

  size(): number {
    return this.#size;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#inFlight === 0) this.#release();
  }

  #release(): void {
    const fd = this.#fd;
    this.#fd = -1;
    if (fd >= 0) fs.closeSync(fd);
  }

  #checkOpen(syscall: string): void {
    if (this.#closed) {
      throw new FileSystemError('EBADF', syscall, this.path);
    }
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
}

/**
 * {@link FileSystem} on real files through synchronous `node:fs` calls.
 * `sync()` is fdatasync; `syncDir()` opens the directory read-only and fsyncs
 * it, which makes creates, renames and unlinks in it durable on Linux.
 *
 * @example
 * ```ts
 * const fs = new NodeFileSystem();
 * fs.mkdirp('/var/lib/opc/wal');
 * const log = fs.openAppend('/var/lib/opc/wal/00000001');
 * log.write(bytes);
 * log.sync();
 * ```
 */
export class NodeFileSystem implements FileSystem {
  openAppend(path: string): FileHandle {
    return new NodeFileHandle(path);
  }

  createExclusive(path: string, data: Uint8Array): void {
    const fd = fs.openSync(path, 'wx');
    try {
      writeAll(fd, data);
    } finally {
      fs.closeSync(fd);
    }
  }

  readFile(path: string): Uint8Array {
    const buffer = fs.readFileSync(path);
    // a plain Uint8Array view: Buffer's slice() would share memory where Uint8Array's copies
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
  }

  readAt(path: string, position: number, length: number): Uint8Array {
    checkReadRange(path, position, length);
    const out = new Uint8Array(length);
    const fd = fs.openSync(path, 'r');
    try {
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, out, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
      return done === length ? out : out.subarray(0, done);
    } finally {
      fs.closeSync(fd);
    }
  }

  writeFileSync(path: string, data: Uint8Array): void {
    const fd = fs.openSync(path, 'w');
    try {
      writeAll(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  readdir(dir: string): string[] {
    return fs.readdirSync(dir).sort();
  }

  mkdirp(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
  }

  rename(from: string, to: string): void {
    fs.renameSync(from, to);
  }

  unlink(path: string): void {
    fs.unlinkSync(path);
  }

  truncate(path: string, length: number): void {
    fs.truncateSync(path, length);
  }

  syncDir(dir: string): void {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  exists(path: string): boolean {
    return fs.existsSync(path);
  }

  size(path: string): number {
    return fs.statSync(path).size;
  }
}
