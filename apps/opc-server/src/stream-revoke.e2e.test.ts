/**
 * The real CLI: SIGHUP withdraws a token, and its open `/api/stream` ends (docs/SECURITY.md, "Reloading the file").
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashToken } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it, vi } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/opc-server.js', import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A port free a moment ago (the CLI's HTTP port 0 means off). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('opc-server --auth-file, SIGHUP and /api/stream', () => {
  it('ends a stream whose token the reloaded file no longer has, with a closed event saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opc-stream-revoke-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'auth');
    const cheap = { ln: 4, r: 8, p: 1 };
    const ops = `token ops ${await hashToken('ops-token', cheap)} read=* admin\n`;
    writeFileSync(file, `${ops}token viewer ${await hashToken('viewer-token', cheap)} read=*\n`, { mode: 0o600 });
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPC_')));
    const httpPort = String(await freePort());
    const child = spawn(
      process.execPath,
      [BIN, '--port', '0', '--http-port', httpPort, '--memory', '--log-format', 'json'],
      {
        cwd: dir,
        env: { ...clean, OPC_AUTH_FILE: file, NO_COLOR: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const logged = (test: (l: Record<string, unknown>) => boolean) =>
      vi.waitFor(
        () => {
          const line = stderr
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .find(test);
          if (line === undefined) throw new Error(`not logged yet: ${stderr}`);
          return line;
        },
        { timeout: 10_000, interval: 20 },
      );
    const url = String((await logged((l) => typeof l.http === 'string')).http);

    const req = http.get(`${url.replace(/\/$/, '')}/api/stream?access_token=viewer-token`, { agent: false });
    cleanups.push(() => req.destroy());
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    expect(res.statusCode).toBe(200);
    res.setEncoding('utf8');
    let text = '';
    res.on('data', (chunk: string) => (text += chunk));
    const ended = once(res, 'end');
    await vi.waitFor(() => expect(text).toContain('event: hello'));

    writeFileSync(file, ops);
    child.kill('SIGHUP');
    await ended;
    expect(text).toContain(
      'event: closed\ndata: {"error":{"code":"auth-failed","message":"token viewer is no longer valid"}}\n\n',
    );
    expect(await logged((l) => l.msg === 'auth file reloaded')).toMatchObject({ revoked: 1 });
    expect(child.exitCode).toBeNull();
  });
});
