// How it works: one Series per id holds what the engine knows of it in
// memory: its identity, its last reading, the index of its closed chunks (a
// ChunkRef each, in seq order, pointing into a chunk file) and its open
// ("head") chunk as a live ChunkEncoder. A reading goes into the head; the
// head is closed first when it is full (chunkSamples), when the reading would
// make it span more than MAX_CHUNK_SPAN_MS, or at a seq gap, because a chunk
// stores no seqs: reading i of a chunk has seq firstSeq + i
// (docs/STORAGE.md, "Chunks"). Besides the codec's running summary the head
// tracks the value first and last by (ts, seq) and whether its timestamps
// never decrease, so that range and bucket reads can use summaries.

import { ChunkEncoder } from '../chunk/index.js';
import { FLAG_SORTED, type ChunkSummary } from './format.js';

/** A chunk never spans more than this many ms of timestamps (2 h). */
export const MAX_CHUNK_SPAN_MS = 2 * 3_600_000;

/** A closed chunk: its summary and where its record lies. */
export interface ChunkRef extends ChunkSummary {
  /** Chunk file index. */
  file: number;
  /** Offset of the chunk record (its header) in the file. */
  offset: number;
  /** Bytes of encoded data after the header. */
  dataLength: number;
}

/** What the engine keeps in memory about one series. */
export class Series {
  readonly id: number;
  readonly name: string;
  lastSeq = 0;
  lastTs = Number.NaN;
  lastValue = Number.NaN;
  meta: Uint8Array | undefined = undefined;
  /** Readings retained: in the closed chunks plus the head. */
  count = 0;
  /** Closed chunks in seq order. */
  chunks: ChunkRef[] = [];
  /** Every retained reading's ts is >= the one before it by seq (then ts order = seq order). */
  sorted = true;

  /** The open chunk, if any. */
  enc: ChunkEncoder | undefined = undefined;
  headFirstSeq = 0;

  /** Generation of the WAL sample batch this series last appeared in (for the batch's seq deltas). */
  batchGen = -1;
  /** Seq of its last sample in that batch (used by replay, which may skip samples). */
  batchSeq = 0;

  constructor(id: number, name: string) {
    this.id = id;
    this.name = name;
  }

  /** Whether the head must be closed before the reading (seq, ts) goes in. */
  mustCut(seq: number, ts: number, chunkSamples: number): boolean {
    const enc = this.enc;
    if (enc === undefined) return false;
    return (
      enc.count >= chunkSamples ||
      seq !== this.lastSeq + 1 ||
      Math.max(this.headMaxTs, ts) - Math.min(this.headMinTs, ts) > MAX_CHUNK_SPAN_MS
    );
  }

  /** Appends a checked reading to the head (opening one if needed). */
  push(seq: number, ts: number, value: number): void {
    if (ts < this.lastTs) this.sorted = false;
    let enc = this.enc;
    if (enc === undefined) {
      enc = this.enc = new ChunkEncoder();
      this.headFirstSeq = seq;
    }
    enc.appendFinite(ts, value);
    this.lastSeq = seq;
    this.lastTs = ts;
    this.lastValue = value;
    this.count++;
  }

  // The head's summary fields are the encoder's own, which it tracks per reading already (0 and sorted without a
  // head, as a checkpoint writes them).

  /** Smallest timestamp in the head. */
  get headMinTs(): number {
    return this.enc?.minTs ?? 0;
  }

  /** Largest timestamp in the head. */
  get headMaxTs(): number {
    return this.enc?.maxTs ?? 0;
  }

  /** The head's value first by (ts, seq): at its smallest timestamp, the earliest appended. */
  get headFirstValue(): number {
    return this.enc?.earliestValue ?? 0;
  }

  /** The head's value last by (ts, seq): at its largest timestamp, the latest appended. */
  get headLastValue(): number {
    return this.enc?.latestValue ?? 0;
  }

  /** FLAG_SORTED when the head's timestamps never decrease. */
  get headFlags(): number {
    return this.enc === undefined || this.enc.sortedByTs ? FLAG_SORTED : 0;
  }

  /** The head's summary. */
  headSummary(enc: ChunkEncoder): ChunkSummary {
    return {
      seriesId: this.id,
      count: enc.count,
      flags: this.headFlags,
      firstSeq: this.headFirstSeq,
      minTs: this.headMinTs,
      maxTs: this.headMaxTs,
      minValue: enc.minValue,
      maxValue: enc.maxValue,
      sum: enc.sum,
      firstValue: this.headFirstValue,
      lastValue: this.headLastValue,
    };
  }

  /** Restores a head from its encoded bytes (a checkpoint's). Throws ChunkDecodeError. */
  restoreHead(bytes: Uint8Array, count: number, firstSeq: number): void {
    const enc = ChunkEncoder.resume(bytes, count);
    this.enc = enc;
    this.headFirstSeq = firstSeq;
    this.count += count;
  }

  /** Recomputes {@link Series.sorted} from the chunks and the head. */
  recomputeSorted(): void {
    let prevMax = -Infinity;
    let sorted = true;
    for (const c of this.chunks) {
      if ((c.flags & FLAG_SORTED) === 0 || c.minTs < prevMax) {
        sorted = false;
        break;
      }
      prevMax = c.maxTs;
    }
    if (sorted && this.enc !== undefined) sorted = (this.headFlags & FLAG_SORTED) !== 0 && this.headMinTs >= prevMax;
    this.sorted = sorted;
  }

  /** Seq of the oldest retained reading, 0 when none. */
  firstSeq(): number {
    const c = this.chunks[0];
    if (c !== undefined) return c.firstSeq;
    return this.enc === undefined ? 0 : this.headFirstSeq;
  }
}
