// How it works: the in-memory state that the write path, recovery and
// retention share: the series table (dense ids, holes only after a damaged
// log lost a SERIES record), the name index, and the chunk files. Applying a
// reading is the same code whether it comes from `append()` or from the log
// at recovery: close the head if the reading cannot join it, then push it.

import type { ChunkStore } from './chunk-file.js';
import { Series } from './head.js';

/** Chunk files roll over once this old when there is no retention (1 day). */
const DEFAULT_FILE_SPAN_MS = 86_400_000;

/**
 * How long one chunk file collects chunks: a tenth of the retention, from 1
 * minute to 1 day, so that retention deletes files at a tenth of its period.
 */
export function fileSpanMs(retentionMs: number): number {
  if (retentionMs <= 0) return DEFAULT_FILE_SPAN_MS;
  return Math.min(DEFAULT_FILE_SPAN_MS, Math.max(60_000, Math.floor(retentionMs / 10)));
}

/** The series table and the chunk files, and the one way readings get in. */
export class DbState {
  readonly series: Array<Series | undefined> = [];
  readonly byName = new Map<string, number>();
  readonly chunks: ChunkStore;
  readonly chunkSamples: number;
  readonly chunkFileBytes: number;
  readonly spanMs: number;
  readonly now: () => number;

  constructor(
    chunks: ChunkStore,
    chunkSamples: number,
    chunkFileBytes: number,
    retentionMs: number,
    now: () => number,
  ) {
    this.chunks = chunks;
    this.chunkSamples = chunkSamples;
    this.chunkFileBytes = chunkFileBytes;
    this.spanMs = fileSpanMs(retentionMs);
    this.now = now;
  }

  /** Adds a series at `id` (the next free one for a new series). */
  addSeries(id: number, name: string): Series {
    const s = new Series(id, name);
    while (this.series.length < id) this.series.push(undefined);
    this.series[id] = s;
    this.byName.set(name, id);
    return s;
  }

  /** Applies a checked reading (seq > s.lastSeq, finite ts and value). */
  apply(s: Series, seq: number, ts: number, value: number): void {
    if (s.enc !== undefined && s.mustCut(seq, ts, this.chunkSamples)) this.closeHead(s);
    s.push(seq, ts, value);
  }

  /** Closes the head of `s` into the active chunk file (in memory until the next flush). */
  closeHead(s: Series): void {
    const enc = s.enc;
    if (enc === undefined) return;
    const ref = this.chunks.append(s.headSummary(enc), enc.bytes(), this.now(), this.chunkFileBytes, this.spanMs);
    s.chunks.push(ref);
    s.enc = undefined;
  }

  /** Every series, in id order. */
  *all(): IterableIterator<Series> {
    for (const s of this.series) if (s !== undefined) yield s;
  }

  /** Readings retained in all series. */
  readings(): number {
    let n = 0;
    for (const s of this.all()) n += s.count;
    return n;
  }
}
