/**
 * opc-reader with a token (docs/SECURITY.md, "Tokens on TCP"), against a server that checks tokens.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Authenticator, createOpcServer, hashToken, parseAuthFile, type OpcServer } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it } from 'vitest';
import { parseReaderArgs } from './args.js';

const READER = fileURLToPath(new URL('../bin/opc-reader.js', import.meta.url));
const servers: OpcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(): Promise<number> {
  const hash = await hashToken('viewer-token', { ln: 4, r: 8, p: 1 });
  const auth = new Authenticator(parseAuthFile(`token viewer ${hash} read=a/*\n`), { failureDelayMs: 0 });
  const server = createOpcServer({ host: '127.0.0.1', port: 0, auth, closeGraceMs: 200 });
  servers.push(server);
  const { port } = await server.listen();
  server.ingest(Buffer.from('a/x 0.5 1764316800\n'));
  return port;
}

async function reader(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPC_')));
  const child = spawn(process.execPath, [READER, ...args], {
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, out, err };
}

describe('opc-reader --token / OPC_TOKEN', () => {
  it('reads with the token from OPC_TOKEN', async () => {
    const port = await start();
    const args = ['--port', String(port), '--range', '0', '--sensor', 'a/x', '--connect-timeout', '10'];
    const { code, out } = await reader(args, { OPC_TOKEN: 'viewer-token' });
    expect(code).toBe(0);
    expect(out).toContain('0.5');
  });

  it('fails with a clear message when the server refuses the token', async () => {
    const port = await start();
    const args = ['--port', String(port), '--range', '0', '--sensor', 'a/x', '--connect-timeout', '10'];
    const { code, err } = await reader([...args, '--token', 'wrong-token'], {});
    expect(code).not.toBe(0);
    expect(err).toContain('refused the token');
  });

  it('takes --token over OPC_TOKEN and refuses a token with blanks', () => {
    expect(parseReaderArgs(['--token', 'a'], { OPC_TOKEN: 'b' })).toMatchObject({ token: 'a' });
    expect(parseReaderArgs([], { OPC_TOKEN: 'b' })).toMatchObject({ token: 'b' });
    expect(() => parseReaderArgs(['--token', 'a b'], {})).toThrow(/--token must be 1 to 256 printable ASCII/);
  });
});
