// What the storage scenarios share: temporary data dirs and their size on
// disk, opc-lite servers that own a data dir, @opc-lite/tsdb (the built
// package) to write a data dir directly as the server would, a paced UDP
// sender of native lines and timed commands on one TCP connection.
import { Buffer } from 'node:buffer';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { udpSocket } from './proc.mjs';
import { startServer } from './servers.mjs';
import { delay } from './util.mjs';
import { rng } from './workload.mjs';

/** A new empty directory under the OS's temp dir. */
export function tempDir(label) {
  return mkdtempSync(path.join(os.tmpdir(), `opc-bench-${label}-`));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The files under `dir`: `{ bytes, allocatedBytes, files, wal, chunks, checkpoint, other }`.
 * `bytes` adds up the file sizes, `allocatedBytes` the blocks the file system
 * gave them (st_blocks × 512); the last four split `bytes` by the layout of
 * docs/STORAGE.md, 'Directory layout'.
 */
export function dirSize(dir) {
  const out = { bytes: 0, allocatedBytes: 0, files: 0, wal: 0, chunks: 0, checkpoint: 0, other: 0 };
  const walk = (sub) => {
    for (const entry of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        walk(rel);
        continue;
      }
      const st = statSync(path.join(dir, rel));
      out.bytes += st.size;
      out.allocatedBytes += st.blocks * 512;
      out.files++;
      const part = rel.startsWith('wal/')
        ? 'wal'
        : rel.startsWith('chunks/')
          ? 'chunks'
          : rel.startsWith('checkpoint.')
            ? 'checkpoint'
            : 'other';
      out[part] += st.size;
    }
  };
  walk('');
  return out;
}

/**
 * An opc-lite server on `dir` (a new temporary one when not given) with the
 * default storage settings plus `extraArgs`. `shutdown()` stops it (SIGTERM:
 * a clean close, checkpoint written) and keeps the dir; `stop()` stops it and
 * removes the dir if this call created it.
 */
export async function startStorageServer({ extraArgs = [], dir, label = 'data' } = {}) {
  const owned = dir === undefined;
  const dataDir = dir ?? tempDir(label);
  let server;
  try {
    server = await startServer('opc-lite', { extraArgs, dataDir });
  } catch (err) {
    if (owned) removeDir(dataDir);
    throw err;
  }
  return {
    ...server,
    dataDir,
    shutdown: () => server.stop(),
    stop: async () => {
      try {
        return await server.stop();
      } finally {
        if (owned) removeDir(dataDir);
      }
    },
  };
}

let tsdb;
/** The built @opc-lite/tsdb (packages/tsdb/dist; `pnpm bench` builds it with the server). */
export async function loadTsdb() {
  tsdb ??= await import(new URL('../../packages/tsdb/dist/index.js', import.meta.url).href);
  return tsdb;
}

/**
 * Writes `readings` readings of every sensor of `list` (lib/workload.mjs)
 * into a data dir with @opc-lite/tsdb, as the server stores them: one series
 * per sensor named as the sensor, created in list order, seqs from 1,
 * timestamps `ts0 + i × intervalMs`; the readings of one instant for every
 * sensor, then the next instant, committed every ~100,000 readings; then a
 * clean close (checkpoint). Resolves `{ readings, ms, last }`, `last[j]`
 * the latest value of `list[j]`.
 */
export async function writeDataDir(dir, list, { readings, ts0, intervalMs }) {
  const { openTsdb } = await loadTsdb();
  const start = performance.now();
  const db = openTsdb({ dir, fsync: 'off', retentionMs: 0 });
  const last = new Array(list.length).fill(NaN);
  try {
    const ids = list.map((s) => db.createSeries(s.name));
    const commitEvery = Math.max(1, Math.floor(100_000 / list.length));
    for (let i = 0; i < readings; i++) {
      const ts = ts0 + i * intervalMs;
      for (let j = 0; j < list.length; j++) {
        last[j] = list[j].next();
        db.append(ids[j], i + 1, ts, last[j]);
      }
      if (i % commitEvery === commitEvery - 1) db.commit();
    }
  } finally {
    db.close();
  }
  return { readings: readings * list.length, ms: performance.now() - start, last };
}

/**
 * Sends `readings` readings of every sensor of `list` to 127.0.0.1:`port` as
 * native lines `name value ts seq` (ts in whole or fractional seconds, seq
 * the sender's count from 1), one instant for every sensor and then the next,
 * packed into datagrams of at most `maxBytes`. With `jitterMs`, each
 * timestamp is late by a whole number of ms below it (seeded), as from a
 * sender that stamps its clock's time. Paced so that the server's
 * socket queue stays under `maxQueueBytes` (no kernel drops); fails past
 * `timeoutMs`. Resolves `{ readings, datagrams, bytes, seconds }`.
 */
export async function sendReadings(
  port,
  list,
  { readings, ts0, intervalMs, jitterMs = 0, maxBytes = 1432, maxQueueBytes = 1 << 20, timeoutMs = 120_000 },
) {
  const late = rng(0x1a7e);
  const socket = createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const start = performance.now();
  const deadline = start + timeoutMs;
  let datagrams = 0;
  let bytes = 0;
  let sent = 0;
  let pending = [];
  const flush = async () => {
    const burst = pending;
    pending = [];
    await Promise.all(
      burst.map((buf) => new Promise((resolve, reject) => socket.send(buf, (err) => (err ? reject(err) : resolve())))),
    );
    datagrams += burst.length;
    // Wait for the server to take what is queued: a full receive buffer drops datagrams silently.
    while ((udpSocket(port)?.rxQueueBytes ?? 0) > maxQueueBytes) {
      if (performance.now() > deadline) throw new Error(`sendReadings: port ${port} not draining its queue`);
      await delay(1);
    }
    if (performance.now() > deadline) throw new Error(`sendReadings: not done within ${timeoutMs} ms`);
  };
  try {
    let text = '';
    for (let i = 0; i < readings; i++) {
      const at = ts0 + i * intervalMs;
      const seq = String(i + 1);
      for (const s of list) {
        const ts = String((jitterMs ? at + Math.floor(late() * jitterMs) : at) / 1000);
        const line = `${s.name} ${String(s.next())} ${ts} ${seq}`;
        if (text.length + 1 + line.length > maxBytes) {
          const buf = Buffer.from(text, 'latin1');
          bytes += buf.length;
          pending.push(buf);
          text = '';
          if (pending.length === 32) await flush();
        }
        text = text ? `${text}\n${line}` : line;
        sent++;
      }
    }
    if (text) {
      const buf = Buffer.from(text, 'latin1');
      bytes += buf.length;
      pending.push(buf);
    }
    await flush();
  } finally {
    socket.close();
  }
  return { readings: sent, datagrams, bytes, seconds: (performance.now() - start) / 1000 };
}

/** Whether `text` holds a whole multi-line reply: its last line is `END`. */
export const endsWithEnd = (text) => text === 'END\n' || text.endsWith('\nEND\n');

/**
 * One TCP connection to 127.0.0.1:`port` for timed commands, one at a time:
 * `request(line, isDone)` resolves `{ ms, text }`, `ms` from the write to the
 * reply's last byte (`isDone(text)` says when that is: by default the first
 * line end). Each request fails past `timeoutMs`.
 */
export async function connection(port, { timeoutMs = 30_000 } = {}) {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  socket.setEncoding('latin1');
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let failure;
  socket.on('error', (err) => (failure = err));
  return {
    request(line, isDone = (text) => text.endsWith('\n')) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => {
          socket.off('data', onData);
          reject(new Error(`'${line.trim()}' on port ${port}: no whole reply within ${timeoutMs} ms`));
        }, timeoutMs);
        const onData = (chunk) => {
          text += chunk;
          if (!isDone(text)) return;
          const ms = performance.now() - start;
          clearTimeout(timer);
          socket.off('data', onData);
          resolve({ ms, text });
        };
        socket.on('data', onData);
        const start = performance.now();
        socket.write(line);
      });
    },
    close: () => socket.destroy(),
  };
}
