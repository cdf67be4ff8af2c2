// Writes docs/screenshot.png, the picture in the READMEs: a server in memory with three sensors and ten minutes
// of readings (one with a gap and lost readings), the built page (run `pnpm build` first) in headless Chromium.
// Run by hand when the page changes (`pnpm --filter @opc-lite/web screenshot`); the tests never write it.
/* global process, Buffer, URL, console, window -- Node.js, and the page in the browser */
import { fileURLToPath } from 'node:url';
import { createOpcServer } from '@opc-lite/opc-server';
import { chromium } from 'playwright-core';
import { startWebServer } from '../dist/index.js';

const out = fileURLToPath(new URL('../docs/screenshot.png', import.meta.url));
const now = Date.now();
const server = createOpcServer({ host: '127.0.0.1', port: 0, historyCapacity: 20_000 });
await server.listen();

// Ten minutes at 2 Hz: a boiler temperature, a pressure sawtooth, and a ramp that goes silent for a minute and
// loses a few readings on the way (sender-seq gaps).
const lines = [];
let seq = 0;
for (let t = now - 600_000; t <= now; t += 500) {
  const s = (t / 1000).toFixed(3);
  const i = (t - (now - 600_000)) / 500;
  lines.push(`plant1/boiler ${(71 + 4 * Math.sin(i / 90) + Math.sin(i / 7) * 0.6).toFixed(3)} ${s}`);
  lines.push(`plant1/pressure ${(1.2 + ((i % 240) / 240) * 0.8).toFixed(4)} ${s}`);
  seq++;
  const silent = t > now - 330_000 && t < now - 270_000;
  if (!silent && seq % 97 !== 0) lines.push(`ramp ${(50 + 30 * Math.sin(i / 40)).toFixed(3)} ${s} ${seq}`);
}
for (let i = 0; i < lines.length; i += 500) server.ingest(Buffer.from(lines.slice(i, i + 500).join('\n')));

const web = await startWebServer(server, { port: 0 });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});
try {
  const page = await browser.newPage({
    viewport: { width: 1100, height: 640 },
    colorScheme: 'light',
    deviceScaleFactor: 1,
  });
  await page.goto(`${web.url}?window=10m`);
  await page.waitForFunction(() => (window.__opc?.plot?.data?.[0]?.length ?? 0) > 1000);
  await page.waitForTimeout(500); // let the legend and axes settle
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await web.close();
  await server.close();
}
