/**
 * Thrown by {@link decodeBatch} when bytes are not a batch that {@link BatchEncoder} wrote: too short, cut, a
 * checksum that does not match, an unknown version, or a field out of its range. Always `code: 'ERR_BATCH_CORRUPT'`.
 *
 * @example
 * ```ts
 * try {
 *   batch = decodeBatch(message.data);
 * } catch (error) {
 *   if (!(error instanceof BatchDecodeError)) throw error;
 *   logger.error({ err: error }, 'not a batch');
 * }
 * ```
 */
export class BatchDecodeError extends Error {
  override readonly name = 'BatchDecodeError';
  /** Always `'ERR_BATCH_CORRUPT'`. */
  readonly code = 'ERR_BATCH_CORRUPT';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A `RangeError` with Node's `code: 'ERR_OUT_OF_RANGE'`, for arguments out of range. */
export function outOfRange(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

/** A `TypeError` with Node's `code: 'ERR_INVALID_ARG_TYPE'`, for arguments of the wrong type. */
export function invalidType(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}
