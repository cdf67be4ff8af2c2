// A preload for an opc-server child (NODE_OPTIONS=--import <this file's URL>)
// that kills the process with SIGKILL at a named point of the store's file
// work, the Nth time the point is reached, with no hook in the server's code.
// The store (@opc-lite/tsdb, src/fs/node.ts) does all its file work through
// synchronous node:fs calls; this module wraps the ones that mark the points
// (docs/STORAGE.md, "Checkpoints" and "Write-ahead log") and, at the Nth
// match, writes a marker file (JSON: the point, the count, the path) and then
// kills its own process, so the test can prove the crash happened where it
// meant it to.
//
// Environment:
//   OPC_CRASH_POINT   one of the names in POINTS below
//   OPC_CRASH_NTH     which match kills (1 = the first), counted from the process's start (the store's own
//                     start, which writes a checkpoint in a new directory, counts too)
//   OPC_CRASH_MARKER  the absolute path of the marker file

import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename, dirname } from 'node:path';
import process from 'node:process';

const point = process.env.OPC_CRASH_POINT ?? '';
const nth = Number(process.env.OPC_CRASH_NTH ?? '');
const markerPath = process.env.OPC_CRASH_MARKER ?? '';

const POINTS = [
  // a commit filled its log segment and the next one was just created (still empty: no header yet)
  'wal-segment-created',
  // a checkpoint's .tmp file is written and fsynced, its rename not done
  'checkpoint-tmp-written',
  // the checkpoint was just renamed into place; the directory not fsynced, the older files not deleted
  'checkpoint-renamed',
  // one of the log segments a checkpoint replaces was just deleted, the others maybe not yet
  'wal-segment-deleted',
  // a chunk file is about to be written (by a commit, after its log write; or by a checkpoint)
  'chunk-write',
  // not a crash point but a broken store, for the test that proves the checks can fail: from the Nth write
  // to the log on, log writes are dropped (reported as done), and once ten were dropped since the last
  // checkpoint (so that turns were shown to clients since) the process is killed at the next checkpoint's
  // rename: what was shown since the last checkpoint is not on the disk
  'lose-log-writes',
];

if (!POINTS.includes(point) || !Number.isSafeInteger(nth) || nth < 1 || markerPath === '') {
  throw new Error(
    `crash-point preload: OPC_CRASH_POINT must be one of ${POINTS.join(', ')} (got '${point}'), ` +
      `OPC_CRASH_NTH an integer >= 1 (got '${process.env.OPC_CRASH_NTH}'), OPC_CRASH_MARKER a path`,
  );
}

const original = {
  openSync: fs.openSync,
  closeSync: fs.closeSync,
  writeSync: fs.writeSync,
  renameSync: fs.renameSync,
  unlinkSync: fs.unlinkSync,
  existsSync: fs.existsSync,
  writeFileSync: fs.writeFileSync,
};

const SEGMENT = /^\d{8,}$/;
const CHUNK_FILE = /^\d{8}$/;
const CHECKPOINT_TMP = /^checkpoint\.\d+\.tmp$/;
const inDir = (path, dir, name) =>
  typeof path === 'string' && basename(dirname(path)) === dir && name.test(basename(path));

let count = 0;
/** Descriptors open on chunk files and on log segments. */
const chunkFds = new Set();
const walFds = new Set();
let losing = false;
/** Log writes dropped since the last checkpoint was renamed into place. */
let dropped = 0;

/** The names of the functions on the stack, innermost first (`at <name> (file:...)`). */
function callers() {
  const frames = (new Error().stack ?? '').split('\n').slice(2, 12);
  return frames.map((line) => /^\s*at (?:new )?(\S+) \(/.exec(line)?.[1]).filter((name) => name !== undefined);
}

function crash(path, detail) {
  original.writeFileSync(markerPath, JSON.stringify({ point, n: count, path, ...detail }));
  process.kill(process.pid, 'SIGKILL');
}

function reached(path, detail) {
  count++;
  if (count >= nth) crash(path, detail);
}

fs.openSync = function openSync(path, flags, mode) {
  const isNewSegment = point === 'wal-segment-created' && inDir(path, 'wal', SEGMENT) && !original.existsSync(path);
  const fd = original.openSync(path, flags, mode);
  if (inDir(path, 'chunks', CHUNK_FILE)) chunkFds.add(fd);
  if (inDir(path, 'wal', SEGMENT)) walFds.add(fd);
  if (isNewSegment) {
    // A segment started by a checkpoint's cut of the log is not a rotation: skip it.
    const calls = callers();
    if (!calls.some((name) => name.endsWith('.cut') || name === '#checkpointNow')) reached(path, { calls });
  }
  return fd;
};

fs.closeSync = function closeSync(fd) {
  chunkFds.delete(fd);
  walFds.delete(fd);
  return original.closeSync(fd);
};

fs.writeSync = function writeSync(fd, ...rest) {
  if (point === 'chunk-write' && chunkFds.has(fd)) reached(`fd ${fd}`, {});
  if (point === 'lose-log-writes' && walFds.has(fd) && (losing || ++count >= nth)) {
    losing = true;
    dropped++;
    // writeSync(fd, buffer, offset, length), as src/fs/node.ts calls it: claim the whole length written
    const [buffer, offset = 0, length = buffer.length - offset] = rest;
    return length;
  }
  return original.writeSync(fd, ...rest);
};

fs.renameSync = function renameSync(from, to) {
  const isCheckpoint = typeof from === 'string' && CHECKPOINT_TMP.test(basename(from));
  if (isCheckpoint && point === 'checkpoint-tmp-written') reached(from, { to });
  if (isCheckpoint && losing && dropped >= 10) crash(from, { to, dropped });
  original.renameSync(from, to);
  if (isCheckpoint) dropped = 0;
  if (isCheckpoint && point === 'checkpoint-renamed') reached(to, { from });
};

fs.unlinkSync = function unlinkSync(path) {
  original.unlinkSync(path);
  if (point === 'wal-segment-deleted' && inDir(path, 'wal', SEGMENT)) reached(path, {});
};

// `import * as fs from 'node:fs'` in the store sees these wrappers only once the ESM bindings are synced.
syncBuiltinESMExports();
