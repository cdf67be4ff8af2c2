import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';

// The real CLI, built by turbo before this project's tests run.
const BIN = fileURLToPath(new URL('../bin/opc-server.js', import.meta.url));

interface Cli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

const running: Cli[] = [];

function startCli(args: string[], env: Record<string, string> = {}, cwd = tempDir()): Cli {
  // Its own working directory: the default data dir lands there, never in the checkout.
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    // No HTTP unless a test asks (--http-port wins over the variable): the default port would be shared.
    env: { ...withoutOpcEnv(process.env), OPC_HTTP_PORT: '0', ...env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': by then stderr has been read to its end, so a last log line is never missed.
  const exit = once(child, 'close').then(([code]) => code as number | null);
  const cli = { child, stdout: () => stdout, stderr: () => stderr, exit };
  running.push(cli);
  return cli;
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opc-cli-'));
  tempDirs.push(dir);
  return dir;
}

/** The caller's shell must not change a test. */
const withoutOpcEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('OPC_')));

afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL');
      await cli.exit;
    }
  }
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type LogLine = Record<string, unknown> & { msg?: string };
const logLines = (text: string): LogLine[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

async function startServer(extra: string[] = []): Promise<{ cli: Cli; port: number; start: LogLine }> {
  const cli = startCli(['--port', '0', '--log-format', 'json', ...extra]);
  const start = await vi.waitFor(
    () => {
      const line = logLines(cli.stderr()).find((l) => typeof l.tcp === 'string');
      if (!line) throw new Error(`no start line yet; stderr: ${cli.stderr()}`);
      return line;
    },
    { timeout: 10_000, interval: 20 },
  );
  const port = Number(String(start.tcp).split(':').pop());
  return { cli, port, start };
}

/** A port free a moment ago (the OS does not hand it out again at once). */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Sends one command and returns the reply's lines before END. */
async function ask(port: number, command: string): Promise<string[]> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.write(`${command}\n`);
  let text = '';
  for await (const chunk of socket) {
    text += String(chunk);
    if (/(^|\n)END\n$/.test(text)) break;
  }
  socket.destroy();
  return text.split('\n').slice(0, -2);
}

/** The original lector's flow: connect, send `n`, read one line, close. */
async function poll(port: number): Promise<string> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.write('n');
  let text = '';
  for await (const chunk of socket) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  socket.destroy();
  return text;
}

describe('opc-server CLI', () => {
  it('starts, logs where it listens and the granted UDP buffer, and serves a sensor and a reader', async () => {
    const { port, start } = await startServer(['--stats-interval-ms', '0']);
    expect(start.udp).toBe(`127.0.0.1:${port}`);
    expect(start.tcp).toBe(`127.0.0.1:${port}`);
    expect(start.recvBufferBytes).toEqual(expect.any(Number));
    expect(start.msg).toMatch(/loopback only/);

    const udp = createSocket('udp4');
    try {
      udp.send('0.35', port, '127.0.0.1');
      await expect.poll(() => poll(port), { timeout: 5_000 }).toBe('0.35\n');
    } finally {
      udp.close();
    }
  });

  it('logs a rate summary periodically', async () => {
    const { cli } = await startServer(['--stats-interval-ms', '50']);
    await expect.poll(() => logLines(cli.stderr()).filter((l) => l.msg === 'rates').length).toBeGreaterThanOrEqual(2);
    const rates = logLines(cli.stderr()).find((l) => l.msg === 'rates')!;
    expect(rates).toMatchObject({ readingsPerSec: 0, sensors: 0, clients: expect.any(Number) as number });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('exits 0 with a summary on %s', async (signal) => {
    const { cli, port } = await startServer(['--stats-interval-ms', '0']);
    const udp = createSocket('udp4');
    udp.send('1.5\n2.5', port, '127.0.0.1');
    await expect.poll(() => poll(port)).toBe('2.5\n');
    udp.close();

    cli.child.kill(signal);
    expect(await cli.exit).toBe(0);
    const summary = logLines(cli.stderr()).find((l) => l.msg === 'summary');
    expect(summary).toMatchObject({ readingsAccepted: 2, sensors: 1 });
    expect(cli.stderr()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('warns about a rejected UDP line with its reason, a sample, the sender and a hint, then only counts', async () => {
    const { cli, port } = await startServer(['--stats-interval-ms', '0']);
    const udp = createSocket('udp4');
    try {
      udp.bind(0, '127.0.0.1');
      await once(udp, 'listening');
      const sender = `127.0.0.1:${udp.address().port}`;
      udp.send('temp=21.5\ntemp=22.5\ntemp=23.5', port, '127.0.0.1');
      const warn = await vi.waitFor(
        () => {
          const line = logLines(cli.stderr()).find((l) => l.reason === 'bad-number');
          if (!line) throw new Error(`no reject warning yet; stderr: ${cli.stderr()}`);
          return line;
        },
        { timeout: 10_000, interval: 20 },
      );
      expect(warn).toMatchObject({ level: 40, reason: 'bad-number', sample: '"temp=21.5"', from: sender });
      expect(warn.msg).toContain(`UDP line rejected for bad-number: "temp=21.5" from ${sender}`);
      expect(warn.msg).toContain('InfluxDB line protocol');

      // The other two lines are counted, not logged one by one; shutdown logs their count.
      cli.child.kill('SIGTERM');
      expect(await cli.exit).toBe(0);
      const rejectLines = logLines(cli.stderr()).filter((l) => l.reason === 'bad-number');
      expect(rejectLines).toHaveLength(2);
      expect(rejectLines[1]).toMatchObject({ level: 40, count: 2, sample: '"temp=22.5"', from: sender });
      expect(logLines(cli.stderr()).find((l) => l.msg === 'summary')).toMatchObject({ readingsRejected: 3 });
    } finally {
      udp.close();
    }
  });

  it('reports a port in use as one line and exits 1', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as { port: number };
    try {
      const cli = startCli(['--port', String(port), '--log-format', 'json']);
      expect(await cli.exit).toBe(1);
      const lines = cli.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `opc-server: port ${port} is already in use on 127.0.0.1 (UDP or TCP); stop the other process or choose another port with --port`,
      );
    } finally {
      blocker.close();
    }
  });

  it('serves the page, the HTTP API and /metrics on --http-port, logs the URL, and stops serving on SIGTERM', async () => {
    const httpPort = await freePort();
    const { cli, port } = await startServer([
      ...['--stats-interval-ms', '0', '--http-port', String(httpPort), '--metrics-sensors', 'ramp'],
    ]);
    const url = `http://127.0.0.1:${httpPort}/`;
    // The URL line comes after the start line, maybe in a later chunk of stderr.
    await vi.waitFor(
      () =>
        expect(logLines(cli.stderr()).find((l) => l.http === url)?.msg).toBe(`page, HTTP API and metrics on ${url}`),
      { timeout: 10_000, interval: 20 },
    );
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>opc-lite</title>');
    const udp = createSocket('udp4');
    try {
      udp.send('ramp 0.5', port, '127.0.0.1');
      await expect
        .poll(async () => ((await (await fetch(`${url}api/sensors/ramp`)).json()) as { value?: number }).value)
        .toBe(0.5);
    } finally {
      udp.close();
    }
    const metrics = await (await fetch(`${url}metrics`)).text();
    expect(metrics).toMatch(/^opc_readings_accepted_total 1$/m);
    expect(metrics).toMatch(/^opc_sensor_value\{sensor="ramp"\} 0\.5$/m);
    cli.child.kill('SIGTERM');
    expect(await cli.exit).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('reports an HTTP port in use as one line and exits 1', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as { port: number };
    try {
      const cli = startCli(['--port', '0', '--log-format', 'json', '--http-port', String(port)]);
      expect(await cli.exit).toBe(1);
      expect(cli.stderr().trim().split('\n')).toEqual([
        `opc-server: HTTP port ${port} is already in use on 127.0.0.1; stop the other process, choose another port with --http-port, or turn HTTP off with --http-port 0`,
      ]);
    } finally {
      blocker.close();
    }
  });

  it.each([
    [['--frobnicate'], /^opc-server: unknown option --frobnicate \(see 'opc-server --help'\)$/],
    [
      ['--histroy', '5'],
      /^opc-server: unknown option --histroy; did you mean --history\? \(see 'opc-server --help'\)$/,
    ],
    [['--history', 'lots'], /^opc-server: --history must be a whole number \(got 'lots'\)/],
    [['99999'], /^opc-server: port must be between 0 and 65535/],
  ])('rejects %j with one line and exit code 2', async (args, message) => {
    const cli = startCli(args);
    expect(await cli.exit).toBe(2);
    const lines = cli.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('names the absolute data directory at start, and keeps n, HIST and RANGE across a restart and a kill -9', async () => {
    const cwd = tempDir();
    const first = startCli(['--port', '0', '--log-format', 'json', '--stats-interval-ms', '0'], {}, cwd);
    const started = await vi.waitFor(
      () => {
        const line = logLines(first.stderr()).find((l) => typeof l.dataDir === 'string');
        if (!line) throw new Error(`no storage line yet; stderr: ${first.stderr()}`);
        return line;
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(started).toMatchObject({
      dataDir: join(cwd, 'opc-data'),
      msg: `history is kept in ${join(cwd, 'opc-data')}`,
    });
    const port = Number(
      String(logLines(first.stderr()).find((l) => typeof l.tcp === 'string')!.tcp)
        .split(':')
        .pop(),
    );
    const udp = createSocket('udp4');
    // Recent timestamps: readings older than the retention (30 days) are deleted at start.
    const t0 = Math.floor(Date.now() / 1000) - 60;
    for (let i = 1; i <= 5; i++) udp.send(`ramp ${i} ${t0 + i} ${i}`, port, '127.0.0.1');
    udp.send('0.35', port, '127.0.0.1');
    await expect.poll(() => poll(port), { timeout: 5_000 }).toBe('0.35\n');
    udp.close();
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    const second = startCli(['--port', String(port), '--log-format', 'json', '--stats-interval-ms', '0'], {}, cwd);
    await vi.waitFor(
      () => expect(logLines(second.stderr()).find((l) => l.dataDir)).toMatchObject({ sensors: 2, readings: 6 }),
      {
        timeout: 10_000,
      },
    );
    expect(await poll(port)).toBe('0.35\n');
    expect(await ask(port, 'HIST ramp 2')).toEqual([
      `VAL ramp 4 ${(t0 + 4) * 1000} 4`,
      `VAL ramp 5 ${(t0 + 5) * 1000} 5`,
    ]);
    second.child.kill('SIGKILL');
    await second.exit;

    const third = startCli(['--port', String(port), '--log-format', 'json', '--stats-interval-ms', '0'], {}, cwd);
    await vi.waitFor(() => expect(logLines(third.stderr()).find((l) => l.dataDir)).toBeDefined(), { timeout: 10_000 });
    expect((await ask(port, 'RANGE ramp 0 now')).map((l) => l.split(' ').pop())).toEqual(['1', '2', '3', '4', '5']);
  });

  it('refuses a data directory another server holds with one line naming that process, and exits 1', async () => {
    const cwd = tempDir();
    const { cli: holder } = await startServer(['--stats-interval-ms', '0', '--data-dir', join(cwd, 'd')]);
    const second = startCli(['--port', '0', '--log-format', 'json', '--data-dir', join(cwd, 'd')]);
    expect(await second.exit).toBe(1);
    const lines = second.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^opc-server: the data directory is in use: .*LOCK is held by process ${holder.child.pid!} on .*; stop that server or choose another --data-dir$`,
      ),
    );
  });

  it('refuses a data directory it cannot create with one line, and exits 1', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'file'), '');
    const cli = startCli(['--port', '0', '--log-format', 'json', '--data-dir', join(cwd, 'file', 'data')]);
    expect(await cli.exit).toBe(1);
    const lines = cli.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^opc-server: cannot use the data directory: .*file\/data/);
  });

  it('writes nothing with --memory, and says history is in memory only', async () => {
    const cwd = tempDir();
    const { cli } = await startServer(['--stats-interval-ms', '0', '--memory']);
    await vi.waitFor(() => expect(cli.stderr()).toContain('history is kept in memory only'), { timeout: 10_000 });
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('rejects a bad environment value with one line naming the variable', async () => {
    const cli = startCli([], { OPC_MAX_CLIENTS: 'many' });
    expect(await cli.exit).toBe(2);
    expect(cli.stderr().trim()).toMatch(/^opc-server: OPC_MAX_CLIENTS must be a whole number \(got 'many'\)/);
  });

  it('prints help and the version', async () => {
    const help = startCli(['--help']);
    expect(await help.exit).toBe(0);
    expect(help.stdout()).toMatch(/^opc-server \d+\.\d+\.\d+: the opc-lite telemetry hub/);
    expect(help.stdout()).toContain('--max-clients <n>');

    const version = startCli(['--version']);
    expect(await version.exit).toBe(0);
    expect(version.stdout().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
