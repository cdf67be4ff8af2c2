// How it works: an in-memory file system that remembers, besides what a reader
// sees now, what would still be on the disk if the power were cut now. The
// model follows the crash-consistency study of ALICE (OSDI 2014):
//
// - Files are inodes. Each keeps its live content (what reads return), its
//   durable content (what the last sync made durable) and the list of pending
//   operations since that sync: writes (offset + a copy of the bytes) and
//   truncates. `sync()` on a handle folds the pending operations into the
//   durable content; `syncAsync()` does the same for the operations issued
//   before the call, when its promise settles; `writeFileSync` syncs itself.
// - Directories keep their live entries (name -> inode), their durable
//   entries and the pending entry changes: a create, an unlink, a rename
//   within one directory (one atomic change of two names) or, across two
//   directories, one change in each. Only `syncDir(dir)` makes the pending
//   changes of that directory durable; syncing a file never does. A file whose
//   data was synced but whose create was not can therefore vanish.
// - Directories themselves (mkdirp) are durable at once, and a failed sync
//   leaves the operations pending (they may or may not survive a crash).
//
// A crash image starts from the durable state and applies some of the pending
// operations, all of them sorted by the order they were issued in:
// - 'prefix': the operations up to a random point, in order; the one at that
//   point, if it is a write, may be torn: kept up to a 512 B or 4 KiB boundary
//   of the file, the rest either missing or (the file length having reached
//   the disk before the data) read back as zeros.
// - 'subset': each directory change and truncate independently kept or lost,
//   and each write split at 512 B or 4 KiB file boundaries, each piece
//   independently kept, zero-filled or lost: any reordering a disk with a
//   volatile cache may produce.
// Synced data is in the durable state, so it survives every image.
//
// Faults: `failNext(op, code, count)` makes the next calls of an operation
// throw a FileSystemError with that code ('read' is readFile and readAt
// alike); `setFull(bytes)` caps the total
// length of the linked files, a write past it writes what fits and then throws
// ENOSPC, as a real short write followed by a failing one does.

import { posix } from 'node:path';
import type { Rng } from '../testing/rng.js';
import { FileSystemError, checkReadRange } from './errors.js';
import type { FileHandle, FileSystem } from './types.js';

/** The operations {@link FaultyFileSystem.failNext} can make fail. */
export type FaultOp =
  | 'open'
  | 'write'
  | 'sync'
  | 'syncDir'
  | 'close'
  | 'read'
  | 'readdir'
  | 'mkdir'
  | 'rename'
  | 'unlink'
  | 'truncate'
  | 'stat';

/** How a crash image picks the pending operations it applies; see {@link FaultyFileSystem.crashImage}. */
export type CrashMode = 'prefix' | 'subset';

/** Initial content of a {@link FaultyFileSystem}: files (with their parent directories) and directories, all durable. */
export interface FaultyFileSystemOptions {
  files?: Iterable<readonly [string, Uint8Array]>;
  dirs?: Iterable<string>;
}

/** A byte array that grows by doubling; growing zero-fills. */
class Bytes {
  buf: Uint8Array = new Uint8Array(0);
  length = 0;

  setLength(n: number): void {
    if (n > this.buf.length) {
      const next = new Uint8Array(Math.max(n, this.buf.length * 2, 64));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    } else if (n > this.length) {
      this.buf.fill(0, this.length, n);
    }
    this.length = n;
  }

  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (end > this.length) this.setLength(end);
    this.buf.set(data, offset);
  }

  copy(): Bytes {
    const c = new Bytes();
    c.write(0, this.buf.subarray(0, this.length));
    return c;
  }

  snapshot(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

interface Inode {
  readonly live: Bytes;
  readonly durable: Bytes;
  pending: FileOp[];
}

type FileOp =
  | {
      readonly seq: number;
      readonly kind: 'write';
      readonly inode: Inode;
      readonly offset: number;
      readonly data: Uint8Array;
    }
  | { readonly seq: number; readonly kind: 'truncate'; readonly inode: Inode; readonly length: number };

interface DirOp {
  readonly seq: number;
  readonly kind: 'dir';
  readonly dir: string;
  readonly sets: ReadonlyArray<readonly [string, Inode | undefined]>;
}

interface Dir {
  readonly live: Map<string, Inode>;
  durable: Map<string, Inode>;
  pending: DirOp[];
}

interface Fault {
  readonly op: FaultOp;
  readonly code: string;
  remaining: number;
  readonly match: ((path: string) => boolean) | undefined;
}

const SYSCALLS: Readonly<Record<FaultOp, string>> = Object.freeze({
  open: 'open',
  write: 'write',
  sync: 'fdatasync',
  syncDir: 'fsync',
  close: 'close',
  read: 'read',
  readdir: 'scandir',
  mkdir: 'mkdir',
  rename: 'rename',
  unlink: 'unlink',
  truncate: 'truncate',
  stat: 'stat',
});

const newInode = (): Inode => ({ live: new Bytes(), durable: new Bytes(), pending: [] });

const join = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

function applyFileOp(target: Bytes, op: FileOp): void {
  if (op.kind === 'write') target.write(op.offset, op.data);
  else target.setLength(op.length);
}

/**
 * An in-memory {@link FileSystem} that models durability and power loss, for
 * crash tests: what a sync made durable survives every crash image, anything
 * else may be torn, zero-filled or lost. See the model at the top of
 * `src/fs/faulty.ts`.
 *
 * @example
 * ```ts
 * const fs = new FaultyFileSystem();
 * fs.mkdirp('/db');
 * const h = fs.openAppend('/db/log');
 * h.write(a); h.sync(); fs.syncDir('/db');
 * h.write(b);                                    // not synced
 * const after = fs.crash(createRng(1), 'prefix'); // /db/log holds a, then maybe part of b
 *
 * fs.failNext('write', 'ENOSPC');                // the next write throws ENOSPC
 * ```
 */
export class FaultyFileSystem implements FileSystem {
  #dirs = new Map<string, Dir>();
  #seq = 0;
  #faults: Fault[] = [];
  #counts = new Map<FaultOp, number>();
  #limit: number | undefined;

  constructor(options: FaultyFileSystemOptions = {}) {
    this.#dirs.set('/', { live: new Map(), durable: new Map(), pending: [] });
    for (const dir of options.dirs ?? []) this.#mkdirs(posix.resolve('/', dir));
    for (const [path, data] of options.files ?? []) {
      const p = posix.resolve('/', path);
      this.#mkdirs(posix.dirname(p));
      const inode = newInode();
      inode.live.write(0, data);
      inode.durable.write(0, data);
      const dir = this.#dirs.get(posix.dirname(p));
      dir?.live.set(posix.basename(p), inode);
      dir?.durable.set(posix.basename(p), inode);
    }
  }

  // ---- fault injection and inspection ----

  /**
   * Makes the next `count` calls of `op` (on a path `match` accepts, if given)
   * throw a {@link FileSystemError} with `code`. A failed write writes nothing;
   * a failed sync leaves the data pending.
   */
  failNext(op: FaultOp, code: string, count = 1, match?: (path: string) => boolean): void {
    this.#faults.push({ op, code, remaining: count, match });
  }

  /** Drops every fault armed by {@link FaultyFileSystem.failNext}. */
  clearFaults(): void {
    this.#faults = [];
  }

  /** Caps the total length of all linked files (`undefined` removes the cap); a write past it throws ENOSPC. */
  setFull(totalBytes: number | undefined): void {
    this.#limit = totalBytes;
  }

  /** How many times `op` was called (failed calls included). */
  count(op: FaultOp): number {
    return this.#counts.get(op) ?? 0;
  }

  /** How many operations (file writes and truncates, directory changes) are not yet durable. */
  pendingOps(): number {
    let n = 0;
    for (const dir of this.#dirs.values()) {
      n += dir.pending.length;
      for (const inode of new Set(dir.live.values())) n += inode.pending.length;
    }
    return n;
  }

  /** The files as they would be if the power were cut now and no pending operation reached the disk. */
  snapshotDurable(): Map<string, Uint8Array> {
    return this.#image(undefined, 'prefix');
  }

  /**
   * The files after a power cut now: the durable state plus some of the
   * pending operations, chosen with `rng` as `mode` describes (see the model
   * at the top of `src/fs/faulty.ts`).
   */
  crashImage(rng: Rng, mode: CrashMode): Map<string, Uint8Array> {
    return this.#image(rng, mode);
  }

  /** A new file system holding {@link FaultyFileSystem.crashImage}, all of it durable, with no faults armed. */
  crash(rng: Rng, mode: CrashMode): FaultyFileSystem {
    return new FaultyFileSystem({ files: this.crashImage(rng, mode), dirs: [...this.#dirs.keys()] });
  }

  // ---- FileSystem ----

  openAppend(path: string): FileHandle {
    const p = posix.resolve('/', path);
    this.#check('open', p);
    const inode = this.#openOrCreate(p);
    let closed = false;
    const checkOpen = (op: FaultOp): void => {
      this.#check(op, p);
      if (closed) throw new FileSystemError('EBADF', SYSCALLS[op], p);
    };
    return {
      path,
      write: (data: Uint8Array): void => {
        checkOpen('write');
        this.#write(inode, inode.live.length, data, p);
      },
      sync: (): void => {
        checkOpen('sync');
        this.#makeDurable(inode, this.#seq);
      },
      syncAsync: async (): Promise<void> => {
        checkOpen('sync');
        const upTo = this.#seq;
        await Promise.resolve(); // settles later, as the thread pool would
        this.#makeDurable(inode, upTo);
      },
      size: (): number => inode.live.length,
      close: (): void => {
        if (closed) return;
        closed = true;
        this.#check('close', p);
      },
    };
  }

  createExclusive(path: string, data: Uint8Array): void {
    const p = posix.resolve('/', path);
    this.#check('open', p);
    const { dir, name } = this.#parent(p, 'open');
    if (dir.live.has(name) || this.#dirs.has(p)) throw new FileSystemError('EEXIST', 'open', p);
    const inode = this.#openOrCreate(p);
    this.#check('write', p);
    this.#write(inode, 0, data, p);
    this.#check('close', p);
  }

  readFile(path: string): Uint8Array {
    const p = posix.resolve('/', path);
    this.#check('read', p);
    return this.#file(p, 'open').live.snapshot();
  }

  readAt(path: string, position: number, length: number): Uint8Array {
    const p = posix.resolve('/', path);
    this.#check('read', p);
    checkReadRange(p, position, length);
    const live = this.#file(p, 'open').live;
    return live.buf.slice(Math.min(position, live.length), Math.min(position + length, live.length));
  }

  writeFileSync(path: string, data: Uint8Array): void {
    const p = posix.resolve('/', path);
    this.#check('open', p);
    const inode = this.#openOrCreate(p);
    if (inode.live.length > 0) this.#truncateInode(inode, 0);
    this.#check('write', p);
    this.#write(inode, 0, data, p);
    this.#check('sync', p);
    this.#makeDurable(inode, this.#seq);
    this.#check('close', p);
  }

  readdir(dir: string): string[] {
    const p = posix.resolve('/', dir);
    this.#check('readdir', p);
    const d = this.#dirs.get(p);
    if (!d) throw new FileSystemError(this.#fileAt(p) ? 'ENOTDIR' : 'ENOENT', 'scandir', p);
    const names = [...d.live.keys()];
    for (const other of this.#dirs.keys()) {
      if (other !== '/' && posix.dirname(other) === p) names.push(posix.basename(other));
    }
    return names.sort();
  }

  mkdirp(dir: string): void {
    const p = posix.resolve('/', dir);
    this.#check('mkdir', p);
    this.#mkdirs(p);
  }

  rename(from: string, to: string): void {
    const src = posix.resolve('/', from);
    const dst = posix.resolve('/', to);
    this.#check('rename', src);
    const inode = this.#file(src, 'rename');
    if (this.#dirs.has(dst)) throw new FileSystemError('EISDIR', 'rename', dst);
    const s = this.#parent(src, 'rename');
    const d = this.#parent(dst, 'rename');
    if (src === dst) return;
    d.dir.live.set(d.name, inode);
    s.dir.live.delete(s.name);
    if (s.path === d.path) {
      this.#dirOp(s.dir, s.path, [
        [d.name, inode],
        [s.name, undefined],
      ]);
    } else {
      this.#dirOp(d.dir, d.path, [[d.name, inode]]);
      this.#dirOp(s.dir, s.path, [[s.name, undefined]]);
    }
  }

  unlink(path: string): void {
    const p = posix.resolve('/', path);
    this.#check('unlink', p);
    if (this.#dirs.has(p)) throw new FileSystemError('EISDIR', 'unlink', p);
    this.#file(p, 'unlink');
    const { dir, name, path: dirPath } = this.#parent(p, 'unlink');
    dir.live.delete(name);
    this.#dirOp(dir, dirPath, [[name, undefined]]);
  }

  truncate(path: string, length: number): void {
    const p = posix.resolve('/', path);
    this.#check('truncate', p);
    if (!Number.isSafeInteger(length) || length < 0) throw new FileSystemError('EINVAL', 'truncate', p);
    this.#truncateInode(this.#file(p, 'open'), length);
  }

  syncDir(dir: string): void {
    const p = posix.resolve('/', dir);
    this.#check('syncDir', p);
    const d = this.#dirs.get(p);
    if (!d) throw new FileSystemError('ENOENT', 'open', p);
    for (const op of d.pending) {
      for (const [name, inode] of op.sets) {
        if (inode) d.durable.set(name, inode);
        else d.durable.delete(name);
      }
    }
    d.pending = [];
  }

  exists(path: string): boolean {
    const p = posix.resolve('/', path);
    return this.#dirs.has(p) || this.#fileAt(p) !== undefined;
  }

  size(path: string): number {
    const p = posix.resolve('/', path);
    this.#check('stat', p);
    if (this.#dirs.has(p)) return 0;
    return this.#file(p, 'stat').live.length;
  }

  // ---- internals ----

  #check(op: FaultOp, path: string): void {
    this.#counts.set(op, (this.#counts.get(op) ?? 0) + 1);
    const fault = this.#faults.find((f) => f.op === op && f.remaining > 0 && (f.match?.(path) ?? true));
    if (!fault) return;
    fault.remaining--;
    this.#faults = this.#faults.filter((f) => f.remaining > 0);
    throw new FileSystemError(fault.code, SYSCALLS[op], path);
  }

  #mkdirs(p: string): void {
    if (this.#dirs.has(p)) return;
    if (this.#fileAt(p)) throw new FileSystemError('EEXIST', 'mkdir', p);
    this.#mkdirs(posix.dirname(p));
    this.#dirs.set(p, { live: new Map(), durable: new Map(), pending: [] });
  }

  #fileAt(p: string): Inode | undefined {
    return this.#dirs.get(posix.dirname(p))?.live.get(posix.basename(p));
  }

  #parent(p: string, syscall: string): { dir: Dir; name: string; path: string } {
    const path = posix.dirname(p);
    const dir = this.#dirs.get(path);
    if (!dir) throw new FileSystemError('ENOENT', syscall, p);
    return { dir, name: posix.basename(p), path };
  }

  #file(p: string, syscall: string): Inode {
    if (this.#dirs.has(p)) throw new FileSystemError('EISDIR', syscall, p);
    const inode = this.#fileAt(p);
    if (!inode) throw new FileSystemError('ENOENT', syscall, p);
    return inode;
  }

  #openOrCreate(p: string): Inode {
    if (this.#dirs.has(p)) throw new FileSystemError('EISDIR', 'open', p);
    const { dir, name, path } = this.#parent(p, 'open');
    const existing = dir.live.get(name);
    if (existing) return existing;
    const inode = newInode();
    dir.live.set(name, inode);
    this.#dirOp(dir, path, [[name, inode]]);
    return inode;
  }

  #dirOp(dir: Dir, path: string, sets: ReadonlyArray<readonly [string, Inode | undefined]>): void {
    dir.pending.push({ seq: ++this.#seq, kind: 'dir', dir: path, sets });
  }

  #write(inode: Inode, offset: number, data: Uint8Array, p: string): void {
    let part = data;
    if (this.#limit !== undefined) {
      const growth = Math.max(0, offset + data.length - inode.live.length);
      const room = Math.max(0, this.#limit - this.#usedBytes());
      if (growth > room) part = data.subarray(0, Math.max(0, inode.live.length + room - offset));
    }
    if (part.length > 0) {
      const op: FileOp = { seq: ++this.#seq, kind: 'write', inode, offset, data: part.slice() };
      inode.pending.push(op);
      applyFileOp(inode.live, op);
    }
    if (part.length < data.length) throw new FileSystemError('ENOSPC', 'write', p);
  }

  #truncateInode(inode: Inode, length: number): void {
    const op: FileOp = { seq: ++this.#seq, kind: 'truncate', inode, length };
    inode.pending.push(op);
    applyFileOp(inode.live, op);
  }

  #usedBytes(): number {
    const seen = new Set<Inode>();
    let used = 0;
    for (const dir of this.#dirs.values()) {
      for (const inode of dir.live.values()) {
        if (seen.has(inode)) continue;
        seen.add(inode);
        used += inode.live.length;
      }
    }
    return used;
  }

  #makeDurable(inode: Inode, upTo: number): void {
    let n = 0;
    while (n < inode.pending.length && (inode.pending[n]?.seq ?? Infinity) <= upTo) {
      applyFileOp(inode.durable, inode.pending[n] as FileOp);
      n++;
    }
    if (n > 0) inode.pending = inode.pending.slice(n);
  }

  #image(rng: Rng | undefined, mode: CrashMode): Map<string, Uint8Array> {
    const entries = new Map<string, Map<string, Inode>>();
    for (const [path, dir] of this.#dirs) entries.set(path, new Map(dir.durable));
    const contents = new Map<Inode, Bytes>();
    const content = (inode: Inode): Bytes => {
      let c = contents.get(inode);
      if (!c) {
        c = inode.durable.copy();
        contents.set(inode, c);
      }
      return c;
    };

    if (rng) {
      const inodes = new Set<Inode>();
      const ops: (FileOp | DirOp)[] = [];
      for (const dir of this.#dirs.values()) {
        for (const inode of dir.durable.values()) inodes.add(inode);
        for (const op of dir.pending) {
          ops.push(op);
          for (const [, inode] of op.sets) if (inode) inodes.add(inode);
        }
      }
      for (const inode of inodes) ops.push(...inode.pending);
      ops.sort((a, b) => a.seq - b.seq);

      const applyDir = (op: DirOp): void => {
        const map = entries.get(op.dir);
        for (const [name, inode] of op.sets) {
          if (inode) map?.set(name, inode);
          else map?.delete(name);
        }
      };

      if (mode === 'prefix') {
        const k = rng(ops.length + 1);
        for (let i = 0; i < k; i++) {
          const op = ops[i] as FileOp | DirOp;
          if (op.kind === 'dir') applyDir(op);
          else applyFileOp(content(op.inode), op);
        }
        const edge = ops[k];
        if (edge?.kind === 'write' && rng(2) === 0) {
          const page = rng(2) === 0 ? 512 : 4096;
          const end = edge.offset + edge.data.length;
          const first = (Math.floor(edge.offset / page) + 1) * page; // first boundary after the start
          const boundaries = first < end ? Math.ceil((end - first) / page) : 0;
          const pick = rng(boundaries + 1);
          const cut = pick === 0 ? edge.offset : first + (pick - 1) * page;
          const target = content(edge.inode);
          target.write(edge.offset, edge.data.subarray(0, cut - edge.offset));
          if (rng(2) === 0 && target.length < end) target.setLength(end); // the length reached the disk, the data did not
        }
      } else {
        const page = rng(2) === 0 ? 512 : 4096;
        for (const op of ops) {
          if (op.kind === 'dir') {
            if (rng(2) === 0) applyDir(op);
          } else if (op.kind === 'truncate') {
            if (rng(2) === 0) applyFileOp(content(op.inode), op);
          } else {
            const target = content(op.inode);
            const end = op.offset + op.data.length;
            let from = op.offset;
            while (from < end) {
              const to = Math.min(end, (Math.floor(from / page) + 1) * page);
              const fate = rng(4);
              if (fate < 2) target.write(from, op.data.subarray(from - op.offset, to - op.offset));
              else if (fate === 2 && target.length < to) target.setLength(to);
              from = to;
            }
          }
        }
      }
    }

    const image = new Map<string, Uint8Array>();
    for (const [dirPath, map] of entries) {
      for (const [name, inode] of map) image.set(join(dirPath, name), content(inode).snapshot());
    }
    return image;
  }
}
