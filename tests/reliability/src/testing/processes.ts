/**
 * Child processes for the CLI tests and the soak: the real `opc-server`,
 * `opc-sensor` and `opc-reader` bins (built by turbo before this project's
 * tests run), with their output collected and every wait driven by events
 * (output, exit) rather than by timers.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const binOf = (pkg: string, bin: string): string => join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', bin);

/** The committed bin files of the three apps. */
export const BINS = Object.freeze({
  server: binOf('opc-server', 'opc-server.js'),
  sensor: binOf('opc-sensor', 'opc-sensor.js'),
  reader: binOf('opc-reader', 'opc-reader.js'),
});

/** How a child ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every child started and not yet reaped, so a failed test cannot leak one. */
const live = new Set<Child>();

/**
 * A running child process whose stdout and stderr are kept as text.
 *
 * @example
 * ```ts
 * const child = Child.start(BINS.sensor, ['127.0.0.1', '7330', '0.05']);
 * await child.waitFor(() => (child.stderr.includes('sending') ? true : undefined), 'start line');
 * ```
 */
export class Child {
  readonly process: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  /** The process's working directory (a fresh temporary one). */
  readonly cwd: string;
  /** Set once the process has exited. */
  exitInfo: ExitInfo | undefined;
  /** Resolves when the process has exited and its output is closed. */
  readonly exited: Promise<ExitInfo>;
  readonly #wakers = new Set<() => void>();

  private constructor(file: string, args: readonly string[], env: Readonly<Record<string, string>>) {
    // Clear the apps' environment variables so the caller's shell cannot change a test.
    const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OPC_')));
    // A working directory of its own, removed after the exit: the server's default data dir lands there, never in the checkout.
    const cwd = mkdtempSync(join(tmpdir(), 'opc-child-'));
    this.cwd = cwd;
    this.process = spawn(process.execPath, [file, ...args], {
      cwd,
      env: { ...base, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.process.stdout.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.#wake();
    });
    this.process.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.#wake();
    });
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.process.once('close', (code, signal) => {
        rmSync(cwd, { recursive: true, force: true });
        this.exitInfo = { code, signal };
        live.delete(this);
        this.#wake();
        resolve(this.exitInfo);
      });
    });
    this.process.on('error', () => {});
    this.process.stdin.on('error', () => {});
  }

  /** Runs `node <file> ...args`. */
  static start(file: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): Child {
    const child = new Child(file, args, env);
    live.add(child);
    return child;
  }

  get pid(): number {
    const pid = this.process.pid;
    if (pid === undefined) throw new Error('the child has no pid (spawn failed)');
    return pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /**
   * Resolves with the first defined value `probe` returns, checking after
   * every chunk of output. Rejects when the process exits first or after
   * `timeoutMs`, with the output so far in the message.
   */
  waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        let value: T | undefined;
        try {
          value = probe();
        } catch (err) {
          finish();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (value !== undefined) {
          finish();
          resolve(value);
        } else if (this.exitInfo !== undefined) {
          finish();
          reject(new Error(`process exited (${JSON.stringify(this.exitInfo)}) before ${what}\n${this.#output()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.#output()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(check);
      };
      this.#wakers.add(check);
      check();
    });
  }

  /** Sends a signal (no-op once exited). */
  kill(signal: NodeJS.Signals): void {
    if (this.running) this.process.kill(signal);
  }

  /** SIGKILL if still running, then waits for the exit. */
  async stop(): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
  }

  /** Resident set size from `/proc/<pid>/status` (VmRSS), in bytes; undefined once exited or off Linux. */
  async rssBytes(): Promise<number | undefined> {
    return readRssBytes(this.pid);
  }

  #output(): string {
    const tail = (text: string): string => (text.length > 4000 ? `...${text.slice(-4000)}` : text);
    return `--- stdout ---\n${tail(this.stdout)}\n--- stderr ---\n${tail(this.stderr)}`;
  }

  #wake(): void {
    for (const waker of [...this.#wakers]) waker();
  }
}

/** VmRSS of a process, in bytes, or undefined when it cannot be read (exited, not Linux). */
export async function readRssBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Kills every child still running (afterEach / afterAll). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop()));
}

/** One line of the server's JSON log. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** The JSON lines of a pino log, skipping anything else. */
export function logLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the end of the buffer
    }
  }
  return out;
}

/** A running `opc-server` CLI. */
export interface ServerCli {
  child: Child;
  port: number;
  /** The first JSON line: where it listens, the granted UDP buffer. */
  start: LogLine;
  logs(): LogLine[];
}

/**
 * Starts `opc-server --log-format json --stats-interval-ms 0` plus `args`
 * (on `--port 0` unless `args` name a port, and `--http-port 0`, no HTTP,
 * unless they name one), with `env` added to its environment, and waits for
 * its start line.
 */
export async function startServerCli(
  args: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<ServerCli> {
  const port = args.includes('--port') ? [] : ['--port', '0'];
  // The default HTTP port (7331) would be shared by servers started side by side.
  const http = args.includes('--http-port') ? [] : ['--http-port', '0'];
  const child = Child.start(
    BINS.server,
    [...port, ...http, '--log-format', 'json', '--stats-interval-ms', '0', ...args],
    env,
  );
  const start = await child.waitFor(
    () => logLines(child.stderr).find((line) => typeof line.tcp === 'string'),
    'the server start line',
  );
  return { child, port: Number(String(start.tcp).split(':').pop()), start, logs: () => logLines(child.stderr) };
}

/** Starts `opc-sensor 127.0.0.1 <port> <deltaS> ...args`. */
export function startSensorCli(port: number, deltaS: number, args: readonly string[] = []): Child {
  return Child.start(BINS.sensor, ['127.0.0.1', String(port), String(deltaS), ...args]);
}

/** Starts `opc-reader ...args`. */
export function startReaderCli(args: readonly string[]): Child {
  return Child.start(BINS.reader, args);
}
