// How it works: the data directory's LOCK file is created with O_EXCL and
// holds three lines: a versioned magic, the holder's pid and hostname, and a
// random token. When the file already exists, the holder is alive if it is
// this process and the token belongs to a store open here now, or if it is
// another pid on this host that `process.kill(pid, 0)` finds. A LOCK left by a
// dead process (or by an earlier life of this pid, as PID 1 in a restarted
// container) is stale: it is removed and taken. A LOCK from another host is
// never taken over: its liveness cannot be checked from here.
// docs/STORAGE.md, "LOCK".

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { errnoCode } from '../fs/errors.js';
import type { FileSystem } from '../fs/types.js';
import { TsdbError } from './errors.js';

const MAGIC_LINE = 'opc-lite-tsdb-lock 1';

/** Tokens of the LOCK files held by stores open in this process. */
const held = new Set<string>();

/** A held LOCK. */
export interface Lock {
  readonly path: string;
  readonly token: string;
}

interface LockContent {
  pid: number;
  host: string;
  token: string;
}

function parse(bytes: Uint8Array): LockContent | undefined {
  const lines = new TextDecoder().decode(bytes).split('\n');
  if (lines[0] !== MAGIC_LINE) return undefined;
  const pid = Number(/^pid=(\d+)$/.exec(lines[1] ?? '')?.[1]);
  const host = /^hostname=(.*)$/.exec(lines[2] ?? '')?.[1];
  const token = /^token=([0-9a-f]+)$/.exec(lines[3] ?? '')?.[1];
  if (!Number.isSafeInteger(pid) || host === undefined || token === undefined) return undefined;
  return { pid, host, token };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/**
 * Takes the LOCK file at `path`; throws TsdbError ERR_LOCKED naming the holder
 * when it is alive. Other file-system errors are thrown as they are.
 */
export function acquireLock(fs: FileSystem, path: string): Lock {
  const token = randomBytes(8).toString('hex');
  const host = hostname();
  const content = new TextEncoder().encode(`${MAGIC_LINE}\npid=${process.pid}\nhostname=${host}\ntoken=${token}\n`);
  for (let attempt = 0; ; attempt++) {
    try {
      fs.createExclusive(path, content);
      held.add(token);
      return { path, token };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST' || attempt > 1) throw err;
    }
    let existing: LockContent | undefined;
    try {
      existing = parse(fs.readFile(path));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw err;
    }
    if (existing !== undefined) {
      const here = existing.host === host;
      const alive = here && (existing.pid === process.pid ? held.has(existing.token) : isAlive(existing.pid));
      if (alive || !here) {
        const note = !here
          ? ' (another host: remove the LOCK file if that process is gone)'
          : existing.pid === process.pid
            ? ' (another store in this process)'
            : '';
        throw new TsdbError('ERR_LOCKED', `${path} is held by process ${existing.pid} on ${existing.host}${note}`);
      }
    }
    // A stale or unreadable LOCK: remove it and try once more.
    fs.unlink(path);
  }
}

/** Releases a lock taken by {@link acquireLock}, unless the file now holds someone else's token. Never throws. */
export function releaseLock(fs: FileSystem, lock: Lock): void {
  held.delete(lock.token);
  try {
    const existing = parse(fs.readFile(lock.path));
    if (existing?.token === lock.token) fs.unlink(lock.path);
  } catch {
    // Already gone, or unreadable: nothing of ours to remove.
  }
}
