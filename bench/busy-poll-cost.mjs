// What busy polling costs when requests are sparse: one connection sends `n`
// at a fixed rate (open loop, one request per timer tick), and the opc-lite
// server's CPU time is read from /proc over the run, with --busy-poll-us 0
// (sleep at once) and with the default window. The client runs in this
// process; the server is pinned to CPU 1, as in `pnpm bench`.
//
//   node bench/busy-poll-cost.mjs [--seconds 5] [--windows 0,50] [--rates 10,100,1000]
import console from 'node:console';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';
import { placement, startServer } from './lib/servers.mjs';
import { median } from './lib/util.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    windows: { type: 'string', default: '0,50' },
    rates: { type: 'string', default: '10,100,1000' },
  },
});
const seconds = Number(values.seconds);
const windows = values.windows.split(',').map(Number);
const rates = values.rates.split(',').map(Number);
placement.pin = true;

/** Sends `n` every 1000/rate ms for `seconds`; resolves with the round-trip times in µs. */
async function pollAtRate(port, rate) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const rtts = [];
  const sentAt = [];
  socket.on('data', (chunk) => {
    const now = performance.now();
    for (const byte of chunk) if (byte === 10) rtts.push((now - sentAt.shift()) * 1000);
  });
  const intervalMs = 1000 / rate;
  const start = performance.now();
  for (let k = 1; performance.now() - start < seconds * 1000; k++) {
    sentAt.push(performance.now());
    socket.write('n');
    const wait = start + k * intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  return rtts;
}

console.log(`one connection, open loop, ${seconds} s per case; server on CPU ${placement.serverCpu}`);
for (const rate of rates) {
  for (const window of windows) {
    const server = await startServer('opc-lite', { extraArgs: ['--busy-poll-us', String(window)] });
    try {
      const cpuBefore = server.cpuSeconds();
      const wallBefore = performance.now();
      const rtts = await pollAtRate(server.port, rate);
      const cpuPct = (100 * (server.cpuSeconds() - cpuBefore)) / ((performance.now() - wallBefore) / 1000);
      const sorted = [...rtts].sort((a, b) => a - b);
      const p99 = sorted[Math.floor(0.99 * (sorted.length - 1))] ?? Number.NaN;
      console.log(
        `  ${String(rate).padStart(5)} req/s  --busy-poll-us ${String(window).padStart(3)}  ` +
          `server CPU ${cpuPct.toFixed(1).padStart(5)} %  round trip p50 ${median(rtts).toFixed(0)} µs p99 ${p99.toFixed(0)} µs  (${rtts.length} replies)`,
      );
    } finally {
      await server.stop();
    }
  }
}
