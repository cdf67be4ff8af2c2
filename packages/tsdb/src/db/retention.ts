// How it works: retention deletes whole chunk files, oldest first
// (docs/STORAGE.md, "Retention"). By age: a file goes once its newest reading
// (by timestamp) is older than `now - retentionMs`; the scan stops at the
// first file still needed, so what stays of every series is a contiguous run
// of its newest chunks. An open chunk older than the cut-off is dropped too.
// By bytes: while the directory holds more than `maxDiskBytes`, the oldest
// file goes. Only files whose every byte is synced (so recorded by the last
// checkpoint) are deleted; the chunks they held leave the series' indexes.

import type { ChunkFile } from './chunk-file.js';
import type { DbState } from './state.js';

/** What one retention pass removed. */
export interface RetentionResult {
  files: number;
  readings: number;
  /** Bytes the directory still holds over `maxDiskBytes` that only a checkpoint could free. */
  stuck: boolean;
}

/** Whether a file may be deleted now. */
function deletable(file: ChunkFile): boolean {
  return !file.broken && file.synced >= file.length && file.written >= file.length;
}

/**
 * One retention pass. `otherBytes()` gives the bytes of the log and the
 * checkpoint, which count towards `maxDiskBytes`. File-system errors from
 * unlink are thrown (what was removed before stays removed).
 */
export function applyRetention(
  state: DbState,
  nowMs: number,
  retentionMs: number,
  maxDiskBytes: number,
  otherBytes: () => number,
): RetentionResult {
  const result: RetentionResult = { files: 0, readings: 0, stuck: false };
  const removed = new Set<number>();
  const files = [...state.chunks.files.values()].sort((a, b) => a.index - b.index);
  let i = 0;
  try {
    if (retentionMs > 0) {
      const cutoff = nowMs - retentionMs;
      for (; i < files.length; i++) {
        const file = files[i] as ChunkFile;
        if (!(file.maxTs < cutoff) || !deletable(file)) break;
        state.chunks.remove(file);
        removed.add(file.index);
      }
      for (const s of state.all()) {
        if (s.enc !== undefined && s.headMaxTs < cutoff) {
          result.readings += s.enc.count;
          s.count -= s.enc.count;
          s.enc = undefined;
        }
      }
    }
    if (maxDiskBytes > 0) {
      let total = state.chunks.bytes() + otherBytes();
      for (; total > maxDiskBytes && i < files.length; i++) {
        const file = files[i] as ChunkFile;
        if (!deletable(file)) {
          result.stuck = true;
          break;
        }
        state.chunks.remove(file);
        removed.add(file.index);
        total -= file.length;
      }
      if (total > maxDiskBytes && i >= files.length) result.stuck = true;
    }
  } finally {
    if (removed.size > 0) {
      result.files = removed.size;
      for (const s of state.all()) {
        if (!s.chunks.some((c) => removed.has(c.file))) continue;
        const kept = s.chunks.filter((c) => {
          if (!removed.has(c.file)) return true;
          result.readings += c.count;
          s.count -= c.count;
          return false;
        });
        s.chunks = kept;
      }
    }
  }
  return result;
}
