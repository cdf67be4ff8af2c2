/**
 * The file-system surface the store uses: append-only handles for the
 * write-ahead log and chunk files, whole-file reads and writes for
 * checkpoints, positional reads of one chunk, and the directory operations
 * that make a rename or a create durable. Every call is synchronous except {@link FileHandle.syncAsync}.
 * Errors carry the operating system's `code` (`ENOSPC`, `EIO`, `EACCES`,
 * `ENOENT`, `EEXIST`, ...).
 *
 * Two implementations: {@link NodeFileSystem} (real files through `node:fs`)
 * and {@link FaultyFileSystem} (in memory, with fault injection and power-loss
 * images for tests).
 */

/** A file opened for appending. */
export interface FileHandle {
  /** The path the file was opened with. */
  readonly path: string;
  /** Appends all of `data` at the end of the file (looping on short writes). Throws on error. */
  write(data: Uint8Array): void;
  /** Makes everything written so far durable (fdatasync). Throws on error. */
  sync(): void;
  /** {@link FileHandle.sync} on the thread pool: durable when the promise resolves. */
  syncAsync(): Promise<void>;
  /** The file's length in bytes as this handle sees it. */
  size(): number;
  /** Releases the handle. Idempotent. */
  close(): void;
}

/** The operations the store performs on files and directories. */
export interface FileSystem {
  /** Opens `path` for appending, creating it if missing. */
  openAppend(path: string): FileHandle;
  /** Creates `path` exclusively (O_EXCL), writes `data` and closes it; throws `EEXIST` if it exists (lock files). */
  createExclusive(path: string, data: Uint8Array): void;
  /** The whole content of `path`. */
  readFile(path: string): Uint8Array;
  /**
   * `length` bytes of `path` from byte `position` on (pread), fewer when the file ends first, none past its end.
   * Sees what a handle appended, synced or not. `position` and `length` are non-negative integers (EINVAL
   * otherwise).
   */
  readAt(path: string, position: number, length: number): Uint8Array;
  /** Creates or truncates `path`, writes `data`, fsyncs and closes it (for `.tmp` files renamed afterwards). */
  writeFileSync(path: string, data: Uint8Array): void;
  /** Names in `dir` (files and directories), sorted. */
  readdir(dir: string): string[];
  /** Creates `dir` and its missing parents. */
  mkdirp(dir: string): void;
  /** Renames a file, replacing `to` if it exists. Durable after {@link FileSystem.syncDir} of the directories. */
  rename(from: string, to: string): void;
  /** Removes a file. Durable after {@link FileSystem.syncDir} of its directory. */
  unlink(path: string): void;
  /** Cuts (or zero-extends) a file to `length` bytes. */
  truncate(path: string, length: number): void;
  /** Makes the creates, renames and unlinks in `dir` durable (fsync of the directory). */
  syncDir(dir: string): void;
  /** Whether a file or directory exists at `path`. Never throws. */
  exists(path: string): boolean;
  /** The length of the file at `path`. */
  size(path: string): number;
}
