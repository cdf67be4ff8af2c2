// The C load generators: compiled with the machine's gcc into bench/build/
// (skipped when the binary is newer than its sources), run as separate
// processes, each printing one JSON object on stdout.
import { clearTimeout, setTimeout } from 'node:timers';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { pinned, placement, ROOT } from './servers.mjs';
import { delay } from './util.mjs';

const SRC = `${ROOT}bench/loadgen/`;
const BUILD = `${ROOT}bench/build/`;
export const TOOLS = Object.freeze(['udp_send', 'tcp_poll', 'fanout_sub']);
const CFLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

/** Compiles every tool whose binary is missing or older than its source or common.h; returns the names compiled. */
export function compileLoadgen() {
  mkdirSync(BUILD, { recursive: true });
  const compiled = [];
  for (const tool of TOOLS) {
    const out = `${BUILD}${tool}`;
    const newest = Math.max(mtime(`${SRC}${tool}.c`), mtime(`${SRC}common.h`));
    if (mtime(out) > newest) continue;
    execFileSync('gcc', [...CFLAGS, '-o', out, `${SRC}${tool}.c`], { stdio: 'inherit' });
    compiled.push(tool);
  }
  return compiled;
}

/**
 * Runs a tool to completion and resolves with its JSON report. The child is
 * killed if it outlives `timeoutMs` (every tool has its own deadline too).
 * `onLine` sees each stdout line before the report (fanout_sub's `ready`).
 */
export function runTool(tool, args, { timeoutMs = 60_000, onLine, cpu = placement.loadCpu } = {}) {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = pinned(`${BUILD}${tool}`, args.map(String), cpu);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      stdout += text;
      const parts = (rest + text).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) onLine?.(line);
    });
    child.stderr.on('data', (text) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) {
        try {
          resolve(JSON.parse(last));
          return;
        } catch {
          // fall through
        }
      }
      reject(
        new Error(`${tool} ${args.join(' ')} failed (code ${code}, signal ${signal}): ${stderr.trim() || stdout}`),
      );
    });
  });
}

/** A tool's own CPU use over `seconds` of wall time, in % of one core (from its getrusage). */
export function toolCpuPct(report, seconds) {
  return (100 * (report.cpu_user_s + report.cpu_sys_s)) / seconds;
}

/**
 * Starts `fanout_sub` and resolves `{ result }` once every subscriber is
 * subscribed (its `ready` line); `result` resolves with its report.
 */
export async function startSubscribers(args, { timeoutMs }) {
  let onReady;
  const ready = new Promise((resolve) => (onReady = resolve));
  const result = runTool('fanout_sub', args, { timeoutMs, onLine: (line) => line === 'ready' && onReady(true) });
  const outcome = await Promise.race([
    ready,
    result.then(
      () => false,
      () => false,
    ),
    delay(15_000, undefined, { ref: false }).then(() => false),
  ]);
  if (!outcome) {
    const report = await result.catch((err) => err);
    throw new Error(
      `fanout_sub never got its subscriptions acknowledged: ${JSON.stringify(report?.message ?? report)}`,
    );
  }
  return { result };
}
