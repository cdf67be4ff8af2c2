/**
 * The real CLI with tokens (docs/SECURITY.md): hash-token, --auth-file, SIGHUP reload.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashToken, parseTokenHash, verifyToken } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it, vi } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/opc-server.js', import.meta.url));
const CHEAP = { ln: 6, r: 8, p: 1 };

interface Cli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}
const running: Cli[] = [];
const dirs: string[] = [];
const sockets: Socket[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opc-auth-cli-'));
  dirs.push(dir);
  return dir;
}

function startCli(args: string[], env: Record<string, string> = {}): Cli {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPC_')));
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: tempDir(),
    env: { ...clean, OPC_HTTP_PORT: '0', ...env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = once(child, 'close').then(([code]) => code as number | null);
  const cli = { child, stdout: () => stdout, stderr: () => stderr, exit };
  running.push(cli);
  return cli;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL');
      await cli.exit;
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type LogLine = Record<string, unknown> & { msg?: string };
const logLines = (text: string): LogLine[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

async function waitForLog(cli: Cli, test: (l: LogLine) => boolean): Promise<LogLine> {
  return vi.waitFor(
    () => {
      const line = logLines(cli.stderr()).find(test);
      if (!line) throw new Error(`not logged yet; stderr: ${cli.stderr()}`);
      return line;
    },
    { timeout: 10_000, interval: 20 },
  );
}

/** A line-based TCP client: `ask` sends one line and resolves with the next reply line. */
async function connect(port: number) {
  const socket = createConnection({ host: '127.0.0.1', port });
  sockets.push(socket);
  await once(socket, 'connect');
  socket.setEncoding('latin1');
  let buffer = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  socket.on('data', (d: string) => {
    buffer += d;
    let lf;
    while ((lf = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, lf));
      buffer = buffer.slice(lf + 1);
    }
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  const next = async (): Promise<string> => {
    while (lines.length === 0) {
      if (closed) throw new Error('closed');
      await new Promise<void>((r) => (wake = r));
    }
    return lines.shift()!;
  };
  return {
    ask: async (line: string) => {
      socket.write(`${line}\n`);
      return next();
    },
    next,
    closed: () => closed,
  };
}

describe('opc-server hash-token', () => {
  it('prints the hash of the token on stdin, which verifies against it', async () => {
    const cli = startCli(['hash-token']);
    cli.child.stdin.end('my-token-123\n');
    expect(await cli.exit).toBe(0);
    const hash = parseTokenHash(cli.stdout().trim());
    expect(hash).toBeDefined();
    expect(await verifyToken('my-token-123', hash!)).toBe(true);
    expect(cli.stdout()).not.toContain('my-token-123');
  });

  it('makes a new token with --generate and prints the auth file line for it', async () => {
    const cli = startCli(['hash-token', '--generate']);
    cli.child.stdin.end();
    expect(await cli.exit).toBe(0);
    const lines = cli.stdout().split('\n');
    const token = lines[1]!;
    const entry = lines.find((l) => l.startsWith('token NAME '))!.split(' ');
    expect(await verifyToken(token, parseTokenHash(entry[2]!)!)).toBe(true);
  });

  it('refuses a token with blanks, saying what a token is', async () => {
    const cli = startCli(['hash-token']);
    cli.child.stdin.end('two words\n');
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toMatch(/a token is 1 to 256 printable ASCII characters without blanks/);
  });
});

describe('opc-server --auth-file', () => {
  it('refuses to start on a mistake in the file, naming the line', async () => {
    const file = join(tempDir(), 'auth');
    writeFileSync(file, `# ok\ntoken a ${await hashToken('t', CHEAP)} reed=*\n`, { mode: 0o600 });
    const cli = startCli(['--port', '0', '--memory', '--auth-file', file]);
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toContain(`opc-server: ${file} line 2: unknown right "reed=*"`);
  });

  it('needs a token, grants its rights, and on SIGHUP applies the new file to open connections', async () => {
    const file = join(tempDir(), 'auth');
    const hashes = { ops: await hashToken('ops-token', CHEAP), viewer: await hashToken('viewer-token', CHEAP) };
    writeFileSync(file, `token ops ${hashes.ops} read=* admin\ntoken viewer ${hashes.viewer} read=a/*\n`, {
      mode: 0o600,
    });
    // The variable, not the flag: both are read.
    const cli = startCli(['--port', '0', '--memory', '--log-format', 'json'], { OPC_AUTH_FILE: file });
    const start = await waitForLog(cli, (l) => typeof l.tcp === 'string');
    const port = Number(String(start.tcp).split(':').pop());
    expect(logLines(cli.stderr()).some((l) => l.tokens === 2)).toBe(true);

    const anonymous = await connect(port);
    expect(await anonymous.ask('LIST')).toBe('ERR auth-required LIST needs a token that may read sensors');
    const ops = await connect(port);
    expect(await ops.ask('AUTH ops-token')).toBe('OK AUTH ops');
    expect(await ops.ask('STATS')).toMatch(/^STAT /);
    const stats: string[] = [];
    for (let line = await ops.next(); line !== 'END'; line = await ops.next()) stats.push(line);
    expect(stats).toContain('STAT auth_tokens 2');
    const viewer = await connect(port);
    expect(await viewer.ask('AUTH viewer-token')).toBe('OK AUTH viewer');
    expect(await viewer.ask('GET b/x')).toBe('ERR forbidden token viewer may not read b/x');

    // A file with a mistake changes nothing.
    writeFileSync(file, 'tokn ops\n');
    cli.child.kill('SIGHUP');
    await waitForLog(cli, (l) => String(l.msg).startsWith('auth file not reloaded'));
    expect(await viewer.ask('PING')).toBe('PONG');

    // viewer now reads b/*; ops is gone.
    writeFileSync(file, `token viewer ${hashes.viewer} read=b/*\n`);
    cli.child.kill('SIGHUP');
    const reloaded = await waitForLog(cli, (l) => l.msg === 'auth file reloaded');
    expect(reloaded).toMatchObject({ tokens: 1, kept: 1, changed: 1, revoked: 1 });
    expect(await ops.next()).toBe('ERR auth-failed token ops is no longer valid');
    expect(await viewer.ask('GET b/x')).toBe('ERR not-found b/x');
    expect(await viewer.ask('GET a/x')).toBe('ERR forbidden token viewer may not read a/x');
    expect(cli.child.exitCode).toBeNull(); // SIGHUP did not stop it
    expect(cli.stderr()).not.toMatch(/ops-token|viewer-token/);
  });
});
