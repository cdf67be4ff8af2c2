import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createOpcServer, type OpcServer } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it } from 'vitest';

// The built CLI, through the committed bin file (turbo builds the app before these tests).
const BIN = fileURLToPath(new URL('../bin/opc-sensor.js', import.meta.url));

const servers: OpcServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startServer(requestedPort = 0): Promise<{ server: OpcServer; port: number }> {
  const server = createOpcServer({ port: requestedPort });
  servers.push(server);
  const { port } = await server.listen();
  return { server, port };
}

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts opc-sensor; `exited` resolves with its exit code and stderr once it has closed its output. */
function startSensor(args: string[]): {
  child: ChildProcess;
  exited: Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
  return { child, exited };
}

const runSensor = (args: string[]) => startSensor(args).exited;

/** Sends commands over TCP (ending with QUIT) and resolves with every reply line once the server closes. */
function exchange(port: number, commands: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(text.split('\n').filter((line) => line !== '')));
    socket.end(`${commands}QUIT\n`);
  });
}

describe('opc-sensor against a real opc-server', () => {
  it('delivers every native reading: STATS shows 50 accepted, none lost, and GET default answers seq 50', async () => {
    const { server, port } = await startServer();
    const exit = await runSensor(['127.0.0.1', String(port), '0.01', '--count', '50']);
    expect(exit.code).toBe(0);
    await expect.poll(() => server.stats().readings_accepted).toBe(50);

    const lines = await exchange(port, 'GET default\nSTATS\n');
    const val = lines[0]?.split(' ') ?? [];
    expect(val[0]).toBe('VAL');
    expect(val[1]).toBe('default');
    expect(Number(val[2])).toBeGreaterThanOrEqual(0);
    expect(Number(val[2])).toBeLessThan(1);
    expect(val[4]).toBe('50');
    const stats = new Map(
      lines.filter((line) => line.startsWith('STAT ')).map((line) => line.split(' ').slice(1) as [string, string]),
    );
    expect(stats.get('readings_accepted')).toBe('50');
    expect(stats.get('readings_rejected')).toBe('0');
    expect(stats.get('seq_lost')).toBe('0');
    expect(stats.get('sensors')).toBe('1');
    expect(lines.at(-1)).toBe('BYE');
  });

  it('feeds the legacy poll with --legacy: `n` answers the last bare value', async () => {
    const { server, port } = await startServer();
    const exit = await runSensor(['127.0.0.1', String(port), '0.01', '--legacy', '--count', '10']);
    expect(exit.code).toBe(0);
    await expect.poll(() => server.stats().readings_accepted).toBe(10);
    const [answer] = await exchange(port, 'n');
    expect(Number(answer)).toBeGreaterThanOrEqual(0);
    expect(Number(answer)).toBeLessThan(1);
    expect(server.stats().readings_rejected).toBe(0);
  });

  it('keeps sending across a server restart on the same port', async () => {
    const first = await startServer();
    const { child, exited } = startSensor(['127.0.0.1', String(first.port), '0.01', '--name', 'survivor']);
    await expect.poll(() => first.server.stats().readings_accepted, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    await first.server.close();

    const second = await startServer(first.port);
    await expect.poll(() => second.server.stats().readings_accepted, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    expect(second.server.store.has('survivor')).toBe(true);
    child.kill('SIGTERM');
    const exit = await exited;
    expect(exit.code).toBe(0);
    expect(exit.stderr).toMatch(/readings sent in/);
  });
});
