/**
 * The error a {@link ClusterLink} raises or reports, with a stable `code` and the underlying error as `cause`.
 */

/** The codes a {@link ClusterLinkError} carries. */
export type ClusterLinkErrorCode =
  /** The stream no longer holds the next batch to apply: retention removed it (the node was away too long). */
  | 'ERR_STREAM_GAP'
  /** The stream ends before the last applied batch: it was deleted and created again, or is another stream. */
  | 'ERR_STREAM_BEHIND'
  /** The `apply` callback threw or rejected; nothing after that batch is applied. */
  | 'ERR_APPLY'
  /** `start()` was called a second time. */
  | 'ERR_STARTED'
  /** The link is closed. */
  | 'ERR_CLOSED'
  /** The `outboxDir` cannot be opened (permissions, a file in the way, a newer format); `cause` says why. */
  | 'ERR_OUTBOX';

/**
 * An error of a cluster link. The link reports the ones that stop it applying (`ERR_STREAM_GAP`,
 * `ERR_STREAM_BEHIND`, `ERR_APPLY`) through `onHalt`; it throws the others.
 *
 * @example
 * ```ts
 * const link = createClusterLink({
 *   servers, nodeName: 'a', apply,
 *   onHalt(error) {
 *     if (error.code === 'ERR_STREAM_GAP') logger.fatal({ err: error }, 'this node missed readings; resync it');
 *   },
 * });
 * ```
 */
export class ClusterLinkError extends Error {
  override readonly name = 'ClusterLinkError';
  /** Stable code, see {@link ClusterLinkErrorCode}. */
  readonly code: ClusterLinkErrorCode;

  constructor(code: ClusterLinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
