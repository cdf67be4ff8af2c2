/**
 * Command-line parsing for `opc-sensor`, kept apart from the CLI so that it is
 * pure: argv and environment in, a validated options object (or a
 * {@link UsageError} with a one-line message) out. No I/O, no process exit.
 *
 * The seed's positional form `opc-sensor <host> <port> <delta_t>` and the
 * flags may be mixed; a value given both ways is an error rather than a guess.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_PORT, DEFAULT_SENSOR, isValidName } from '@opc-lite/protocol';
import { suggestOption } from './suggest.js';

/** What the sensor does, in the units the code uses (milliseconds, not the CLI's seconds). */
export interface SensorOptions {
  /** Where to send: a host name or address. */
  host: string;
  /** UDP port of the server, 1..65535. */
  port: number;
  /** Δt between samples, in milliseconds. */
  intervalMs: number;
  /** Sensor name written in native lines. */
  name: string;
  /** Waveform period in milliseconds. */
  periodMs: number;
  amplitude: number;
  offset: number;
  /** Fraction of a period, 0..1. */
  phase: number;
  /** 1 = rising ramp, 0.5 = triangle, 0 = falling ramp. */
  width: number;
  /** Bare values, one per datagram, exactly as the original Medidor sends them. */
  legacy: boolean;
  /** Stop after this many readings; undefined = until a signal. */
  count: number | undefined;
  /** Most readings packed into one datagram when several are due at once. */
  batchMax: number;
  /** No start line and no summary; warnings and errors still print. */
  quiet: boolean;
}

/** The result of parsing: run the sensor, or print help or the version. */
export type SensorCommand = { kind: 'run'; options: SensorOptions } | { kind: 'help' } | { kind: 'version' };

/**
 * Defaults for every option, in the CLI's units (seconds).
 *
 * @example
 * ```ts
 * DEFAULTS.intervalSeconds; // 0.05
 * ```
 */
export const DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: DEFAULT_PORT,
  intervalSeconds: 0.05,
  name: DEFAULT_SENSOR,
  periodSeconds: 1,
  amplitude: 1,
  offset: 0,
  phase: 0,
  width: 1,
  batchMax: 64,
  /** Smallest Δt accepted: 10 µs (100 000 readings/s). */
  minIntervalSeconds: 0.00001,
  maxBatch: 10_000,
});

/** Exit code for a usage error (bad flag or value), as BSD's sysexits and most CLIs use. */
export const USAGE_EXIT_CODE = 2;

/**
 * A bad command line: the message is one line naming the problem, without the
 * program name (the CLI prefixes it).
 *
 * @example
 * ```ts
 * try {
 *   parseSensorArgs(['--width', '2']);
 * } catch (error) {
 *   if (error instanceof UsageError) console.error(`opc-sensor: ${error.message}`); // --width must be between 0 and 1 (got 2)
 * }
 * ```
 */
export class UsageError extends Error {
  readonly code = 'usage';
  readonly exitCode = USAGE_EXIT_CODE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/**
 * The `--help` text.
 *
 * @example
 * ```ts
 * process.stdout.write(HELP);
 * ```
 */
export const HELP = `Usage: opc-sensor [<host> <port> <delta_t>] [options]

Sends a sawtooth over UDP to an opc-lite server, one sample every delta_t seconds.

Arguments (the original Medidor's form; each may also be given as a flag):
  host                 server host                      (--host, env OPC_HOST, default ${DEFAULTS.host})
  port                 server UDP port                  (--port, env OPC_PORT, default ${DEFAULTS.port})
  delta_t              seconds between samples          (--interval, default ${DEFAULTS.intervalSeconds})

Options:
  --host <host>        server host or address
  --port <port>        server UDP port, 1..65535
  --interval <s>       seconds between samples (same as delta_t), e.g. 0.01 for 100 Hz
  --name <sensor>      sensor name (default "${DEFAULTS.name}"): A-Z a-z 0-9 _ . - /, up to 128 characters
  --period <s>         waveform period in seconds (default ${DEFAULTS.periodSeconds})
  --amplitude <a>      peak-to-peak amplitude (default ${DEFAULTS.amplitude})
  --offset <o>         lowest value (default ${DEFAULTS.offset}); values span offset..offset+amplitude
  --phase <f>          phase as a fraction of a period, 0..1 (default ${DEFAULTS.phase})
  --width <w>          0..1: 1 = rising ramp (default), 0.5 = triangle, 0 = falling ramp
  --legacy             bare values, one per datagram, no name/timestamp/sequence, exactly
                       as the original Medidor (sensor ${DEFAULTS.name} only)
  --count <n>          stop after n readings (default: run until Ctrl-C)
  --batch-max <n>      most readings per datagram when several samples are due at once
                       (default ${DEFAULTS.batchMax}, at most ~1400 bytes; 1 = never batch)
  -q, --quiet          no start line and no summary (warnings and errors still print)
  -h, --help           show this help
  -v, --version        show the version

Each reading is sent as a native line "<name> <value> <unix-seconds> <seq>": the
timestamp is the sample's due time and seq counts from 1, so the server can account
for lost readings. A value that starts with "-" and is not a number needs "=": --name=-x.

Examples:
  opc-sensor 127.0.0.1 7330 0.05                       the seed's Medidor, as native lines
  opc-sensor --name tri --width 0.5 --interval 0.01    a triangle at 100 Hz
  opc-sensor 127.0.0.1 7330 0.05 --legacy              bare floats, for the original server

Exit status: 0 when done or stopped by SIGINT/SIGTERM, 1 on a runtime failure, 2 on a usage error.
`;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  interval: { type: 'string' },
  name: { type: 'string' },
  period: { type: 'string' },
  amplitude: { type: 'string' },
  offset: { type: 'string' },
  phase: { type: 'string' },
  width: { type: 'string' },
  legacy: { type: 'boolean' },
  count: { type: 'string' },
  'batch-max': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type OptionName = keyof typeof OPTIONS;

const isOptionName = (name: string): name is OptionName => Object.hasOwn(OPTIONS, name);

/** A plain decimal number as people type it: `1`, `-0.5`, `.05`, `1e-3`. No hex, no `Infinity`, no blanks. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const UNSIGNED_INTEGER = /^\d+$/;

/**
 * Parses `opc-sensor`'s arguments (argv without node and the script) and the
 * environment (`OPC_HOST`, `OPC_PORT`). Precedence: flag or positional, then
 * environment, then {@link DEFAULTS}. `--help` and `--version` win over
 * everything else on the line.
 *
 * @throws {UsageError} with a one-line message naming the problem.
 * @example
 * ```ts
 * const command = parseSensorArgs(['127.0.0.1', '7330', '0.05'], process.env);
 * if (command.kind === 'run') command.options.intervalMs; // 50
 * ```
 */
export function parseSensorArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): SensorCommand {
  const { values, positionals } = tokenize(argv);
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  if (positionals.length > 3) {
    throw new UsageError(
      `too many arguments: expected at most <host> <port> <delta_t>, got ${positionals.length} (${positionals.join(' ')})`,
    );
  }
  const [hostArg, portArg, deltaArg] = positionals;

  const hostText = pick('host', hostArg, 'host', values.host) ?? fromEnv(env, 'OPC_HOST');
  const host = hostText?.value ?? DEFAULTS.host;
  if (host === '') throw new UsageError(`${hostText?.label ?? 'host'} must not be empty`);

  const portText = pick('port', portArg, 'port', values.port) ?? fromEnv(env, 'OPC_PORT');
  const port = portText === undefined ? DEFAULTS.port : parsePort(portText);

  const intervalText = pick('delta_t', deltaArg, 'interval', values.interval);
  const intervalSeconds =
    intervalText === undefined
      ? DEFAULTS.intervalSeconds
      : parseNumberAtLeast(intervalText, DEFAULTS.minIntervalSeconds, 'a number of seconds');

  const name = values.name ?? DEFAULTS.name;
  if (!isValidName(name)) {
    throw new UsageError(
      `--name must be 1 to 128 characters of A-Z a-z 0-9 _ . - / (got ${JSON.stringify(truncate(name))})`,
    );
  }

  const periodSeconds =
    values.period === undefined
      ? DEFAULTS.periodSeconds
      : parsePositive({ label: '--period', value: values.period }, 'a number of seconds');
  const amplitude = optionalFinite('--amplitude', values.amplitude, DEFAULTS.amplitude);
  const offset = optionalFinite('--offset', values.offset, DEFAULTS.offset);
  const phase = optionalFraction('--phase', values.phase, DEFAULTS.phase);
  const width = optionalFraction('--width', values.width, DEFAULTS.width);

  const count =
    values.count === undefined
      ? undefined
      : parseInteger({ label: '--count', value: values.count }, 1, Number.MAX_SAFE_INTEGER);
  const batchMax =
    values['batch-max'] === undefined
      ? DEFAULTS.batchMax
      : parseInteger({ label: '--batch-max', value: values['batch-max'] }, 1, DEFAULTS.maxBatch);

  const legacy = values.legacy === true;
  if (legacy && name !== DEFAULTS.name) {
    throw new UsageError(
      `--legacy sends bare values, which a server files under sensor ${DEFAULTS.name}; it cannot be used with --name ${name}`,
    );
  }
  if (legacy && values['batch-max'] !== undefined) {
    throw new UsageError('--legacy sends one value per datagram; it cannot be used with --batch-max');
  }

  return {
    kind: 'run',
    options: {
      host,
      port,
      intervalMs: intervalSeconds * 1000,
      name,
      periodMs: periodSeconds * 1000,
      amplitude,
      offset,
      phase,
      width,
      legacy,
      count,
      batchMax: legacy ? 1 : batchMax,
      quiet: values.quiet === true,
    },
  };
}

/** A raw value with the name the user knows it by (`--width`, `delta_t`, `OPC_PORT`), for error messages. */
interface Labelled {
  label: string;
  value: string;
}

type Values = { [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/**
 * node:util parseArgs in non-strict mode with our own checks, so that every
 * mistake becomes one sentence naming the flag, whatever Node's wording.
 */
function tokenize(argv: readonly string[]): { values: Values; positionals: string[] } {
  const args = [...argv];
  const { tokens } = parseArgs({
    args,
    options: OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  let firstError: UsageError | undefined;
  let negativeIndex = -1;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue; // the `--` terminator
    const raw = args[token.index] as string;
    if (DECIMAL.test(raw)) {
      // A negative number where an argument goes (`h 7330 -1`): parseArgs reads it as short
      // options (`-1`, or `-0` `-.` `-5` for `-0.5`, all at one index); it is a positional.
      if (token.index !== negativeIndex) positionals.push(raw);
      negativeIndex = token.index;
      continue;
    }
    const { name, rawName } = token;
    if (!isOptionName(name)) {
      const suggestion = suggestOption(rawName, Object.keys(OPTIONS));
      firstError ??= new UsageError(
        `unknown option ${rawName}${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`,
      );
      continue;
    }
    if (OPTIONS[name].type === 'boolean') {
      if (token.inlineValue === true) firstError ??= new UsageError(`${rawName} takes no value`);
      values[name] = true;
    } else if (token.value === undefined) {
      firstError ??= new UsageError(`${rawName} needs a value`);
    } else if (token.inlineValue === false && token.value.startsWith('-') && !DECIMAL.test(token.value)) {
      // As strict parseArgs: `--name --legacy` is a forgotten value, not a sensor called "--legacy";
      // a negative number (`--offset -1`) is clearly a value.
      firstError ??= new UsageError(
        `${rawName} needs a value (write ${rawName}=${truncate(token.value)} for one that starts with "-")`,
      );
    } else {
      values[name] = token.value;
    }
  }
  // --help/--version win over a mistake elsewhere on the line.
  if (firstError !== undefined && values.help !== true && values.version !== true) throw firstError;
  return { values, positionals };
}

function pick(
  positionalLabel: string,
  positional: string | undefined,
  flag: OptionName,
  flagValue: string | undefined,
): Labelled | undefined {
  if (positional !== undefined && flagValue !== undefined) {
    throw new UsageError(
      `${positionalLabel} given twice: as an argument (${positional}) and as --${flag} (${flagValue})`,
    );
  }
  if (positional !== undefined) return { label: positionalLabel, value: positional };
  if (flagValue !== undefined) return { label: `--${flag}`, value: flagValue };
  return undefined;
}

function fromEnv(env: Readonly<Record<string, string | undefined>>, key: string): Labelled | undefined {
  const value = env[key];
  // An empty variable is treated as unset, as shells make `OPC_HOST= cmd` easy to write by accident.
  return value === undefined || value === '' ? undefined : { label: key, value };
}

function got(raw: string): string {
  return `(got ${truncate(raw)})`;
}

function truncate(raw: string): string {
  return raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
}

function parseDecimal({ label, value }: Labelled, what: string): number {
  const n = DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw new UsageError(`${label} must be ${what} ${got(value)}`);
  return n;
}

function parsePort(text: Labelled): number {
  const n = UNSIGNED_INTEGER.test(text.value) ? Number(text.value) : Number.NaN;
  if (!(n >= 1 && n <= 65535))
    throw new UsageError(`${text.label} must be a port number from 1 to 65535 ${got(text.value)}`);
  return n;
}

function parsePositive(text: Labelled, what: string): number {
  const n = parseDecimal(text, what);
  if (!(n > 0)) throw new UsageError(`${text.label} must be greater than 0 ${got(text.value)}`);
  return n;
}

function parseNumberAtLeast(text: Labelled, min: number, what: string): number {
  const n = parsePositive(text, what);
  if (n < min) throw new UsageError(`${text.label} must be at least ${min} s ${got(text.value)}`);
  return n;
}

function parseInteger(text: Labelled, min: number, max: number): number {
  const n = UNSIGNED_INTEGER.test(text.value) ? Number(text.value) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(`${text.label} must be a whole number from ${min} to ${max} ${got(text.value)}`);
  }
  return n;
}

function optionalFinite(label: string, value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : parseDecimal({ label, value }, 'a number');
}

function optionalFraction(label: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = parseDecimal({ label, value }, 'a number between 0 and 1');
  if (n < 0 || n > 1) throw new UsageError(`${label} must be between 0 and 1 ${got(value)}`);
  return n;
}
