// Scenario 18, guessing tokens (docs/SECURITY.md, "Guessing tokens"): a server with an auth file and its default
// failure limits, a good client authenticated beforehand polling `n` one at a time, and an attacker on the same
// address (another process, on the load core) making connection after connection with a wrong `AUTH`, 8 at once,
// for the whole window (at least 1,000 tokens). The good client's p50/p99 poll latency against the same client on
// a server nobody attacks, in the same run: the ratio says what the attack costs it. The attacker's figures say
// how many of its tokens were checked (scrypt) and how many were refused without a check.
import process from 'node:process';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { pinned, placement, ROOT, startServer } from '../lib/servers.mjs';
import { micros, si, spread } from '../lib/util.mjs';

const GOOD = 'bench-good-token-0123456789abcdef';
const VALUE = '0.35';
const MIN_ATTEMPTS = 1000;
const CASES = [{ key: 'poll', label: 'n, 1×1' }];

// The attacker: connection after connection, `AUTH wrong-<i>`, `concurrency` at once, until its stdin closes;
// then one JSON line with what it got.
const ATTACKER = `
const net = require('node:net');
const [port, concurrency, min] = process.argv.slice(1).map(Number);
let stop = false, attempts = 0, refused = 0, unknown = 0, other = 0, done = 0;
process.stdin.on('end', () => (stop = true)).resume();
const once = () => new Promise((resolve) => {
  const s = net.connect({ host: '127.0.0.1', port });
  let text = '';
  s.setEncoding('latin1');
  s.on('connect', () => s.write('AUTH wrong-' + attempts++ + '\\n'));
  s.on('data', (d) => {
    text += d;
    if (!text.includes('\\n')) return;
    if (text.includes('too many failed attempts')) refused++;
    else if (text.startsWith('ERR auth-failed unknown token')) unknown++;
    else other++;
    s.destroy();
  });
  s.on('error', () => undefined);
  s.on('close', resolve);
});
const worker = async () => { while (!stop || attempts < min) await once(); };
Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
  process.stdout.write(JSON.stringify({ attempts, refused, unknown, other }) + '\\n');
});
`;

/** A line client on the poller's connection: `ask` writes and resolves with the next line. */
async function lineClient(port) {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setEncoding('latin1');
  let buffer = '';
  const lines = [];
  let wake;
  socket.on('data', (d) => {
    buffer += d;
    let lf;
    while ((lf = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, lf));
      buffer = buffer.slice(lf + 1);
    }
    wake?.();
  });
  socket.on('close', () => wake?.());
  const next = async () => {
    while (lines.length === 0) {
      if (socket.destroyed) throw new Error('the server closed the good client');
      await new Promise((resolve) => (wake = resolve));
    }
    return lines.shift();
  };
  return {
    ask: (line) => (socket.write(line), next()),
    next,
    close: () => socket.destroy(),
  };
}

/** Polls one at a time for `seconds`, and on until `busy()` is false. */
async function pollFor(client, seconds, busy = () => false) {
  const latencies = [];
  let bad = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || busy()) {
    const t = performance.now();
    const reply = await client.ask('n');
    latencies.push((performance.now() - t) * 1000);
    if (reply !== VALUE) bad++;
  }
  return { latencies, bad };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** @type {import('../run.mjs').Scenario} */
export default {
  id: 18,
  slug: 'brute-force',
  title: 'guessing tokens: a good client polling n while 8 connections at once send wrong tokens, against no attack',
  servers: ['attacked', 'quiet'],
  primary: 'p99_us',
  lowerIsBetter: true,
  cases: () => CASES,
  extraRatios: () => ['p50_us'],
  async start(kind) {
    // The built package, as the CLI uses it (run.mjs builds opc-server first).
    const { hashToken } = await import(`${ROOT}packages/opc-server/dist/index.js`);
    const dir = mkdtempSync(join(tmpdir(), 'opc-bench-auth-'));
    const file = join(dir, 'auth');
    writeFileSync(file, `token poller ${await hashToken(GOOD)} read=* admin\n`, { mode: 0o600 });
    const server = await startServer('opc-lite', { extraArgs: ['--auth-file', file] });
    return {
      ...server,
      kind,
      stop: async () => {
        try {
          return await server.stop();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  },
  async prepare(server) {
    // The value every poll must read: a datagram (UDP carries no token).
    const udp = createSocket('udp4');
    await new Promise((resolve) => udp.send(`default ${VALUE}`, server.port, '127.0.0.1', resolve));
    udp.close();
  },
  async measure({ server, ctx }) {
    const client = await lineClient(server.port);
    let attacker;
    try {
      if ((await client.ask(`AUTH ${GOOD}\n`)) !== 'OK AUTH poller') throw new Error('the good token was refused');
      for (let i = 0; i < 100 && (await client.ask('n')) !== VALUE; i++) await new Promise((r) => setTimeout(r, 20));
      await pollFor(client, ctx.warmup);
      const cpu = server.cpuSeconds();
      const started = performance.now();
      let result;
      if (server.kind === 'attacked') {
        const [cmd, args] = pinned(
          process.execPath,
          ['-e', ATTACKER, String(server.port), '8', String(MIN_ATTEMPTS)],
          placement.loadCpu,
        );
        attacker = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
        let out = '';
        attacker.stdout.setEncoding('utf8').on('data', (d) => (out += d));
        let running = true;
        const exited = new Promise((resolve) => attacker.once('exit', resolve)).then(() => (running = false));
        // The window's end tells the attacker to stop once it has sent its 1,000; polls go on until it has.
        const window = setTimeout(() => attacker.stdin.end(), ctx.seconds * 1000);
        const polls = await pollFor(client, ctx.seconds, () => running);
        clearTimeout(window);
        await exited;
        result = { polls, attack: JSON.parse(out.trim() || '{}') };
      } else {
        result = { polls: await pollFor(client, ctx.seconds), attack: {} };
      }
      const elapsed = (performance.now() - started) / 1000;
      const serverCpu = server.cpuSeconds() - cpu;
      // STATS needs admin: the good client's own connection asks.
      client.ask('STATS\n');
      const stats = {};
      for (let line = await client.next(); line !== 'END'; line = await client.next()) {
        const m = /^STAT (\S+) (\S+)/.exec(line);
        if (m) stats[m[1]] = Number(m[2]);
      }
      const sorted = result.polls.latencies.sort((a, b) => a - b);
      return {
        polls: sorted.length,
        polls_per_s: sorted.length / elapsed,
        window_s: elapsed,
        p50_us: quantile(sorted, 0.5),
        p99_us: quantile(sorted, 0.99),
        p999_us: quantile(sorted, 0.999),
        max_us: sorted.at(-1) ?? NaN,
        bad_replies: result.polls.bad,
        attempts: result.attack.attempts ?? 0,
        attempts_per_s: (result.attack.attempts ?? 0) / elapsed,
        refused: result.attack.refused ?? 0,
        other_replies: result.attack.other ?? 0,
        auth_failed: stats.auth_failed ?? NaN,
        auth_refused: stats.auth_refused ?? NaN,
        server_cpu_pct: (100 * serverCpu) / elapsed,
      };
    } finally {
      attacker?.kill('SIGKILL');
      client.close();
    }
  },
  line(kase, r, order) {
    const parts = order.map((kind) => {
      const m = r[kind];
      if (!m) return undefined;
      const attack =
        kind === 'attacked'
          ? ` | ${si(m.attempts.median)} wrong tokens in ${m.window_s.median.toFixed(1)} s, ` +
            `${si(m.auth_failed.median)} checked, ${si(m.auth_refused.median)} refused unchecked`
          : '';
      const bad = m.bad_replies.max ? ` BAD ${m.bad_replies.max}` : '';
      return (
        `${kind} ${spread(m.polls_per_s)} polls/s p50 ${micros(m.p50_us.median)} p99 ${micros(m.p99_us.median)} ` +
        `p999 ${micros(m.p999_us.median)} cpu ${Math.round(m.server_cpu_pct.median)}%${attack}${bad}`
      );
    });
    return `${kase.label.padEnd(8)} ${parts.filter(Boolean).join(' | ')}`;
  },
  check(m) {
    if (m.polls === 0 || m.bad_replies > 0) return `polls ${m.polls}, bad replies ${m.bad_replies}`;
    if (m.attempts > 0 && (m.attempts < MIN_ATTEMPTS || m.other_replies > 0)) {
      return `attempts ${m.attempts}, replies other than auth-failed ${m.other_replies}`;
    }
    return undefined;
  },
};
