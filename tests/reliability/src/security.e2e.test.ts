/**
 * Security defaults (issue: "Bind 127.0.0.1 unless told otherwise, and say
 * so at start-up. Limits on everything a remote party controls. No eval").
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerCli, stopAllChildren } from './testing/processes.js';
import { closeAllServers, startServer } from './testing/server.js';
import { TcpClient } from './testing/tcp-client.js';

afterEach(async () => {
  await stopAllChildren();
  await closeAllServers();
});

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Every non-test TypeScript source of the packages and apps. */
function productSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== 'node_modules' && entry !== 'dist' && entry !== 'testing') walk(path);
      } else if (/\.tsx?$/.test(entry) && !/\.test\.tsx?$/.test(entry)) {
        out.push(path);
      }
    }
  };
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const src = join(ROOT, group, name, 'src');
      if (statSync(src, { throwIfNoEntry: false })?.isDirectory()) walk(src);
    }
  }
  return out;
}

describe('security defaults', () => {
  it('binds 127.0.0.1 by default and says so at start-up', async () => {
    const cli = await startServerCli();
    expect(cli.start).toMatchObject({
      tcp: `127.0.0.1:${cli.port}`,
      udp: `127.0.0.1:${cli.port}`,
      msg: expect.stringMatching(/loopback only/) as unknown,
    });
    expect(DEFAULTS.host).toBe('127.0.0.1');
    const { server } = await startServer();
    expect(server.address()?.host).toBe('127.0.0.1');
  });

  it('has a finite default for every limit a remote party can push against', () => {
    for (const key of [
      'maxClients',
      'maxSensors',
      'maxLineBytes',
      'maxSubscriptionsPerClient',
      'outboundBudgetBytes',
      'drainTimeoutMs',
      'historyCapacity',
      'maxHistoryReply',
    ] as const) {
      expect(DEFAULTS[key], key).toBeGreaterThan(0);
      expect(DEFAULTS[key], key).toBeLessThan(Number.MAX_SAFE_INTEGER);
    }
    expect(DEFAULTS.idleTimeoutMs).toBeGreaterThan(0);
  });

  it('closes a client that subscribes with more patterns than maxSubscriptionsPerClient', async () => {
    const fixture = await startServer({ maxSubscriptionsPerClient: 8 });
    const client = await TcpClient.connect(fixture.port);
    let commands = '';
    for (let i = 0; i < 20; i++) commands += `SUB p${i}*\n`;
    await client.send(commands);
    const replies = await client.until((r) => r.kind === 'err');
    expect(replies.slice(0, 8).every((r) => r.kind === 'ok')).toBe(true);
    expect(replies[8]).toMatchObject({ kind: 'err', code: 'too-many-subscriptions' });
    await client.waitClosed();
    await expect.poll(() => fixture.server.stats()).toMatchObject({ subscriptions: 0, clients: 0 });
  });

  it('uses no eval, Function constructor or vm in the packages and apps', () => {
    const sources = productSources();
    expect(sources.length).toBeGreaterThan(20);
    const offenders = sources.filter((file) =>
      /\beval\s*\(|\bnew\s+Function\s*\(|(?<![.\w])Function\s*\(|['"](node:)?vm['"]/.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
