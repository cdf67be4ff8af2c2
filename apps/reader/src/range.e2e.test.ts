import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createOpcServer, type OpcServer } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it } from 'vitest';

// The real CLI, built by turbo before this project's tests run.
const READER = fileURLToPath(new URL('../bin/opc-reader.js', import.meta.url));
const execFileAsync = promisify(execFile);

let server: OpcServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function reader(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [READER, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('opc-reader --range', () => {
  it('prints the range as CSV and exits 0, following the server cuts', async () => {
    server = createOpcServer({ host: '127.0.0.1', port: 0, maxRangeReply: 2 });
    const { tcpPort } = await server.listen();
    const now = Date.now();
    for (let i = 0; i < 5; i++) server.store.ingest('ramp', i, now - 1000 * (5 - i), -1);
    const { code, stdout } = await reader(['--port', String(tcpPort), '--sensor', 'ramp', '--range', '-1h', '--csv']);
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      'time,sensor,value,seq',
      ...Array.from({ length: 5 }, (_, i) => `${new Date(now - 1000 * (5 - i)).toISOString()},ramp,${i},${i + 1}`),
      '',
    ]);
  });

  it('says what the server refused and exits 1', async () => {
    server = createOpcServer({ host: '127.0.0.1', port: 0 });
    const { tcpPort } = await server.listen();
    const { code, stderr } = await reader(['--port', String(tcpPort), '--sensor', 'nope', '--range', '-1h']);
    expect(code).toBe(1);
    expect(stderr).toBe('opc-reader: not-found: nope\n');
  });
});
