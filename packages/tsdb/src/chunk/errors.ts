/**
 * Thrown when chunk bytes cannot be what {@link ChunkEncoder} wrote for the given sample count: they end too early,
 * go on past the last sample, or hold bits the encoder never produces (a non-finite number, a code in a wider bucket
 * than it needs, an XOR window that does not fit in 64 bits). Always `code: 'ERR_CHUNK_CORRUPT'`.
 *
 * @example
 * ```ts
 * import { ChunkDecodeError, decodeChunk } from './chunk/index.js';
 *
 * try {
 *   decodeChunk(bytes, count, ts, values);
 * } catch (error) {
 *   if (!(error instanceof ChunkDecodeError)) throw error;
 *   logger.warn({ err: error }, 'skipping a corrupt chunk');
 * }
 * ```
 */
export class ChunkDecodeError extends Error {
  override readonly name = 'ChunkDecodeError';
  /** Always `'ERR_CHUNK_CORRUPT'`. */
  readonly code = 'ERR_CHUNK_CORRUPT';

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
