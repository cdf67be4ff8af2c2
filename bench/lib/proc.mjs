// What the kernel knows: per-socket UDP drops, receive-buffer errors, a
// process's resident size and CPU time, and a description of the machine.
import process from 'node:process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/**
 * The UDP socket bound to 127.0.0.1:<port>, from /proc/net/udp:
 * `{ rxQueueBytes, drops }` (drops: datagrams the kernel discarded because the
 * socket's receive buffer was full), or undefined when there is none.
 */
export function udpSocket(port) {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of read('/proc/net/udp').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== local) continue;
    const [, rx] = (f[4] ?? '0:0').split(':');
    return { rxQueueBytes: parseInt(rx, 16), drops: Number(f[f.length - 1]) };
  }
  return undefined;
}

/** Udp RcvbufErrors from /proc/net/snmp: machine-wide, a cross-check of the per-socket count. */
export function udpRcvbufErrors() {
  const lines = read('/proc/net/snmp')
    .split('\n')
    .filter((l) => l.startsWith('Udp: '));
  if (lines.length < 2) return NaN;
  const keys = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[keys.indexOf('RcvbufErrors')]);
}

/**
 * From /proc/<pid>/status: `{ rssBytes, hwmBytes, anonBytes, fileBytes }`
 * (VmRSS, VmHWM, RssAnon: private memory, RssFile: mapped files such as the
 * node binary, shared with other processes).
 */
export function memory(pid) {
  const status = read(`/proc/${pid}/status`);
  const kb = (key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM'), anonBytes: kb('RssAnon'), fileBytes: kb('RssFile') };
}

let clockTicks;
/** CPU seconds (user + system, all threads) the process has used so far. */
export function cpuSeconds(pid) {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = read(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after the command: state is field 3, utime 14, stime 15 (1-based) → indexes 11 and 12 here
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

const sysctl = (name) => read(`/proc/sys/${name.replaceAll('.', '/')}`).trim();

const tryRun = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return 'n/a';
  }
};

/** The machine a run was made on. */
export function machine() {
  const model = /^model name\s*:\s*(.*)$/m.exec(read('/proc/cpuinfo'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    nproc: Number(tryRun('nproc', [])) || os.availableParallelism(),
    cpuModel: model,
    kernel: os.release(),
    node: process.version,
    python: tryRun('python3', ['--version']).replace(/^Python /, ''),
    gcc: tryRun('gcc', ['-dumpfullversion']),
    memTotalMiB: Math.round(os.totalmem() / 1048576),
    rmemDefault: Number(sysctl('net.core.rmem_default')),
    rmemMax: Number(sysctl('net.core.rmem_max')),
  };
}

/** Packets dropped by the per-CPU input backlog (netdev_max_backlog), all CPUs: /proc/net/softnet_stat column 2. */
export function softnetDrops() {
  return read('/proc/net/softnet_stat')
    .split('\n')
    .filter(Boolean)
    .reduce((n, line) => n + parseInt(line.split(/\s+/)[1] ?? '0', 16), 0);
}

/** Read and write system calls the process has made (/proc/<pid>/io: syscr, syscw; socket writes count, recvmsg does not). */
export function syscalls(pid) {
  const io = read(`/proc/${pid}/io`);
  const get = (key) => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
  return { reads: get('syscr'), writes: get('syscw') };
}
