/**
 * The `opc-server` CLI on a data directory, for the crash rounds: small log
 * segments and frequent checkpoints (so that a short round rotates and
 * checkpoints many times), a chosen fsync and recovery mode, and optionally
 * the crash-point preload (./crash-point.mjs) that kills the process at a
 * named point of its file work.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startServerCli, type LogLine, type ServerCli } from '../testing/processes.js';

/** The `--fsync` modes (docs/STORAGE.md, "Durability modes"). */
export const FSYNC_MODES = ['always', 'interval', 'off'] as const;
export type FsyncMode = (typeof FSYNC_MODES)[number];

/** The points ./crash-point.mjs can kill at (its comments say where each one is). */
export const CRASH_POINTS = [
  'wal-segment-created',
  'checkpoint-tmp-written',
  'checkpoint-renamed',
  'wal-segment-deleted',
  'chunk-write',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/**
 * What the preload can do besides: `lose-log-writes` drops every log write
 * from the Nth on and kills at the next checkpoint, a store that breaks the
 * promise, for the test that proves the checks notice.
 */
export type PreloadPoint = CrashPoint | 'lose-log-writes';

/** The file the preload is loaded from. */
export const CRASH_PRELOAD = new URL('./crash-point.mjs', import.meta.url);

/** What the preload writes just before it kills the process. */
export interface CrashMarker {
  point: PreloadPoint;
  /** How many times the point had been reached, this one included. */
  n: number;
  /** The file the point is about (for `chunk-write`, `fd <n>`). */
  path: string;
  /** For a checkpoint's rename: the other name. */
  to?: string;
  from?: string;
  /** For `wal-segment-created`: the functions on the stack, innermost first. */
  calls?: string[];
}

/** Options of {@link startStoreServer}. */
export interface StoreServerOptions {
  dataDir: string;
  fsync: FsyncMode;
  recovery?: 'repair' | 'strict';
  /** Default 0 (any free port). */
  port?: number;
  /** Load the preload: kill at the `nth` time `point` is reached, after writing `marker`. */
  crash?: { point: PreloadPoint; nth: number; marker: string };
}

/** Log segments of 4 KiB and a checkpoint every 8 KiB of log: the smallest the CLI allows, near enough. */
export const STORAGE_ARGS = Object.freeze(['--wal-segment-bytes', '4096', '--checkpoint-wal-bytes', '8192']);

/** A server on a data directory, and its line about what it recovered. */
export interface StoreServer extends ServerCli {
  /** The `history is kept in <dir>` line: `sensors`, `readings`, `bytesDropped`, `recoveryMs`. */
  history: LogLine;
}

/** Starts the server and waits for its start line and its storage line. */
export async function startStoreServer(options: StoreServerOptions): Promise<StoreServer> {
  const args = [
    '--port',
    String(options.port ?? 0),
    '--data-dir',
    options.dataDir,
    '--fsync',
    options.fsync,
    '--recovery',
    options.recovery ?? 'repair',
    ...STORAGE_ARGS,
  ];
  const env: Record<string, string> = {};
  if (options.crash !== undefined) {
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${CRASH_PRELOAD.href}`.trim();
    env.OPC_CRASH_POINT = options.crash.point;
    env.OPC_CRASH_NTH = String(options.crash.nth);
    env.OPC_CRASH_MARKER = options.crash.marker;
  }
  const cli = await startServerCli(args, env);
  const history = await cli.child.waitFor(
    () => cli.logs().find((line) => typeof line.dataDir === 'string'),
    'the storage line of the server',
  );
  return { ...cli, history };
}

/** The marker the preload wrote, or undefined when it wrote none (the point was never reached). */
export function readMarker(path: string): CrashMarker | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CrashMarker;
  } catch {
    return undefined;
  }
}

/** The files of a data directory, as `relative path → size`. */
export function listDataDir(dataDir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const sub of ['', 'wal', 'chunks']) {
    let names: string[];
    try {
      names = readdirSync(join(dataDir, sub));
    } catch {
      continue;
    }
    for (const name of names) {
      const rel = sub === '' ? name : `${sub}/${name}`;
      const stat = statSync(join(dataDir, rel));
      if (stat.isFile()) out.set(rel, stat.size);
    }
  }
  return out;
}
