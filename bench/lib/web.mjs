// What the web scenarios (12 to 14) share: an opc-lite server with HTTP on
// 127.0.0.1, timed HTTP GETs on one keep-alive connection, and headless
// Chromium through playwright-core (Debian's /usr/bin/chromium, never a
// downloaded browser).
import { Buffer } from 'node:buffer';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { ROOT, startServer } from './servers.mjs';

export const CHROMIUM = process.env.OPC_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** A TCP port free on 127.0.0.1 right now (the OS's pick). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * An opc-lite server with HTTP on a free port (the last `--http-port` wins over
 * the harness's `--http-port 0`): the harness's server handle plus `httpPort`
 * and `base` (`http://127.0.0.1:<port>`). Tries a few ports: another process
 * may take the free one first.
 */
export async function startWebServer({ extraArgs = [], dataDir } = {}) {
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    const httpPort = await freePort();
    try {
      const server = await startServer('opc-lite', {
        extraArgs: [...extraArgs, '--http-port', String(httpPort)],
        ...(dataDir === undefined ? {} : { dataDir }),
      });
      return { ...server, httpPort, base: `http://127.0.0.1:${httpPort}` };
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * One keep-alive HTTP connection for timed GETs, one at a time: `get(path)`
 * resolves `{ ms, status, body }`, `ms` from the request to the body's last
 * byte. Each fails past `timeoutMs`.
 */
export function httpClient(base, { timeoutMs = 30_000 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    get(path) {
      return new Promise((resolve, reject) => {
        const start = performance.now();
        const req = http.get(`${base}${path}`, { agent }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ ms: performance.now() - start, status: res.statusCode, body: Buffer.concat(chunks).toString() });
          });
          res.on('error', reject);
        });
        const timer = setTimeout(
          () => req.destroy(new Error(`GET ${path}: no whole answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        req.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    },
    close: () => agent.destroy(),
  };
}

let playwright;
/** Headless Chromium with the flags of the page's tests (packages/web/src/testing/browser.ts). */
export async function launchChromium() {
  // playwright-core is a devDependency of @opc-lite/web, resolved from there.
  playwright ??= createRequire(`${ROOT}packages/web/package.json`)('playwright-core');
  return playwright.chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
