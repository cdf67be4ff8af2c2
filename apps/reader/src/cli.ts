/**
 * `opc-reader`: argument parsing, output choice, signals and wiring. The
 * client and the dashboard live in @opc-lite/reader-client.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { connect, createClient, type OpcClient } from '@opc-lite/reader-client';
import {
  connectTimeoutMs,
  helpText,
  parseReaderArgs,
  tokenOf,
  UsageError,
  type ReaderArgs,
  type ReaderCommand,
} from './args.js';
import { ConnectDeadline } from './connect-deadline.js';
import { runReaderDashboard } from './dashboard.js';
import { runFeed } from './feed.js';
import { CSV_HEADER, formatCsv, formatPlain } from './format.js';
import { runRange, type RangeArgs } from './range.js';

const readVersion = (): string => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
};

const say = (message: string): void => {
  process.stderr.write(`opc-reader: ${message}\n`);
};

const fail = (message: string, exitCode: number): never => {
  say(message);
  process.exit(exitCode);
};

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Reports connection changes on stderr, once per change rather than once per retry. */
function reportConnection(client: OpcClient): void {
  const server = `${client.host}:${client.port}`;
  let everConnected = false;
  let down = false;
  client.on('reconnecting', () => {
    if (!down)
      say(everConnected ? `connection to ${server} lost; reconnecting` : `waiting for the server at ${server}`);
    down = true;
  });
  client.on('connect', () => {
    if (down) say(everConnected ? `reconnected to ${server}` : `connected to ${server}`);
    everConnected = true;
    down = false;
  });
}

async function runPlain(args: ReaderArgs, csv: boolean, signal: AbortSignal, stop: () => void): Promise<void> {
  // The server may not be up yet, or may restart: wait for it, retrying with backoff.
  const client = createClient({ host: args.host, port: args.port, reconnect: true, signal, ...tokenOf(args) });
  reportConnection(client);
  const deadline = new ConnectDeadline({
    server: `${args.host}:${args.port}`,
    timeoutMs: connectTimeoutMs(args.connectTimeoutMs, process.stdout.isTTY === true),
    onExpire: (error) => fail(error.message, 1),
  });
  client.on('connect', () => deadline.connected());
  if (csv) process.stdout.write(CSV_HEADER);
  let printed = 0;
  let lastPollError = '';
  try {
    await runFeed(
      client,
      {
        ...args,
        backlog: args.backlog ?? 0,
        signal,
        onAnswer: () => deadline.answered(),
        onPollError: (error, sensor) => {
          // A missing sensor or a dropped connection repeats every tick: say it once.
          const text = `${sensor}: ${describe(error)}`;
          if (text !== lastPollError) say(text);
          lastPollError = text;
        },
      },
      (reading) => {
        // Readings already queued may still arrive after stop(): never print past --count.
        if (args.count !== undefined && printed >= args.count) return;
        lastPollError = '';
        process.stdout.write(csv ? formatCsv(reading) : formatPlain(reading));
        printed++;
        if (args.count !== undefined && printed >= args.count) stop();
      },
    );
  } finally {
    deadline.cancel();
    await client.close();
  }
}

/** `--range`: one connection, the span printed, then exit. A one-shot query: a server that is not up is an error. */
async function printRange(args: ReaderArgs, range: RangeArgs, signal: AbortSignal): Promise<void> {
  const client = await connect({ host: args.host, port: args.port, signal, ...tokenOf(args) });
  const write = async (text: string): Promise<void> => {
    if (!process.stdout.write(text)) await once(process.stdout, 'drain', { signal });
  };
  try {
    await runRange(
      client,
      { range, sensors: args.sensors, csv: args.output === 'csv', count: args.count, signal },
      write,
    );
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  let command: ReaderCommand;
  try {
    command = parseReaderArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) fail(`${err.message} (see 'opc-reader --help')`, 2);
    throw err;
  }
  if (command.kind === 'help') {
    process.stdout.write(helpText(readVersion()));
    return;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${readVersion()}\n`);
    return;
  }

  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // `opc-reader --plain | head` closes our stdout: that is a normal way to stop.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stop();
    else fail(`cannot write to stdout: ${err.message}`, 1);
  });

  const output = command.output ?? (process.stdout.isTTY ? 'tui' : 'plain');
  try {
    if (command.range !== undefined) await printRange(command, command.range, controller.signal);
    else if (output === 'tui') await runReaderDashboard(command, controller.signal);
    else await runPlain(command, output === 'csv', controller.signal, stop);
  } catch (err) {
    if (controller.signal.aborted) return;
    fail(describe(err), 1);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `opc-reader: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
