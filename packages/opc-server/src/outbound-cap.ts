/**
 * A cap on the bytes pending to all clients together (PROTOCOL.md "Limits"). Each
 * client is held to its own outbound budget (plus one reply); this bounds
 * their sum, in the manner of Redis' `maxmemory-clients`: when the clients
 * that have fallen behind hold more than `maxBytes` between them, those
 * holding the most are disconnected as slow consumers until the rest fit.
 *
 * Only clients that have fallen behind are counted: a write that did not go
 * through reports its client here, and the client is forgotten once it has
 * caught up or closed. A client that keeps up holds at most one turn's output,
 * is never counted, and so is never the one cut off while a larger one exists.
 *
 * When it checks: as soon as a client falls behind, and after every write
 * pass of the {@link WriteScheduler} while any client is behind. A client's
 * pending bytes only grow by what a write pass then hands over, so after each
 * pass the clients that are behind hold no more than `maxBytes` together.
 * What one turn queues before its write pass is bounded apart from this:
 * sessions leave their commands for the next pass once the scheduler's
 * `queuedBytes` has passed the same limit (see `Session`). All open clients
 * together then hold at most about twice `maxBytes` plus one reply.
 */

/** What the cap needs to know of a client. */
export interface CapMember {
  /** Bytes the server holds for this client now. */
  readonly pendingBytes: number;
  /** Whether the client is still waiting for its output to go out. */
  readonly behind: boolean;
  /** Whether the client is already ending. */
  readonly closing: boolean;
  /** Disconnects the client as a slow consumer. */
  evict(): void;
}

/**
 * The server-wide outbound cap.
 *
 * @example
 * ```ts
 * const cap = new OutboundCap<Session>(256 * 1024 * 1024);
 * // when a session's stream.write() returns false:
 * cap.fellBehind(session);
 * // after each write pass, while cap.watching > 0:
 * cap.check();
 * ```
 */
export class OutboundCap<M extends CapMember> {
  readonly #maxBytes: number;
  readonly #behind = new Set<M>();

  /** `maxBytes` 0 means no cap: nothing is tracked. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Clients counted now (fallen behind, not yet seen caught up or closed). */
  get watching(): number {
    return this.#behind.size;
  }

  /** Reports a client whose output did not all go out, and checks at once. */
  fellBehind(member: M): void {
    if (this.#maxBytes === 0 || member.closing) return;
    this.#behind.add(member);
    this.check();
  }

  /** Stops counting a client (it closed). */
  forget(member: M): void {
    this.#behind.delete(member);
  }

  /** Forgets clients that caught up or closed, then disconnects the largest until the rest fit. */
  check(): void {
    let total = 0;
    for (const member of this.#behind) {
      if (member.closing || !member.behind) this.#behind.delete(member);
      else total += member.pendingBytes;
    }
    if (total <= this.#maxBytes) return;
    const largestFirst = [...this.#behind].sort((a, b) => b.pendingBytes - a.pendingBytes);
    for (const member of largestFirst) {
      if (total <= this.#maxBytes) break;
      total -= member.pendingBytes;
      this.#behind.delete(member);
      member.evict();
    }
  }
}
