/**
 * Store options: their types, their defaults (one frozen {@link DEFAULTS})
 * and their validation.
 */

import type { FileSystem } from '../fs/types.js';

/**
 * A logger with pino's method shape. The store logs nothing unless given one.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const db = openTsdb({ dir: './data', logger: pino() });
 * ```
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** How hard `commit()` pushes the write-ahead log to the disk; see docs/STORAGE.md, "Durability modes". */
export type FsyncMode = 'always' | 'interval' | 'off';

/** What recovery does with damage; see docs/STORAGE.md, "Recovery". */
export type RecoveryMode = 'repair' | 'strict';

/**
 * Options of {@link openTsdb}. Only `dir` is required; units are in the names.
 *
 * @example
 * ```ts
 * const options: TsdbOptions = { dir: './data', fsync: 'always', retentionMs: 7 * 86_400_000 };
 * ```
 */
export interface TsdbOptions {
  /** The data directory, created if missing. */
  dir: string;
  /** File system to use (default a {@link NodeFileSystem}); tests pass a `FaultyFileSystem`. */
  fs?: FileSystem;
  /**
   * `'always'`: `commit()` returns after an fdatasync of the log; `'interval'` (default): an fdatasync on the thread
   * pool every `fsyncIntervalMs`; `'off'`: the operating system writes back when it likes.
   */
  fsync?: FsyncMode;
  /** Period of the background fdatasync in `'interval'` mode (default 1000). */
  fsyncIntervalMs?: number;
  /** Readings older than this (by their timestamp, against `now()`) are deleted, whole chunk files at a time (default 30 days; 0 = keep forever). */
  retentionMs?: number;
  /** Cap on the bytes of the data directory; past it the oldest chunk files are deleted (default 0 = no cap). */
  maxDiskBytes?: number;
  /** `'repair'` (default) cuts torn and corrupt data away and reports it; `'strict'` refuses to open (`ERR_CORRUPT`). */
  recovery?: RecoveryMode;
  /** Where to log (pino method shape); silent by default. */
  logger?: Logger;
  /** Clock for retention, file roll-over and degraded-mode retries, Unix epoch ms (default `Date.now`). */
  now?: () => number;
  /** Readings per chunk before it is closed (default 1024); a chunk also closes when it would span more than 2 h, and at a seq gap. */
  chunkSamples?: number;
  /** Take the data directory's LOCK file (default true); a live other holder makes `openTsdb` throw `ERR_LOCKED`. */
  lock?: boolean;
  /** A checkpoint is written when the write-ahead log grows past this (default 128 MiB). */
  checkpointWalBytes?: number;
  /** Size of one write-ahead log segment (default 64 MiB). */
  walSegmentBytes?: number;
  /** A chunk file is closed and a new one started past this size (default 64 MiB). */
  chunkFileBytes?: number;
  /** While degraded, how often `commit()` tries to write a fresh checkpoint and resume (default 5000). */
  retryMs?: number;
  /**
   * Rebuilds metadata from the aux values the log replays at open (docs/STORAGE.md, "Aux values"). Without it, aux
   * values are written and ignored at recovery.
   */
  replayMeta?: MetaReplay;
  /**
   * Called before every checkpoint, the last moment to `setMeta` what the log's aux values since the last
   * checkpoint would otherwise be needed for: the checkpoint replaces those records (docs/STORAGE.md, "Aux values").
   * Must not throw.
   */
  beforeCheckpoint?: () => void;
}

/**
 * How recovery folds the aux values of replayed readings into a series' metadata (docs/STORAGE.md, "Aux values").
 * For each series the log holds readings of: `begin` with the metadata the replay has reached (again at each META
 * record of it), `reading` for each of its readings replayed after that, oldest first (`aux` -1 for a reading
 * appended without one), then `end` once the whole log is replayed, which returns the series' new metadata, or
 * `undefined` to keep what it has. None of them may throw.
 *
 * @example
 * ```ts
 * // Metadata: one byte, how many readings carried an aux value (up to 255).
 * const seen = new Map<number, number>();
 * const replayMeta: MetaReplay = {
 *   begin: (id, meta) => seen.set(id, meta?.[0] ?? 0),
 *   reading: (id, _seq, aux) => { if (aux >= 0) seen.set(id, Math.min(255, seen.get(id)! + 1)); },
 *   end: (id) => Uint8Array.of(seen.get(id)!),
 * };
 * ```
 */
export interface MetaReplay {
  begin(id: number, meta: Uint8Array | undefined): void;
  reading(id: number, seq: number, aux: number): void;
  end(id: number, lastSeq: number): Uint8Array | undefined;
}

/**
 * The options that have a default, all set.
 *
 * @example
 * ```ts
 * const settings: TsdbSettings = { ...DEFAULTS, fsync: 'always' };
 * ```
 */
export type TsdbSettings = Required<
  Omit<TsdbOptions, 'dir' | 'fs' | 'logger' | 'now' | 'replayMeta' | 'beforeCheckpoint'>
>;

/**
 * The default of every option (frozen).
 *
 * @example
 * ```ts
 * import { DEFAULTS } from '@opc-lite/tsdb';
 * console.log(DEFAULTS.fsync); // 'interval'
 * ```
 */
export const DEFAULTS: Readonly<TsdbSettings> = Object.freeze({
  fsync: 'interval',
  fsyncIntervalMs: 1000,
  retentionMs: 30 * 24 * 3_600_000,
  maxDiskBytes: 0,
  recovery: 'repair',
  chunkSamples: 1024,
  lock: true,
  checkpointWalBytes: 128 * 1024 * 1024,
  walSegmentBytes: 64 * 1024 * 1024,
  chunkFileBytes: 64 * 1024 * 1024,
  retryMs: 5000,
});

/** Options after validation. */
export interface ResolvedTsdbOptions extends TsdbSettings {
  dir: string;
  fs: FileSystem | undefined;
  logger: Logger;
  now: () => number;
  replayMeta: MetaReplay | undefined;
  beforeCheckpoint: (() => void) | undefined;
}

/**
 * A logger that drops everything (the default).
 *
 * @example
 * ```ts
 * const db = openTsdb({ dir, logger: silentLogger });
 * ```
 */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

const INTEGER_RULES: Readonly<Record<string, { min: number; max: number }>> = Object.freeze({
  fsyncIntervalMs: { min: 1, max: 2 ** 31 - 1 },
  retentionMs: { min: 0, max: Number.MAX_SAFE_INTEGER },
  maxDiskBytes: { min: 0, max: Number.MAX_SAFE_INTEGER },
  chunkSamples: { min: 1, max: 65_536 },
  checkpointWalBytes: { min: 1024, max: Number.MAX_SAFE_INTEGER },
  walSegmentBytes: { min: 4096, max: 2 ** 31 - 1 },
  chunkFileBytes: { min: 4096, max: 2 ** 31 - 1 },
  retryMs: { min: 1, max: Number.MAX_SAFE_INTEGER },
});

const CHOICES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  fsync: ['always', 'interval', 'off'],
  recovery: ['repair', 'strict'],
});

const KNOWN = new Set<string>([
  ...Object.keys(DEFAULTS),
  'dir',
  'fs',
  'logger',
  'now',
  'replayMeta',
  'beforeCheckpoint',
]);

/**
 * Checks options and fills in defaults. Throws a TypeError (wrong type,
 * unknown option) or a RangeError (out of range) naming the option.
 *
 * @example
 * ```ts
 * resolveTsdbOptions({ dir: './data' }).chunkSamples; // 1024
 * resolveTsdbOptions({ dir: './data', fsync: 'sometimes' });
 * // RangeError: fsync must be one of 'always', 'interval', 'off' (got 'sometimes')
 * ```
 */
export function resolveTsdbOptions(options: TsdbOptions): ResolvedTsdbOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object (got ${options === null ? 'null' : typeof options})`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`unknown option '${key}' (known: ${[...KNOWN].join(', ')})`);
  }
  const given = options as unknown as Record<string, unknown>;
  if (typeof given.dir !== 'string') throw new TypeError(`dir must be a string (got ${typeof given.dir})`);
  if (given.dir === '') throw new RangeError('dir must not be empty');
  const out: Record<string, unknown> = { ...DEFAULTS, dir: given.dir };
  for (const [key, rule] of Object.entries(INTEGER_RULES)) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== 'number') throw new TypeError(`${key} must be a number (got ${typeof value})`);
    if (!Number.isInteger(value) || value < rule.min || value > rule.max) {
      throw new RangeError(`${key} must be an integer from ${rule.min} to ${rule.max} (got ${value})`);
    }
    out[key] = value;
  }
  for (const [key, choices] of Object.entries(CHOICES)) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !choices.includes(value)) {
      const shown = typeof value === 'string' ? `'${value}'` : typeof value;
      throw new RangeError(`${key} must be one of ${choices.map((c) => `'${c}'`).join(', ')} (got ${shown})`);
    }
    out[key] = value;
  }
  if (given.lock !== undefined) {
    if (typeof given.lock !== 'boolean') throw new TypeError(`lock must be a boolean (got ${typeof given.lock})`);
    out.lock = given.lock;
  }
  const fs = given.fs as Partial<Record<string, unknown>> | undefined;
  if (fs !== undefined && (typeof fs !== 'object' || fs === null || typeof fs.openAppend !== 'function')) {
    throw new TypeError('fs must implement FileSystem (openAppend, readFile, ...)');
  }
  const logger = given.logger as Partial<Record<keyof Logger, unknown>> | undefined;
  if (logger !== undefined) {
    if (
      typeof logger !== 'object' ||
      logger === null ||
      typeof logger.debug !== 'function' ||
      typeof logger.info !== 'function' ||
      typeof logger.warn !== 'function' ||
      typeof logger.error !== 'function'
    ) {
      throw new TypeError('logger must have debug, info, warn and error methods (pino shape)');
    }
  }
  const now = given.now;
  if (now !== undefined && typeof now !== 'function') throw new TypeError(`now must be a function (got ${typeof now})`);
  const replay = given.replayMeta as Partial<Record<keyof MetaReplay, unknown>> | undefined;
  if (
    replay !== undefined &&
    (typeof replay !== 'object' ||
      replay === null ||
      typeof replay.begin !== 'function' ||
      typeof replay.reading !== 'function' ||
      typeof replay.end !== 'function')
  ) {
    throw new TypeError('replayMeta must have begin, reading and end methods');
  }
  const before = given.beforeCheckpoint;
  if (before !== undefined && typeof before !== 'function') {
    throw new TypeError(`beforeCheckpoint must be a function (got ${typeof before})`);
  }
  out.fs = fs;
  out.replayMeta = replay;
  out.beforeCheckpoint = before;
  out.logger = logger ?? silentLogger;
  out.now = now ?? Date.now;
  return out as unknown as ResolvedTsdbOptions;
}
