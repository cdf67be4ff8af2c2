// How it works: closed chunks are appended, as chunk records, to the active
// chunk file `chunks/<index>` (zero-padded decimal of at least 8 digits).
// Appending a chunk does no I/O: the record goes into the file's in-memory
// image, and `flush()` (once per commit) writes what is new with one write
// per file.
// Nothing here is synced until a checkpoint calls `syncAll()`: until then the
// write-ahead log still holds the readings, and recovery cuts a chunk file
// back to the length the checkpoint recorded (docs/STORAGE.md, "Recovery").
//
// A file rolls over past `chunkFileBytes` or once it is `spanMs` old, so that
// retention can delete whole files. Files written by this process keep their
// image in memory until synced; after that, and for files found at startup,
// the bytes are a cache (least recently used first out, CACHE_BYTES in all).
// A chunk of a file out of the cache is read on its own, one positional read
// of its record with the CRC checked, and not cached. A file whose write or
// sync failed is `broken`: nothing more is appended to it, and before the
// next checkpoint the engine moves every chunk not yet synced, of every file,
// into new files in the order they were in (`relocate`), so that a series'
// chunks stay in seq order by (file, offset).

import { join } from 'node:path';
import type { FileHandle, FileSystem } from '../fs/types.js';
import { ByteWriter, FormatError } from './bytes.js';
import {
  CHUNK_FILE_HEADER_BYTES,
  CHUNK_HEADER_BYTES,
  encodeChunkFileHeader,
  readChunkRecord,
  writeChunkRecord,
  type ChunkSummary,
} from './format.js';
import type { ChunkRef } from './head.js';

/** Bytes of chunk files kept in memory for reads beyond those not yet synced. */
export const CACHE_BYTES = 256 * 1024 * 1024;

/** One chunk file. */
export interface ChunkFile {
  readonly index: number;
  readonly path: string;
  readonly createdMs: number;
  /** Bytes in the file including what is still only in memory. */
  length: number;
  /** Bytes handed to the file system. */
  written: number;
  /** Bytes known durable. */
  synced: number;
  handle: FileHandle | undefined;
  /** The file's whole content while not everything is synced (files written by this process). */
  image: ByteWriter | undefined;
  /** A cached copy of the content (length bytes or more). */
  cached: Uint8Array | undefined;
  /** A write or sync failed: append nothing more. */
  broken: boolean;
  minTs: number;
  maxTs: number;
  chunks: number;
  readings: number;
}

/** The highest chunk file index: a checkpoint stores the next one (`nextChunkFile`) as a u32. */
export const MAX_CHUNK_FILE_INDEX = 0xffff_fffe;

/** The name of chunk file `index`: zero-padded decimal of at least 8 digits. */
export function chunkFileName(index: number): string {
  return String(index).padStart(8, '0');
}

/**
 * Parses a chunk file name: the canonical name ({@link chunkFileName}) of an
 * index from 1 to {@link MAX_CHUNK_FILE_INDEX}; `undefined` for anything
 * else (`00000000`, `1`, `000000001`), which the store ignores.
 */
export function parseChunkFileName(name: string): number | undefined {
  if (!/^\d{8,10}$/.test(name)) return undefined;
  const index = Number(name);
  return index >= 1 && index <= MAX_CHUNK_FILE_INDEX && chunkFileName(index) === name ? index : undefined;
}

/** The chunk files of a store and the one being appended to. */
export class ChunkStore {
  readonly files = new Map<number, ChunkFile>();
  readonly #fs: FileSystem;
  readonly #dir: string;
  #active: ChunkFile | undefined = undefined;
  /** Index the next new file gets. */
  nextIndex = 1;
  /** A file was created since the directory was last synced. */
  dirDirty = false;
  #cacheBytes = 0;
  readonly #cacheLimit: number;
  readonly #lru = new Map<number, ChunkFile>();

  /** `cacheBytes` bounds the file images kept as cache (tests pass 0 to read every closed chunk from its file). */
  constructor(fs: FileSystem, dir: string, cacheBytes = CACHE_BYTES) {
    this.#fs = fs;
    this.#dir = dir;
    this.#cacheLimit = cacheBytes;
  }

  get dir(): string {
    return this.#dir;
  }

  get active(): ChunkFile | undefined {
    return this.#active;
  }

  /** Total bytes of all chunk files. */
  bytes(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.length;
    return n;
  }

  /** Registers a file found at startup, `bytes` its content up to `length`. */
  adopt(index: number, length: number, createdMs: number, bytes: Uint8Array): ChunkFile {
    const file: ChunkFile = {
      index,
      path: join(this.#dir, chunkFileName(index)),
      createdMs,
      length,
      written: length,
      synced: length,
      handle: undefined,
      image: undefined,
      cached: undefined,
      broken: false,
      minTs: Infinity,
      maxTs: -Infinity,
      chunks: 0,
      readings: 0,
    };
    this.files.set(index, file);
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    this.#cache(file, bytes);
    return file;
  }

  /** Whether the active file must roll before a record of `recordBytes`. */
  #mustRoll(active: ChunkFile, recordBytes: number, nowMs: number, maxFileBytes: number, spanMs: number): boolean {
    if (active.broken) return true;
    if (active.chunks === 0) return false;
    return active.length + recordBytes > maxFileBytes || nowMs - active.createdMs >= spanMs;
  }

  /** Starts a new active file (in memory; it is created on the next flush). */
  roll(nowMs: number): ChunkFile {
    const index = this.nextIndex++;
    const image = new ByteWriter(64 * 1024);
    image.bytes(encodeChunkFileHeader(nowMs));
    const file: ChunkFile = {
      index,
      path: join(this.#dir, chunkFileName(index)),
      createdMs: nowMs,
      length: CHUNK_FILE_HEADER_BYTES,
      written: 0,
      synced: 0,
      handle: undefined,
      image,
      cached: undefined,
      broken: false,
      minTs: Infinity,
      maxTs: -Infinity,
      chunks: 0,
      readings: 0,
    };
    this.files.set(index, file);
    this.#active = file;
    return file;
  }

  /** Appends a chunk record to the active file (no I/O) and returns where it lies. */
  append(summary: ChunkSummary, data: Uint8Array, nowMs: number, maxFileBytes: number, spanMs: number): ChunkRef {
    const recordBytes = CHUNK_HEADER_BYTES + data.length;
    let file = this.#active;
    if (file === undefined || this.#mustRoll(file, recordBytes, nowMs, maxFileBytes, spanMs)) file = this.roll(nowMs);
    const image = file.image as ByteWriter;
    const offset = image.pos;
    writeChunkRecord(image, summary, data);
    file.length = image.pos;
    this.#account(file, summary);
    return { ...summary, file: file.index, offset, dataLength: data.length };
  }

  #account(file: ChunkFile, s: ChunkSummary): void {
    file.chunks++;
    file.readings += s.count;
    if (s.minTs < file.minTs) file.minTs = s.minTs;
    if (s.maxTs > file.maxTs) file.maxTs = s.maxTs;
  }

  /** Counts a chunk found at startup in its file's totals. */
  accountAdopted(file: ChunkFile, s: ChunkSummary): void {
    this.#account(file, s);
  }

  /** Writes every file's new bytes, one write each. Throws the file-system error (the file is then broken). */
  flush(): void {
    for (const file of this.files.values()) {
      if (file.written >= file.length || file.broken) continue;
      const image = file.image as ByteWriter;
      try {
        if (file.handle === undefined) {
          file.handle = this.#fs.openAppend(file.path);
          this.dirDirty = true;
        }
        file.handle.write(image.buf.subarray(file.written, file.length));
        file.written = file.length;
      } catch (err) {
        file.broken = true;
        throw err;
      }
    }
  }

  /** Whether a flush has something to write. */
  hasUnwritten(): boolean {
    for (const file of this.files.values()) if (file.written < file.length && !file.broken) return true;
    return false;
  }

  /**
   * Syncs every file with unsynced bytes and the directory if a file was
   * created; closes the handles of files no longer active and turns their
   * images into cache. Throws the file-system error (the file is then broken).
   */
  syncAll(): void {
    for (const file of this.files.values()) {
      if (file.broken || file.synced >= file.written) continue;
      try {
        (file.handle as FileHandle).sync();
        file.synced = file.written;
      } catch (err) {
        file.broken = true;
        throw err;
      }
    }
    if (this.dirDirty) {
      this.#fs.syncDir(this.#dir);
      this.dirDirty = false;
    }
    for (const file of this.files.values()) {
      if (file === this.#active || file.image === undefined || file.synced < file.length) continue;
      this.#retire(file);
    }
  }

  /** Closes a finished file's handle and turns its image into cache. */
  #retire(file: ChunkFile): void {
    try {
      file.handle?.close();
    } catch {
      // The data is synced; a failing close loses nothing.
    }
    file.handle = undefined;
    const image = file.image;
    file.image = undefined;
    if (image !== undefined) this.#cache(file, image.buf.subarray(0, file.length));
  }

  /**
   * After a write or sync failed (some file is broken): moves every chunk not
   * yet synced, in every file, into new files, in (file, offset) order,
   * updating the refs in place, and cuts those files back to their synced
   * length (in memory; nothing more is appended to them). Moving them all,
   * not only the broken files' chunks, keeps each series' chunks in seq order
   * by (file, offset), the order recovery reads them in (docs/STORAGE.md,
   * "Degraded mode"): a later chunk of the same series may sit in a file that
   * did not break. A new file is started before one would grow past
   * `maxFileBytes`.
   */
  relocate(refsOf: (file: number) => ChunkRef[], nowMs: number, maxFileBytes: number): void {
    if (![...this.files.values()].some((f) => f.broken)) return;
    const cut = [...this.files.values()].filter((f) => f.synced < f.length).sort((a, b) => a.index - b.index);
    let target = this.roll(nowMs);
    for (const file of cut) {
      const image = file.image;
      const refs = refsOf(file.index).sort((a, b) => a.offset - b.offset);
      for (const ref of refs) {
        if (ref.offset < file.synced || image === undefined) continue;
        const data = image.buf.slice(ref.offset + CHUNK_HEADER_BYTES, ref.offset + CHUNK_HEADER_BYTES + ref.dataLength);
        const recordBytes = CHUNK_HEADER_BYTES + data.length;
        if (target.chunks > 0 && target.length + recordBytes > maxFileBytes) target = this.roll(nowMs);
        const timage = target.image as ByteWriter;
        const offset = timage.pos;
        writeChunkRecord(timage, ref, data);
        target.length = timage.pos;
        this.#account(target, ref);
        ref.file = target.index;
        ref.offset = offset;
      }
      file.length = file.written = file.synced;
      file.broken = false;
      if (file.synced === 0) {
        // Never made durable: forget it (a leftover on disk is deleted at recovery).
        try {
          file.handle?.close();
        } catch {
          // Nothing of value in it.
        }
        this.files.delete(file.index);
        this.#lru.delete(file.index);
        continue;
      }
      this.#retire(file);
    }
  }

  /**
   * The encoded bytes of chunk `ref` of `file`: from the file's image or cache, else read on their own (one readAt
   * of the record, its magic, CRC and identity checked; not cached). `undefined` when the file is shorter than the
   * index says. Throws the file-system error, or a FormatError when the record read is not the chunk indexed there.
   */
  chunkData(file: ChunkFile, ref: ChunkRef): Uint8Array | undefined {
    const start = ref.offset + CHUNK_HEADER_BYTES;
    const end = start + ref.dataLength;
    const bytes = file.image !== undefined ? file.image.buf.subarray(0, file.length) : this.#hit(file);
    if (bytes !== undefined) return end <= bytes.length ? bytes.subarray(start, end) : undefined;
    const record = this.#fs.readAt(file.path, ref.offset, CHUNK_HEADER_BYTES + ref.dataLength);
    if (record.length < CHUNK_HEADER_BYTES + ref.dataLength) return undefined;
    const { summary, dataLength } = readChunkRecord(record, 0, record.length, ref.offset);
    if (
      summary.seriesId !== ref.seriesId ||
      summary.firstSeq !== ref.firstSeq ||
      summary.count !== ref.count ||
      dataLength !== ref.dataLength
    ) {
      throw new FormatError(`chunk at ${ref.offset} is not the one the index holds there`);
    }
    return record.subarray(CHUNK_HEADER_BYTES);
  }

  /** The cached bytes of a file, marked as just used; `undefined` when not cached. */
  #hit(file: ChunkFile): Uint8Array | undefined {
    const bytes = file.cached;
    if (bytes !== undefined) {
      this.#lru.delete(file.index);
      this.#lru.set(file.index, file);
    }
    return bytes;
  }

  #cache(file: ChunkFile, bytes: Uint8Array): void {
    if (file.cached !== undefined) this.#cacheBytes -= file.cached.length;
    file.cached = bytes;
    this.#cacheBytes += bytes.length;
    this.#lru.delete(file.index);
    this.#lru.set(file.index, file);
    for (const [index, old] of this.#lru) {
      if (this.#cacheBytes <= this.#cacheLimit) break;
      this.#lru.delete(index);
      if (old.cached !== undefined) this.#cacheBytes -= old.cached.length;
      old.cached = undefined;
    }
  }

  /** Deletes a file (not the active one). Throws the file-system error. */
  remove(file: ChunkFile): void {
    try {
      file.handle?.close();
    } catch {
      // Being deleted anyway.
    }
    file.handle = undefined;
    this.#fs.unlink(file.path);
    this.files.delete(file.index);
    this.#lru.delete(file.index);
    if (file.cached !== undefined) this.#cacheBytes -= file.cached.length;
    file.cached = undefined;
    if (this.#active === file) this.#active = undefined;
  }

  /** Closes every handle. Never throws. */
  closeAll(): void {
    for (const file of this.files.values()) {
      try {
        file.handle?.close();
      } catch {
        // Closing at shutdown: nothing to do about it.
      }
      file.handle = undefined;
    }
  }
}
