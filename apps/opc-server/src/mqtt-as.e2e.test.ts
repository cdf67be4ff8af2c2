/**
 * `opc-server --mqtt-as` refused at start when the auth file has no such token (docs/SECURITY.md, "Writing on the
 * ingest paths").
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashToken } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/opc-server.js', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('opc-server --mqtt-as', () => {
  it('exits 2 at start, naming the file, when the auth file has no token of that name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opc-mqtt-as-'));
    dirs.push(dir);
    const file = join(dir, 'auth');
    writeFileSync(file, `token bridge ${await hashToken('t0ken', { ln: 4, r: 8, p: 1 })} write=tele/*\n`, {
      mode: 0o600,
    });
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPC_')));
    const child = spawn(
      process.execPath,
      [BIN, '--port', '0', '--memory', '--auth-file', file, '--mqtt', 'mqtt://127.0.0.1:1', '--mqtt-as', 'brige'],
      { cwd: dir, env: { ...clean, OPC_HTTP_PORT: '0', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    expect(stderr).toContain(`--mqtt-as: ${file} has no token named "brige"`);
    expect(code).toBe(2);
  });
});
