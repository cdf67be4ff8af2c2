import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { sawtooth } from '@opc-lite/sawtooth-generator';
import { afterEach, describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };

// The built CLI, through the committed bin file (turbo builds the app before these tests).
const BIN = fileURLToPath(new URL('../bin/opc-sensor.js', import.meta.url));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const socket of sockets.splice(0)) socket.close();
});

/** Runs opc-sensor; `exited` resolves when the process has closed its output. */
function sensor(args: string[], env: Record<string, string> = {}): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, OPC_HOST: '', OPC_PORT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited };
}

/** A UDP socket on 127.0.0.1, port 0, collecting every datagram as text. */
async function receiver(): Promise<{ port: number; datagrams: string[] }> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const datagrams: string[] = [];
  socket.on('message', (message) => datagrams.push(message.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, datagrams };
}

interface NativeLine {
  name: string;
  value: number;
  ts: number;
  seq: number;
}

function nativeLines(datagrams: string[]): NativeLine[] {
  return datagrams.flatMap((datagram) =>
    datagram.split('\n').map((line) => {
      const fields = line.split(' ');
      expect(fields, `native line ${JSON.stringify(line)}`).toHaveLength(4);
      const [name = '', value = '', ts = '', seq = ''] = fields;
      return { name, value: Number(value), ts: Number(ts), seq: Number(seq) };
    }),
  );
}

/** Distance on a circle of circumference 1, so that 0.9999… and 0 are close. */
const wrapDistance = (a: number, b: number): number => {
  const d = Math.abs(a - b) % 1;
  return Math.min(d, 1 - d);
};

// What Python's float() and the server's legacy form accept: a plain decimal, no newline.
const BARE_FLOAT = /^-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/;

describe('opc-sensor (spawned)', () => {
  it('sends 50 native readings of the seed sawtooth with seq 1..50 and due-time timestamps, then exits 0', async () => {
    const { port, datagrams } = await receiver();
    const { exited } = sensor(['127.0.0.1', String(port), '0.01', '--count', '50']);
    const exit = await exited;
    expect(exit.code).toBe(0);
    await expect.poll(() => nativeLines(datagrams).length).toBe(50);

    const lines = nativeLines(datagrams);
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    for (const line of lines) {
      expect(line.name).toBe('default');
      expect(line.value).toBeGreaterThanOrEqual(0);
      expect(line.value).toBeLessThan(1);
      // Period 1 s, amplitude 1: the value is the fractional part of the timestamp in seconds.
      expect(wrapDistance(line.value, line.ts % 1)).toBeLessThan(1e-5);
    }
    for (let i = 1; i < lines.length; i++) {
      const [previous, current] = [lines[i - 1] as NativeLine, lines[i] as NativeLine];
      // Drift-free: timestamps are t0 + k·Δt, whatever the timer did.
      expect(current.ts - previous.ts).toBeCloseTo(0.01, 4);
      // Rising by Δt/period within a period, wrapping from the amplitude back to 0.
      const step = current.value - previous.value;
      const rising = Math.abs(step - 0.01) < 1e-6;
      const wrapped = Math.abs(step + 0.99) < 1e-6;
      expect(rising || wrapped, `step ${step} between seq ${previous.seq} and ${current.seq}`).toBe(true);
    }
    expect(exit.stderr).toMatch(
      /^opc-sensor: 50 readings sent in \d+ datagrams? over [\d.]+ s \([\d.]+ readings\/s\); \d+ late ticks?, 0 send errors$/m,
    );
  });

  it('shapes the waveform from the flags: a triangle named tri with period, amplitude and offset', async () => {
    const { port, datagrams } = await receiver();
    const args = ['--port', String(port), '--interval', '0.01', '--count', '40'];
    const shape = ['--name', 'tri', '--width', '0.5', '--period', '0.2', '--amplitude', '2', '--offset', '-1'];
    const exit = await sensor([...args, ...shape], { OPC_HOST: '127.0.0.1' }).exited;
    expect(exit.code).toBe(0);
    await expect.poll(() => nativeLines(datagrams).length).toBe(40);
    for (const line of nativeLines(datagrams)) {
      expect(line.name).toBe('tri');
      const expected = sawtooth(line.ts * 1000, { periodMs: 200, amplitude: 2, offset: -1, width: 0.5 });
      expect(line.value).toBeCloseTo(expected, 4);
      expect(line.value).toBeGreaterThanOrEqual(-1);
      expect(line.value).toBeLessThanOrEqual(1);
    }
  });

  it('sends bare floats, one per datagram, with --legacy', async () => {
    const { port, datagrams } = await receiver();
    const exit = await sensor(['127.0.0.1', String(port), '0.01', '--legacy', '--count', '20']).exited;
    expect(exit.code).toBe(0);
    await expect.poll(() => datagrams.length).toBe(20);
    for (const datagram of datagrams) {
      expect(datagram).toMatch(BARE_FLOAT);
      const value = Number(datagram);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
    expect(exit.stderr).toMatch(/20 readings sent in 20 datagrams/);
  });

  it('stops on SIGTERM, prints the summary and exits 0', async () => {
    const { port, datagrams } = await receiver();
    const { child, exited } = sensor(['127.0.0.1', String(port), '0.01']);
    await expect.poll(() => datagrams.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    child.kill('SIGTERM');
    const exit = await exited;
    expect(exit.code).toBe(0);
    expect(exit.signal).toBeNull();
    expect(exit.stderr).toMatch(/^opc-sensor: SIGTERM: stopping$/m);
    expect(exit.stderr).toMatch(/^opc-sensor: \d+ readings sent in \d+ datagrams/m);
  });

  it('rejects --width 2 with one line on stderr and exit code 2, no stack trace', async () => {
    const exit = await sensor(['127.0.0.1', '7330', '0.01', '--width', '2']).exited;
    expect(exit.code).toBe(2);
    expect(exit.stderr).toBe("opc-sensor: --width must be between 0 and 1 (got 2) (see 'opc-sensor --help')\n");
    expect(exit.stdout).toBe('');
  });

  it('warns once on stderr when Δt is too coarse for the period', async () => {
    const { port } = await receiver();
    const exit = await sensor(['127.0.0.1', String(port), '0.6', '--count', '1']).exited;
    expect(exit.code).toBe(0);
    expect(exit.stderr.match(/^opc-sensor: warning: /gm)).toHaveLength(1);
  });

  it('prints help on stdout and exits 0', async () => {
    const exit = await sensor(['--help']).exited;
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/^Usage: opc-sensor /);
    expect(exit.stderr).toBe('');
  });

  it('prints the package version', async () => {
    const exit = await sensor(['--version']).exited;
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe(`${packageJson.version}\n`);
  });
});
