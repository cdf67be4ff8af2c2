import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOpcServer, type OpcServer } from '@opc-lite/opc-server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// The real CLIs, built by turbo before this project's tests run.
const READER = fileURLToPath(new URL('../bin/opc-reader.js', import.meta.url));
const SENSOR = fileURLToPath(new URL('../../sensor/bin/opc-sensor.js', import.meta.url));

let server: OpcServer;
let port: number;
const children: ChildProcess[] = [];
const silentSockets: Socket[] = [];

beforeEach(async () => {
  server = createOpcServer({ port: 0 });
  port = (await server.listen()).tcpPort;
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  await server.close();
});

function run(
  bin: string,
  args: string[],
): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** A sawtooth with a 0.5 s period, sampled every 20 ms, for longer than any test runs. */
async function startSensor(name: string): Promise<void> {
  run(SENSOR, ['127.0.0.1', String(port), '0.02', '--name', name, '--period', '0.5', '--count', '1500', '--quiet']);
  await vi.waitFor(() => expect(server.store.get(name)?.count ?? 0).toBeGreaterThan(2), { timeout: 10_000 });
}

/**
 * Checks that values follow a rising sawtooth of amplitude 1: each step either
 * rises, or falls by more than half the amplitude (the wrap); returns the wraps.
 */
function expectSawtooth(values: number[]): number {
  let wraps = 0;
  for (let i = 1; i < values.length; i++) {
    const step = values[i]! - values[i - 1]!;
    if (step < 0) {
      expect(step, `step ${i}: ${values[i - 1]} → ${values[i]}`).toBeLessThan(-0.5);
      wraps++;
    }
  }
  for (const v of values) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThan(1);
  }
  return wraps;
}

describe('opc-reader --plain', () => {
  it('polls every delta seconds, as the seed lector, printing values that follow the sawtooth', async () => {
    await startSensor('default');
    const reader = run(READER, ['127.0.0.1', String(port), '0.05', '--plain', '--count', '30']);
    expect(await reader.exit).toBe(0);

    const lines = reader.stdout().trim().split('\n');
    expect(lines).toHaveLength(30);
    const values = lines.map((line) => {
      const [time, name, value, extra] = line.split(' ');
      expect(Number.isNaN(Date.parse(time!))).toBe(false);
      expect(name).toBe('default');
      expect(extra).toBeUndefined(); // a legacy poll carries no seq
      return Number(value);
    });
    // 30 polls 50 ms apart span 1.5 s: about three periods of 0.5 s.
    expect(expectSawtooth(values)).toBeGreaterThanOrEqual(1);
  });

  it('subscribes and prints every reading in order, following the sawtooth', async () => {
    await startSensor('ramp');
    const reader = run(READER, [
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--sub',
      'ra*',
      '--plain',
      '--count',
      '60',
    ]);
    expect(await reader.exit).toBe(0);

    const rows = reader
      .stdout()
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    expect(rows).toHaveLength(60);
    const seqs = rows.map((r) => Number(r[3]));
    seqs.slice(1).forEach((seq, i) => expect(seq).toBe(seqs[i]! + 1)); // every reading, none missed
    expect(rows.every((r) => r[1] === 'ramp')).toBe(true);
    // 60 readings 20 ms apart span 1.2 s: two or three periods.
    expect(expectSawtooth(rows.map((r) => Number(r[2])))).toBeGreaterThanOrEqual(1);
  });

  it('prints CSV with a header', async () => {
    await startSensor('ramp');
    const reader = run(READER, ['--port', String(port), '--sensor', 'ramp', '--csv', '--count', '3']);
    expect(await reader.exit).toBe(0);
    const [header, ...rows] = reader.stdout().trim().split('\n');
    expect(header).toBe('time,sensor,value,seq');
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z,ramp,[\d.e-]+,\d+$/);
  });

  it('prints plain lines without being asked when stdout is not a terminal', async () => {
    await startSensor('ramp');
    const reader = run(READER, ['--port', String(port), '--sub', 'ramp', '--count', '2']);
    expect(await reader.exit).toBe(0);
    expect(reader.stdout().trim().split('\n')).toHaveLength(2);
  });

  it('exits 0 on SIGTERM', async () => {
    const reader = run(READER, ['--port', String(port), '--sub', '*', '--plain']);
    await vi.waitFor(() => expect(server.stats().subscriptions).toBe(1), { timeout: 10_000 });
    reader.child.kill('SIGTERM');
    expect(await reader.exit).toBe(0);
  });

  it('rejects a bad argument with one line and exit code 2', async () => {
    const reader = run(READER, ['127.0.0.1', String(port), 'soon']);
    expect(await reader.exit).toBe(2);
    expect(reader.stderr().trim().split('\n')).toEqual([
      "opc-reader: the poll interval (seconds) must be a number (got 'soon') (see 'opc-reader --help')",
    ]);
  });
});

describe('opc-reader --connect-timeout', () => {
  /** A port nothing listens on: bound by the system, then released (connecting to it is refused at once). */
  async function closedPort(): Promise<number> {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port: free } = probe.address() as AddressInfo;
    probe.close();
    await once(probe, 'close');
    return free;
  }

  it('exits 1 with one line when nothing accepts the connection in time, after retrying', async () => {
    const refused = await closedPort();
    const reader = run(READER, ['--port', String(refused), '--plain', '--connect-timeout', '0.3']);
    expect(await reader.exit).toBe(1);
    expect(reader.stdout()).toBe('');
    expect(reader.stderr().trim().split('\n')).toEqual([
      `opc-reader: waiting for the server at 127.0.0.1:${refused}`,
      `opc-reader: could not connect to 127.0.0.1:${refused} within 0.3 s (is opc-server running there? ` +
        '--connect-timeout sets how long to wait, 0 for ever)',
    ]);
  });

  it.each([
    ['subscribing', ['--sub', '*']],
    ['polling', ['--interval', '0.05']],
  ])('exits 1 when a server accepts the connection but never answers (%s)', async (_mode, flags) => {
    const silent = createServer((socket) => silentSockets.push(socket)); // accepts, never writes
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const { port: silentPort } = silent.address() as AddressInfo;
      const reader = run(READER, ['--port', String(silentPort), ...flags, '--plain', '--connect-timeout', '0.3']);
      expect(await reader.exit).toBe(1);
      expect(reader.stderr().trim().split('\n').at(-1)).toBe(
        `opc-reader: the server at 127.0.0.1:${silentPort} accepted the connection but did not answer within 0.3 s ` +
          '(is it an opc-lite server?)',
      );
    } finally {
      for (const socket of silentSockets.splice(0)) socket.destroy();
      silent.close();
    }
  });

  it('keeps reading past the timeout once the server has answered', async () => {
    // 12 polls 50 ms apart take longer than the 0.2 s timeout: the reader only gets there if the answer stopped it.
    const reader = run(READER, [
      '127.0.0.1',
      String(port),
      '0.05',
      '--plain',
      '--count',
      '12',
      '--connect-timeout',
      '0.2',
    ]);
    expect(await reader.exit).toBe(0);
    const times = reader
      .stdout()
      .trim()
      .split('\n')
      .map((line) => Date.parse(line.split(' ')[0]!));
    expect(times).toHaveLength(12);
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(200);
    expect(reader.stderr()).toBe('');
  });
});

describe('opc-reader and opc-sensor against the original Python server', () => {
  // bench/reference/seed_server.py: the seed's opc.py re-implemented (select(), bare floats by UDP, `n` by TCP).
  const SEED_SERVER = fileURLToPath(new URL('../../../bench/reference/seed_server.py', import.meta.url));

  it('polls with n what opc-sensor --legacy sends, as the original lector and Medidor did', async () => {
    const seed = spawn('python3', [SEED_SERVER, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(seed);
    let ready = '';
    let seedErrors = '';
    seed.stdout.on('data', (d: Buffer) => (ready += d.toString()));
    seed.stderr.on('data', (d: Buffer) => (seedErrors += d.toString()));
    const seedPort = await vi.waitFor(
      () => {
        const match = /ready tcp=127\.0\.0\.1:(\d+)/.exec(ready);
        if (!match) throw new Error(`seed server not ready: '${ready}'`);
        return match[1]!;
      },
      { timeout: 10_000, interval: 20 },
    );
    // The reader polls first: before any datagram the server answers `nan`, which the reader prints as it is.
    const reader = run(READER, ['127.0.0.1', seedPort, '0.05', '--plain', '--count', '60']);
    await vi.waitFor(() => expect(reader.stdout()).toMatch(/ nan\n/), { timeout: 10_000, interval: 20 });
    run(SENSOR, ['127.0.0.1', seedPort, '0.02', '--legacy', '--period', '0.5', '--count', '1500', '--quiet']);
    expect(await reader.exit).toBe(0);
    expect(seedErrors).toBe('');
    expect(seed.exitCode).toBeNull(); // still serving
    const values = reader
      .stdout()
      .trim()
      .split('\n')
      .map((line) => Number(line.split(' ')[2]))
      .filter((v) => !Number.isNaN(v)); // `nan` until the first datagram arrives
    expect(values.length).toBeGreaterThan(20);
    expect(expectSawtooth(values)).toBeGreaterThanOrEqual(1);
  });
});

// The dashboard in a real terminal: tmux from Debian's packages (.ci/run installs it).
const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(hasTmux || process.env.CI)('opc-reader dashboard in tmux', () => {
  const session = `opc-reader-test-${process.pid}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8' });

  afterEach(() => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // already gone
    }
  });

  it('draws the chart, the table and the status line, and q exits 0 leaving the terminal clean', async () => {
    await startSensor('ramp');
    const exitFile = join(tmpdir(), `opc-reader-tmux-exit-${process.pid}`);
    const command = `'${process.execPath}' '${READER}' --port ${port} --sub '*' --y-min 0 --y-max 1; echo $? > '${exitFile}'; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', command);

    // A capture can land while a frame is still being written, so the whole screen is checked on every try
    // until one complete frame shows everything.
    await vi.waitFor(
      () => {
        const screen = tmux('capture-pane', '-p', '-t', session);
        expect(screen).toContain('opc-reader (live)');
        expect(screen).toMatch(/1\.00/); // the fixed y axis
        expect(screen).toMatch(/\d\d:\d\d:\d\d\.\d{3}/); // time on the x axis
        expect(screen).toMatch(/[⠁-⣿]/u); // braille dots: the line itself
        expect(screen).toMatch(/ramp +[\d.e-]+ +[\d.e-]+ +[\d.e-]+ +[\d.]+ +0/); // the table: last, min, max, rate, lost
        expect(screen).toContain(`127.0.0.1:${port}`); // the status line
        expect(screen).toContain('connected');
      },
      { timeout: 10_000, interval: 100 },
    );

    tmux('send-keys', '-t', session, 'q');
    const code = await vi.waitFor(() => readFileSync(exitFile, 'utf8').trim(), { timeout: 10_000, interval: 50 });
    rmSync(exitFile, { force: true });
    expect(code).toBe('0');
    // The alternate screen is gone: nothing of the dashboard is left on the terminal.
    expect(tmux('capture-pane', '-p', '-t', session)).not.toContain('opc-reader (live)');
  });

  it("opens with the chart filled from the server's history when no reading is arriving", async () => {
    // Readings stored before the dashboard starts, and none after: all it can show is history.
    for (let i = 0; i < 20; i++) {
      const sensor = server.store.ingest('kept', (i % 10) / 10, Date.now() - (20 - i) * 1000, -1);
      if (sensor) server.hub.publish(sensor);
    }
    const command = `'${process.execPath}' '${READER}' --port ${port} --sub kept --y-min 0 --y-max 1; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', command);
    await vi.waitFor(
      () => {
        const screen = tmux('capture-pane', '-p', '-t', session);
        expect(screen).toMatch(/[⠁-⣿]/u); // the line, drawn from the backlog
        expect(screen).toMatch(/kept +0\.9\d* +0 +0\.9/); // the table: last 0.9, min 0, max 0.9
      },
      { timeout: 10_000, interval: 100 },
    );
    tmux('send-keys', '-t', session, 'q');
  });
});
