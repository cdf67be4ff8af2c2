/**
 * `opc-sensor`: the original Medidor grown up. Only wiring lives here:
 * arguments, the UDP socket, signals and stderr; the loop is in sensor.ts.
 */
import { lookup } from 'node:dns/promises';
import { createSocket, type Socket } from 'node:dgram';
import { aliasingWarning } from '@opc-lite/sawtooth-generator';
import packageJson from '../package.json' with { type: 'json' };
import { HELP, parseSensorArgs, UsageError, type SensorOptions } from './args.js';
import { SendErrorReporter } from './send-errors.js';
import { formatSummary, runSensor, type SendDatagram } from './sensor.js';

const PROGRAM = 'opc-sensor';

const log = (line: string): void => {
  process.stderr.write(`${PROGRAM}: ${line}\n`);
};

/** Runtime failures (not usage): exit 1 with one line. */
class SensorError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SensorError';
    this.code = code;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const command = parseSensorArgs(argv, process.env);
  if (command.kind === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${packageJson.version}\n`);
    return 0;
  }
  const { options } = command;
  const target = await resolve(options.host);

  const warning = aliasingWarning(options.intervalMs, options.periodMs);
  if (warning !== undefined) log(`warning: ${warning}`);
  if (!options.quiet) log(describe(options, target.address));

  const socket = createSocket(target.family === 6 ? 'udp6' : 'udp4');
  // Send errors arrive in the send callback; this only keeps a stray socket error from being fatal.
  socket.on('error', (error) => log(`socket error: ${error.message}`));
  const reporter = new SendErrorReporter({ log, now: () => performance.now() });
  const send = sender(socket, options.port, target.address, reporter);

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    // The first signal stops the loop and prints the summary; a second one means "now".
    if (++signals > 1) process.exit(0);
    if (!options.quiet) log(`${signal}: stopping`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const summary = await runSensor({ options, send, signal: controller.signal });
    if (!options.quiet) log(formatSummary(summary));
    return 0;
  } finally {
    socket.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * An unconnected socket and sendto for every datagram (as the Medidor does), so
 * a server restart is survived: a connected UDP socket would keep reporting the
 * ICMP errors of a server that was down.
 */
function sender(socket: Socket, port: number, address: string, reporter: SendErrorReporter): SendDatagram {
  return (buffer, length) =>
    new Promise((resolve) => {
      socket.send(buffer, 0, length, port, address, (error) => {
        if (error) {
          reporter.failed(error);
          resolve(error);
        } else {
          reporter.succeeded();
          resolve(undefined);
        }
      });
    });
}

/** Resolves the host once, preferring IPv4 (the server binds 127.0.0.1 by default). */
async function resolve(host: string): Promise<{ address: string; family: number }> {
  try {
    const addresses = await lookup(host, { all: true });
    const chosen = addresses.find((a) => a.family === 4) ?? addresses[0];
    if (chosen === undefined) throw new Error('no address');
    return chosen;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
    throw new SensorError('bad-host', `cannot resolve host ${host}: ${code}`, { cause });
  }
}

function describe(options: SensorOptions, address: string): string {
  const shape = options.width === 1 ? 'sawtooth' : options.width === 0.5 ? 'triangle' : `width ${options.width}`;
  const form = options.legacy ? 'legacy bare values' : `sensor ${options.name}`;
  const until = options.count === undefined ? 'until stopped' : `${options.count} readings`;
  const where = address === options.host ? address : `${options.host} (${address})`;
  return (
    `sending ${form} to ${where}:${options.port} every ${options.intervalMs / 1000} s, ${until} ` +
    `(${shape}, period ${options.periodMs / 1000} s, amplitude ${options.amplitude}, offset ${options.offset})`
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      log(`${error.message} (see '${PROGRAM} --help')`);
      process.exitCode = error.exitCode;
    } else {
      log(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    }
  },
);
