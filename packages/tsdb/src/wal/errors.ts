/**
 * Damage found by a strict replay (see `Wal.replay`): the segment and the
 * byte offset in it where the first frame that is not valid starts.
 *
 * @example
 * ```ts
 * try { wal.replay(1, apply, { strict: true }); }
 * catch (error) { if (error instanceof WalCorruptError) log.error({ segment: error.segment, offset: error.offset }); }
 * ```
 */
export class WalCorruptError extends Error {
  override readonly name = 'WalCorruptError';
  readonly code = 'ERR_WAL_CORRUPT';
  readonly segment: number;
  readonly offset: number;
  readonly reason: string;

  constructor(path: string, segment: number, offset: number, reason: string, options?: { cause?: unknown }) {
    super(`write-ahead log segment ${segment} (${path}) is damaged at byte ${offset}: ${reason}`, options);
    this.segment = segment;
    this.offset = offset;
    this.reason = reason;
  }
}

/**
 * A segment whose header is intact but carries a format version this code
 * does not read (written by a newer release). Thrown in both replay modes:
 * repairing would throw the newer data away.
 */
export class WalVersionError extends Error {
  override readonly name = 'WalVersionError';
  readonly code = 'ERR_WAL_VERSION';
  readonly segment: number;
  readonly version: number;

  constructor(path: string, segment: number, version: number) {
    super(`write-ahead log segment ${segment} (${path}) has format version ${version}; this release reads version 1`);
    this.segment = segment;
    this.version = version;
  }
}

/** A call on a write-ahead log after `close()`. */
export class WalClosedError extends Error {
  override readonly name = 'WalClosedError';
  readonly code = 'ERR_WAL_CLOSED';

  constructor(operation: string) {
    super(`cannot ${operation}: the write-ahead log is closed`);
  }
}
