/**
 * The error the store raises, with a stable `code` and the underlying error
 * (a file-system error, a corrupt structure) as `cause`.
 */

/** The codes a {@link TsdbError} carries. */
export type TsdbErrorCode =
  /** Another live process (or another open store in this one) holds the data directory's LOCK. */
  | 'ERR_LOCKED'
  /** The data directory cannot be created, read or written. */
  | 'ERR_DATA_DIR'
  /**
   * `recovery: 'strict'` found damage that repair mode would have cut away; either mode found a log segment of a
   * format version this code does not read; or a read met a chunk that does not decode, or whose record, read from
   * its file on its own, fails its magic, CRC or identity check.
   */
  | 'ERR_CORRUPT'
  /** The store was used after `close()`. */
  | 'ERR_CLOSED'
  /** A chunk file could not be read back for a query. */
  | 'ERR_READ';

/**
 * An error raised by the store.
 *
 * @example
 * ```ts
 * try {
 *   db = openTsdb({ dir: '/var/lib/opc' });
 * } catch (err) {
 *   if (err instanceof TsdbError && err.code === 'ERR_LOCKED') console.error(err.message);
 * }
 * ```
 */
export class TsdbError extends Error {
  override readonly name = 'TsdbError';
  /** Stable code, see {@link TsdbErrorCode}. */
  readonly code: TsdbErrorCode;

  constructor(code: TsdbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
