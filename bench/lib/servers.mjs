// Starting, querying and stopping the servers under test: opc-lite (the
// workspace's CLI), the plain Node reference and the Python seed reference.
// Every server listens on 127.0.0.1, on a port the OS picks.
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { URL, fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { cpuSeconds, memory, syscalls } from './proc.mjs';
import { delay } from './util.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OPC_BIN = `${ROOT}apps/opc-server/bin/opc-server.js`;
const NODE_REF = `${ROOT}bench/reference/plain-node-server.mjs`;
const PY_REF = `${ROOT}bench/reference/seed_server.py`;

/** The servers, in the order they are printed. `legacyOnly`: no native lines, no STATS, no SUB. */
export const SERVERS = Object.freeze({
  'opc-lite': { label: 'opc-lite', legacyOnly: false },
  node: { label: 'plain Node', legacyOnly: true },
  python: { label: 'Python seed', legacyOnly: true },
});

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 3_000;

/** Every server child still running: killed if the harness exits first (a signal, a failure). */
const children = new Set();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Keeps the last lines of a stream (a child's stderr must always be drained, or it blocks on a full pipe). */
function tail(stream, onLine, keep = 40) {
  const lines = [];
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (text) => {
    const parts = (rest + text).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > keep) lines.shift();
      onLine?.(line);
    }
  });
  return lines;
}

/**
 * CPU placement. With `pin` set, servers run on `serverCpu` and the load
 * generators on `loadCpu` (taskset), so that every server gets one core to
 * itself and the load the other, whatever the scheduler would have chosen.
 */
export const placement = { pin: false, serverCpu: 1, loadCpu: 0 };

/** Extra `node` flags for the opc-lite server (e.g. `--cpu-prof` when profiling). */
export const opcNodeFlags = [];

/** `[cmd, args]` run through taskset on `cpu` when pinning is on. */
export function pinned(cmd, args, cpu) {
  return placement.pin && cpu !== undefined ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

/**
 * Starts a server and resolves once it listens:
 * `{ kind, pid, port, recvBufferBytes, requestedRecvBufferBytes, stop(), stats(), memory(), cpuSeconds() }`.
 */
export async function startServer(kind, { extraArgs = [], dataDir } = {}) {
  let cmd;
  let args;
  if (kind === 'opc-lite') {
    cmd = process.execPath;
    // The hub's own figures are measured without storage; storage scenarios pass a temporary data dir.
    const storage = dataDir === undefined ? ['--memory'] : ['--data-dir', dataDir];
    args = [
      ...opcNodeFlags,
      OPC_BIN,
      // No HTTP listener: its default port is fixed, and the figures are of UDP and TCP.
      ...['--port', '0', '--http-port', '0', '--log-format', 'json', '--stats-interval-ms', '0'],
      ...storage,
      ...extraArgs,
    ];
  } else if (kind === 'node') {
    cmd = process.execPath;
    args = [NODE_REF, '0'];
  } else if (kind === 'python') {
    cmd = 'python3';
    args = [PY_REF, '0'];
  } else {
    throw new TypeError(`unknown server ${kind}`);
  }
  [cmd, args] = pinned(cmd, args, placement.serverCpu);
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  let onReady;
  const ready = new Promise((resolve) => (onReady = resolve));
  const parseReady = (line) => {
    const m = /^ready tcp=([\d.]+):(\d+) udp=([\d.]+):(\d+)/.exec(line);
    if (m) onReady({ port: Number(m[2]), udpPort: Number(m[4]) });
    if (kind === 'opc-lite' && line.startsWith('{')) {
      try {
        const o = JSON.parse(line);
        if (typeof o.tcp === 'string' && typeof o.udp === 'string') {
          onReady({
            port: Number(o.tcp.split(':').pop()),
            udpPort: Number(o.udp.split(':').pop()),
            recvBufferBytes: o.recvBufferBytes,
            requestedRecvBufferBytes: o.requestedRecvBufferBytes,
          });
        }
      } catch {
        // not a JSON log line
      }
    }
  };
  const out = tail(child.stdout, parseReady);
  const err = tail(child.stderr, parseReady);
  child.on('error', () => onReady(undefined));
  const timer = delay(READY_TIMEOUT_MS, undefined, { ref: false }).then(() => undefined);
  const address = await Promise.race([ready, exited.then(() => undefined), timer]);
  if (!address) {
    child.kill('SIGKILL');
    throw new Error(`${kind} server did not start (${cmd} ${args.join(' ')}):\n${[...out, ...err].join('\n')}`);
  }
  if (address.udpPort !== address.port) {
    child.kill('SIGKILL');
    throw new Error(`${kind} server: UDP port ${address.udpPort} differs from TCP port ${address.port}`);
  }

  let stopping;
  const server = {
    kind,
    pid: child.pid,
    port: address.port,
    recvBufferBytes: address.recvBufferBytes,
    requestedRecvBufferBytes: address.requestedRecvBufferBytes,
    output: () => [...out, ...err].join('\n'),
    alive: () => child.exitCode === null && child.signalCode === null,
    memory: () => memory(child.pid),
    cpuSeconds: () => cpuSeconds(child.pid),
    syscalls: () => syscalls(child.pid),
    stats: () => (kind === 'opc-lite' ? fetchStats(address.port) : Promise.resolve(undefined)),
    /** SIGTERM, then SIGKILL if it has not exited within a few seconds. */
    stop: () => {
      stopping ??= (async () => {
        if (!server.alive()) return exited;
        child.kill('SIGTERM');
        const done = await Promise.race([
          exited,
          delay(STOP_TIMEOUT_MS, undefined, { ref: false }).then(() => undefined),
        ]);
        if (done) return done;
        child.kill('SIGKILL');
        return exited;
      })();
      return stopping;
    },
  };
  return server;
}

/** `STATS` over TCP → `{ key: number }`. Rejects after `timeoutMs`. */
export function fetchStats(port, timeoutMs = 5_000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`STATS on port ${port}: no END within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('STATS\n'));
    socket.on('data', (chunk) => {
      text += chunk;
      if (!/(^|\n)END\r?\n/.test(text)) return;
      clearTimeout(timer);
      socket.end();
      const stats = {};
      for (const line of text.split('\n')) {
        const m = /^STAT (\S+) (.*?)\r?$/.exec(line);
        if (m) stats[m[1]] = Number.isNaN(Number(m[2])) ? m[2] : Number(m[2]);
      }
      resolve(stats);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Sends one TCP command line and collects reply lines until `isLast(line)`
 * (default: the first line). Used for small set-up queries (LIST, HIST, n).
 */
export function query(port, command, { isLast = () => true, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const lines = [];
    let rest = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`'${command.trim()}' on port ${port}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line.replace(/\r$/, ''));
        if (isLast(line)) {
          clearTimeout(timer);
          socket.destroy();
          resolve(lines);
          return;
        }
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(lines);
    });
  });
}
