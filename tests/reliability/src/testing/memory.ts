/**
 * Memory measurement with a full garbage collection first, so that a
 * before/after difference shows what is retained, not what is merely not
 * collected yet.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** `process.memoryUsage()` after two full collections. */
export function settledMemory(): NodeJS.MemoryUsage {
  collect();
  collect();
  return process.memoryUsage();
}

/** Bytes as MiB with one decimal, for figures. */
export function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}
