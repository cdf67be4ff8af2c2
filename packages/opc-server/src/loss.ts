/**
 * Per-sensor loss accounting from the sender's sequence numbers (PROTOCOL.md
 * "Loss accounting").
 *
 * How it works: the tracker remembers the highest sender-seq seen (`last`)
 * and a 1024-bit window of which of the seqs just below it have arrived,
 * kept in a `Uint32Array` indexed by `seq % 1024`. Moving `last` forward
 * clears the bits it skips, so a bit is set only for a seq that arrived and
 * lies within the window. Each observation is O(1) (a forward jump clears at
 * most 1024 bits) and allocates nothing.
 *
 * The rules, for a reading carrying sender-seq `s` when `last` is known:
 *
 * | case | outcome | counters |
 * |---|---|---|
 * | `s == last + 1` | stored | — |
 * | `s > last + 1` | stored | `lost += s - last - 1` |
 * | `s == last` | duplicate, not stored | `duplicate += 1` |
 * | `last - s > 1000` | restart, stored, `s` is the new baseline | `restarts += 1` |
 * | `s <= 16` and (`last - s > 16` or `s` already seen) | restart, as above | `restarts += 1` |
 * | `s` already seen within the window | duplicate, not stored | `duplicate += 1` |
 * | otherwise (`s < last`, not seen) | late (reordered), stored | `late += 1`, and `lost -= 1` when `s` was counted lost (it is above the baseline) |
 *
 * The first seq a sensor sends (and the seq after a restart) is the baseline:
 * nothing before it is counted lost. Readings without a sender-seq are
 * always stored and never counted.
 */

/**
 * Window of recent sender-seqs remembered for duplicate/late detection.
 *
 * @example
 * ```ts
 * SEQ_WINDOW; // 1024
 * ```
 */
export const SEQ_WINDOW = 1024;
/**
 * A seq more than this far below the last one is a sender restart.
 *
 * @example
 * ```ts
 * const isRestart = last - seq > RESTART_DISTANCE;
 * ```
 */
export const RESTART_DISTANCE = 1000;
/**
 * A seq at or below this, going backwards, is a restart (see the table above).
 *
 * @example
 * ```ts
 * const small = seq <= RESTART_LOW_SEQ;
 * ```
 */
export const RESTART_LOW_SEQ = 16;

const LOSS_STATE_VERSION = 1;
/** Version byte and padding, seven float64 fields, the window. */
const LOSS_STATE_BYTES = 8 + 7 * 8 + SEQ_WINDOW / 8;

/**
 * Loss counters, per sensor or summed over all sensors.
 *
 * @example
 * ```ts
 * const loss: LossCounts = store.get('ramp')!.loss;
 * console.log(loss.lost, loss.duplicate, loss.late, loss.restarts);
 * ```
 */
export interface LossCounts {
  /** Readings never received: gaps in the sender-seq, less the late arrivals that filled them. */
  lost: number;
  /** Readings received again (not stored). */
  duplicate: number;
  /** Readings received out of order (stored). */
  late: number;
  /** Times the sender started over from a small or much lower seq. */
  restarts: number;
}

/**
 * Tracks one sensor's sender-seq and keeps its {@link LossCounts}, adding the
 * same deltas to a shared totals object.
 *
 * @example
 * ```ts
 * const totals = { lost: 0, duplicate: 0, late: 0, restarts: 0 };
 * const t = new LossTracker(totals);
 * t.observe(1); t.observe(3); // lost 1
 * t.observe(2);               // late: lost 0, late 1
 * ```
 */
export class LossTracker implements LossCounts {
  lost = 0;
  duplicate = 0;
  late = 0;
  restarts = 0;
  /** Highest sender-seq seen, or -1 before the first one. */
  #last = -1;
  /** Seq the accounting started from (first seen, or after a restart). */
  #base = -1;
  readonly #seen = new Uint32Array(SEQ_WINDOW / 32);
  readonly #totals: LossCounts;

  constructor(totals: LossCounts) {
    this.#totals = totals;
  }

  /** The highest sender-seq seen so far, or -1. */
  get lastSenderSeq(): number {
    return this.#last;
  }

  /**
   * Accounts for one reading's sender-seq (`-1` = none sent) and tells
   * whether to store it: `false` for a duplicate.
   */
  observe(seq: number): boolean {
    if (seq < 0) return true;
    const last = this.#last;
    if (last < 0) {
      this.#baseline(seq);
      return true;
    }
    if (seq > last) {
      const gap = seq - last - 1;
      if (gap > 0) {
        this.lost += gap;
        this.#totals.lost += gap;
        if (gap >= SEQ_WINDOW) this.#seen.fill(0);
        else this.#clearRange(last + 1, gap);
      }
      this.#set(seq);
      this.#last = seq;
      return true;
    }
    if (seq === last) {
      this.duplicate++;
      this.#totals.duplicate++;
      return false;
    }
    const behind = last - seq;
    const seen = behind < SEQ_WINDOW && this.#has(seq);
    if (behind > RESTART_DISTANCE || (seq <= RESTART_LOW_SEQ && (behind > RESTART_LOW_SEQ || seen))) {
      this.restarts++;
      this.#totals.restarts++;
      this.#baseline(seq);
      return true;
    }
    if (seen) {
      this.duplicate++;
      this.#totals.duplicate++;
      return false;
    }
    this.late++;
    this.#totals.late++;
    if (seq > this.#base) {
      this.lost--;
      this.#totals.lost--;
    }
    this.#set(seq);
    return true;
  }

  /**
   * The whole state (counters, last and base seq, window) as bytes, stamped
   * with the server seq of the sensor's latest reading, for a durable store
   * to keep (see {@link LossTracker.load}). Version byte first.
   */
  save(serverSeq: number): Uint8Array {
    const bytes = new Uint8Array(LOSS_STATE_BYTES);
    const view = new DataView(bytes.buffer);
    bytes[0] = LOSS_STATE_VERSION;
    let p = 8;
    for (const v of [this.lost, this.duplicate, this.late, this.restarts, this.#last, this.#base, serverSeq]) {
      view.setFloat64(p, v, true);
      p += 8;
    }
    for (let i = 0; i < this.#seen.length; i++) view.setUint32(p + 4 * i, this.#seen[i]!, true);
    return bytes;
  }

  /**
   * Restores what {@link LossTracker.save} wrote, adding the counters to the
   * totals, then catches up with the readings stored after it: a state is
   * saved at every observation that is not the next sender-seq in order, so
   * each reading stored since (up to `serverSeq`, the sensor's seq now)
   * carried the sender-seq after the one before. Returns false, changing
   * nothing, for bytes it does not know.
   */
  load(bytes: Uint8Array, serverSeq: number): boolean {
    if (bytes.length !== LOSS_STATE_BYTES || bytes[0] !== LOSS_STATE_VERSION) return false;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const f = (k: number): number => view.getFloat64(8 + 8 * k, true);
    const [lost, duplicate, late, restarts, last, base, savedAt] = [f(0), f(1), f(2), f(3), f(4), f(5), f(6)];
    const all = [lost, duplicate, late, restarts, last, base, savedAt];
    if (!all.every((v) => Number.isSafeInteger(v) && v >= -1) || lost < 0 || duplicate < 0 || late < 0) return false;
    this.lost = lost;
    this.duplicate = duplicate;
    this.late = late;
    this.restarts = restarts;
    this.#totals.lost += lost;
    this.#totals.duplicate += duplicate;
    this.#totals.late += late;
    this.#totals.restarts += restarts;
    for (let i = 0; i < this.#seen.length; i++) this.#seen[i] = view.getUint32(64 + 4 * i, true);
    this.#last = last;
    this.#base = base;
    const since = serverSeq - savedAt;
    if (last >= 0 && since > 0) {
      if (since >= SEQ_WINDOW) this.#seen.fill(0);
      for (let s = last + Math.max(1, since - SEQ_WINDOW + 1); s <= last + since; s++) this.#set(s);
      this.#last = last + since;
    }
    return true;
  }

  #baseline(seq: number): void {
    this.#seen.fill(0);
    this.#set(seq);
    this.#last = seq;
    this.#base = seq;
  }

  #has(seq: number): boolean {
    const bit = seq % SEQ_WINDOW;
    return ((this.#seen[bit >>> 5]! >>> (bit & 31)) & 1) === 1;
  }

  #set(seq: number): void {
    const bit = seq % SEQ_WINDOW;
    this.#seen[bit >>> 5]! |= 1 << (bit & 31);
  }

  /** Clears the bits of `count` (< SEQ_WINDOW) seqs from `from` on, a word at a time. */
  #clearRange(from: number, count: number): void {
    const seen = this.#seen;
    let bit = from % SEQ_WINDOW;
    while (count > 0) {
      const off = bit & 31;
      const n = Math.min(32 - off, count);
      // n ones shifted to `off`; 32 ones when the whole word goes.
      const mask = n === 32 ? -1 : ((1 << n) - 1) << off;
      seen[bit >>> 5]! &= ~mask;
      count -= n;
      bit = (bit + n) % SEQ_WINDOW;
    }
  }
}
