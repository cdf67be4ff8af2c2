#!/usr/bin/env node
// Scenario 13's clients, in a process of their own: N streaming clients of one
// sensor, either Server-Sent Events (`GET /api/stream?pattern=<name>`) or TCP
// (`SUB <name> 0`), the same Node code around each so that the two paths are
// compared with the same client cost. Counts the readings each client gets,
// seq gaps, and the delivery latency (receipt − the reading's timestamp,
// which udp_send -T sets to the send time). Prints one JSON object.
//
//   node bench/stream-clients.mjs --mode sse|tcp --port P --name N --clients C
//        --count READINGS --timeout-s S [--idle-ms MS]
//
// Bounded: ends once every client has `count` readings, once none came for
// `idle-ms` after the first, or at the timeout.
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    mode: { type: 'string' },
    port: { type: 'string' },
    name: { type: 'string' },
    clients: { type: 'string' },
    count: { type: 'string' },
    'timeout-s': { type: 'string' },
    'idle-ms': { type: 'string', default: '1500' },
  },
});
const mode = o.mode;
const port = Number(o.port);
const name = o.name;
const clients = Number(o.clients);
const count = Number(o.count);
const timeoutMs = Number(o['timeout-s']) * 1000;
const idleMs = Number(o['idle-ms']);
if (!['sse', 'tcp'].includes(mode) || !(port > 0) || !name || !(clients > 0) || !(count > 0) || !(timeoutMs > 0)) {
  process.stderr.write(
    'usage: stream-clients.mjs --mode sse|tcp --port P --name N --clients C --count R --timeout-s S\n',
  );
  process.exit(2);
}

const MAX_SAMPLES = 4_000_000;
const latencies = new Float64Array(MAX_SAMPLES);
let samples = 0;
let received = 0;
let gaps = 0;
let closed = 0;
let firstAt = NaN;
let lastAt = NaN;
const done = new Set();
const sockets = [];
const cpu0 = process.cpuUsage();
const origin = performance.timeOrigin;

let finish;
const finished = new Promise((resolve) => (finish = resolve));

/** One reading `seq` stamped `ts` (epoch ms) for client `c`. */
function got(c, state, seq, ts) {
  const now = performance.now();
  if (Number.isNaN(firstAt)) firstAt = now;
  lastAt = now;
  received++;
  if (state.seq > 0 && seq !== state.seq + 1) gaps++;
  state.seq = seq;
  if (samples < MAX_SAMPLES) latencies[samples++] = origin + now - ts;
  if (++state.n >= count && !done.has(c)) {
    done.add(c);
    if (done.size === clients) finish();
  }
}

function sse(c) {
  const state = { seq: 0, n: 0 };
  const req = http.get({ host: '127.0.0.1', port, path: `/api/stream?pattern=${encodeURIComponent(name)}` }, (res) => {
    if (res.statusCode !== 200) {
      process.stderr.write(`client ${c}: HTTP ${res.statusCode}\n`);
      closed++;
      res.resume();
      return;
    }
    res.setEncoding('utf8');
    let rest = '';
    res.on('data', (chunk) => {
      rest += chunk;
      let end;
      while ((end = rest.indexOf('\n\n')) !== -1) {
        const event = rest.slice(0, end);
        rest = rest.slice(end + 2);
        if (!event.includes('event: readings')) continue;
        const at = event.indexOf('\ndata: ');
        for (const [, seq, ts] of JSON.parse(event.slice(at + 7))) got(c, state, seq, ts);
      }
    });
    res.on('close', () => closed++);
  });
  req.on('error', () => closed++);
  sockets.push(req);
}

function tcp(c) {
  const state = { seq: 0, n: 0 };
  const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(`SUB ${name} 0\n`));
  socket.setEncoding('latin1');
  let rest = '';
  socket.on('data', (chunk) => {
    rest += chunk;
    let start = 0;
    let end;
    while ((end = rest.indexOf('\n', start)) !== -1) {
      if (rest.startsWith('PUB ', start)) {
        // PUB <name> <value> <ts> <seq>
        const f = rest.slice(start, end).split(' ');
        got(c, state, Number(f[4]), Number(f[3]));
      }
      start = end + 1;
    }
    rest = rest.slice(start);
  });
  socket.on('close', () => closed++);
  socket.on('error', () => undefined);
  sockets.push(socket);
}

for (let c = 0; c < clients; c++) (mode === 'sse' ? sse : tcp)(c);
process.stdout.write('ready\n');

const timer = setTimeout(finish, timeoutMs);
const idle = setInterval(() => {
  if (!Number.isNaN(lastAt) && performance.now() - lastAt > idleMs) finish();
}, 50);
await finished;
clearTimeout(timer);
clearInterval(idle);
for (const s of sockets) s.destroy();

const sorted = latencies.subarray(0, samples).sort();
const q = (p) => (samples ? sorted[Math.min(samples - 1, Math.floor(p * samples))] * 1000 : NaN);
const usage = process.cpuUsage(cpu0);
process.stdout.write(
  `${JSON.stringify({
    mode,
    clients,
    received,
    gaps,
    closed,
    complete: done.size,
    window_s: samples ? (lastAt - firstAt) / 1000 : 0,
    latency_p50_us: q(0.5),
    latency_p99_us: q(0.99),
    latency_max_us: samples ? sorted[samples - 1] * 1000 : NaN,
    cpu_s: (usage.user + usage.system) / 1e6,
  })}\n`,
);
process.exit(0);
