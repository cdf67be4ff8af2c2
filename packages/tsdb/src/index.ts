/**
 * @opc-lite/tsdb: an embedded time-series store for opc-lite's sensor
 * readings: a write-ahead log, Gorilla-compressed chunks, checkpoints,
 * retention and range reads, behind a small file-system interface.
 * The on-disk format: docs/STORAGE.md.
 */
export { openTsdb, type Tsdb, type SeriesInfo, type TsdbStats } from './db/tsdb.js';
export type { RecoveryReport } from './db/recovery.js';
export type { ReadingFn, BucketFn } from './db/query.js';
export { TsdbError, type TsdbErrorCode } from './db/errors.js';
export {
  DEFAULTS,
  silentLogger,
  type TsdbOptions,
  type TsdbSettings,
  type Logger,
  type FsyncMode,
  type RecoveryMode,
  type MetaReplay,
} from './db/options.js';
export {
  NodeFileSystem,
  FaultyFileSystem,
  FileSystemError,
  type FileSystem,
  type FileHandle,
  type CrashMode,
  type FaultOp,
  type FaultyFileSystemOptions,
  type Rng,
} from './fs/index.js';
export { createRng } from './testing/rng.js';
export { Wal, type WalOptions, type ReplayOptions, type ReplayReport } from './wal/index.js';
export { ChunkEncoder, ChunkReader, ChunkDecodeError, decodeChunk, CHUNK_FORMAT_VERSION } from './chunk/index.js';
