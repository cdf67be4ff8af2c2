const DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  EACCES: 'permission denied',
  EBADF: 'bad file descriptor',
  EEXIST: 'file already exists',
  EINVAL: 'invalid argument',
  EIO: 'i/o error',
  EISDIR: 'illegal operation on a directory',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on device',
  ENOTDIR: 'not a directory',
  ENOTEMPTY: 'directory not empty',
  EROFS: 'read-only file system',
});

/**
 * A file-system failure in the shape of Node's own errors: `code` is the
 * errno name (`ENOSPC`, `EIO`, ...), `syscall` the operation, `path` the file.
 * {@link NodeFileSystem} throws Node's errors unchanged; this class is for
 * file systems that are not backed by the operating system.
 *
 * @example
 * ```ts
 * throw new FileSystemError('ENOSPC', 'write', '/data/wal/00000001');
 * // ENOSPC: no space left on device, write '/data/wal/00000001'
 * ```
 */
export class FileSystemError extends Error {
  override readonly name = 'FileSystemError';
  readonly code: string;
  readonly syscall: string;
  readonly path: string;

  constructor(code: string, syscall: string, path: string, options?: { cause?: unknown }) {
    super(`${code}: ${DESCRIPTIONS[code] ?? 'operation failed'}, ${syscall} '${path}'`, options);
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}

/**
 * The errno `code` of a file-system error (`'ENOSPC'`, ...), or `undefined`
 * when `error` has none.
 *
 * @example
 * ```ts
 * try { fs.openAppend(path); } catch (error) { if (errnoCode(error) === 'EACCES') ... }
 * ```
 */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error;
  return typeof code === 'string' ? code : undefined;
}

/** Throws EINVAL unless `position` and `length` are non-negative safe integers (the arguments of a readAt). */
export function checkReadRange(path: string, position: number, length: number): void {
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new FileSystemError('EINVAL', 'read', path);
  }
}
