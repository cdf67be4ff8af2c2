export type { FileHandle, FileSystem } from './types.js';
export { FileSystemError, errnoCode } from './errors.js';
export { NodeFileSystem } from './node.js';
export { FaultyFileSystem, type CrashMode, type FaultOp, type FaultyFileSystemOptions } from './faulty.js';
export type { Rng } from '../testing/rng.js';
