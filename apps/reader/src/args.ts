/**
 * The command line of `opc-reader`, as a pure function: the seed's positional
 * form `opc-reader <host> <port> <delta>` and flags.
 */
import { parseArgs } from 'node:util';
import { isValidName, isValidPattern, MAX_RANGE_POINTS, parseTimeArg, type TimeArg } from '@opc-lite/protocol';
import type { RangeArgs } from './range.js';
import { suggestOption } from './suggest.js';

/** A user mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'EUSAGE';
}

export type Output = 'tui' | 'plain' | 'csv';

export interface ReaderArgs {
  readonly host: string;
  readonly port: number;
  /** Poll every this many ms (the seed's delta), or `undefined` to subscribe instead. */
  readonly pollIntervalMs: number | undefined;
  /** Subscribe mode: the patterns to subscribe to. */
  readonly patterns: readonly string[];
  /** Explicit sensors (`--sensor`, repeatable); empty = the default sensor in poll mode. */
  readonly sensors: readonly string[];
  readonly window: number;
  readonly yMin: number | undefined;
  readonly yMax: number | undefined;
  /** `undefined`: the dashboard on a terminal, plain lines otherwise. */
  readonly output: Output | undefined;
  /** Stop after printing this many readings (plain and CSV output). */
  readonly count: number | undefined;
  /** `--backlog`, or `undefined` when not given: plain and CSV output replay none, the dashboard fills its window. */
  readonly backlog: number | undefined;
  /** `--connect-timeout` in ms (0 = wait for ever), or `undefined` when not given: see {@link connectTimeoutMs}. */
  readonly connectTimeoutMs: number | undefined;
  /** `--range` mode: print the readings of a time span (or buckets over it) and exit. */
  readonly range: RangeArgs | undefined;
  /** `--token` or `OPC_TOKEN`: sent as `AUTH` on every connection (docs/SECURITY.md, "Tokens on TCP"). */
  readonly token: string | undefined;
}

export type ReaderCommand =
  { readonly kind: 'help' } | { readonly kind: 'version' } | ({ readonly kind: 'run' } & ReaderArgs);

/**
 * The client option for the token, when one was given (an absent key, not `token: undefined`).
 *
 * @example
 * ```ts
 * createClient({ host: args.host, port: args.port, ...tokenOf(args) });
 * ```
 */
export const tokenOf = (args: Pick<ReaderArgs, 'token'>): { token?: string } =>
  args.token === undefined ? {} : { token: args.token };

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7330;
/** The seed's lector keeps the last 20 values. */
export const DEFAULT_WINDOW = 20;
/** How long a reader whose stdout is not a terminal waits for the server, so that a script fails instead of hanging. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

/**
 * The connect timeout to use, in ms, 0 meaning for ever: the one given, else
 * for ever on a terminal (someone is watching) and
 * {@link DEFAULT_CONNECT_TIMEOUT_SECONDS} otherwise.
 *
 * @example
 * ```ts
 * connectTimeoutMs(undefined, process.stdout.isTTY === true); // 0 on a terminal, 10000 in a pipe
 * ```
 */
export const connectTimeoutMs = (given: number | undefined, stdoutIsTerminal: boolean): number =>
  given ?? (stdoutIsTerminal ? 0 : DEFAULT_CONNECT_TIMEOUT_SECONDS * 1000);

const integer = (text: string, what: string, min: number, max: number): number => {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${what} must be a whole number (got '${text}')`);
  const value = Number(text.trim());
  if (value < min || value > max) throw new UsageError(`${what} must be between ${min} and ${max} (got ${value})`);
  return value;
};

const finite = (text: string, what: string): number => {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${what} must be a number (got '${text}')`);
  return value;
};

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;
const VALUE_FLAGS = new Set(['--y-min', '--y-max', '--range', '--to']);

/** parseArgs takes `-1` after a flag for an option; `--y-min -1` means a negative value, so join it as `--y-min=-1`. */
const joinNegativeValues = (argv: readonly string[]): string[] => {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (VALUE_FLAGS.has(arg) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
};

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  host: { type: 'string', short: 'H' },
  port: { type: 'string', short: 'p' },
  interval: { type: 'string', short: 'i' },
  sub: { type: 'string', multiple: true, short: 's' },
  sensor: { type: 'string', multiple: true },
  window: { type: 'string', short: 'w' },
  'y-min': { type: 'string' },
  'y-max': { type: 'string' },
  backlog: { type: 'string' },
  plain: { type: 'boolean' },
  csv: { type: 'boolean' },
  count: { type: 'string', short: 'n' },
  'connect-timeout': { type: 'string' },
  range: { type: 'string' },
  to: { type: 'string' },
  points: { type: 'string' },
  token: { type: 'string' },
} as const;

/** node:util's parse errors span several lines; say the same in one, with a likely fix for a typo. */
const describeParseError = (err: unknown, known: readonly string[]): string => {
  const message = err instanceof Error ? err.message : String(err);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) {
    const suggestion = suggestOption(unknown[1]!, known);
    return `unknown option ${unknown[1]!}${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`;
  }
  const ambiguous = /^Option '(--?[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) return `${ambiguous[1]} needs a value (write ${ambiguous[1]}=<value> for one that starts with '-')`;
  return message.split('\n')[0]!.replace(/^Unknown option/, 'unknown option');
};

/**
 * Parses argv (without `node` and the script) and the environment
 * (`OPC_HOST`, `OPC_PORT`).
 *
 * @example
 * ```ts
 * parseReaderArgs(['127.0.0.1', '7330', '0.5'], {}); // poll the default sensor every 500 ms
 * parseReaderArgs(['--sub', 'ramp*', '--plain'], {}); // print every reading of the ramp* sensors
 * ```
 */
export function parseReaderArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ReaderCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv),
      allowPositionals: true,
      strict: true,
      options: OPTIONS,
    });
  } catch (err) {
    throw new UsageError(describeParseError(err, Object.keys(OPTIONS)), { cause: err });
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  if (positionals.length > 3)
    throw new UsageError(`expected at most 3 arguments: <host> <port> <delta> (got ${positionals.length})`);
  const [hostArg, portArg, deltaArg] = positionals;
  if (hostArg !== undefined && values.host !== undefined)
    throw new UsageError('the host is given twice: as an argument and with --host');
  if (portArg !== undefined && values.port !== undefined)
    throw new UsageError('the port is given twice: as an argument and with --port');
  if (deltaArg !== undefined && values.interval !== undefined) {
    throw new UsageError('the poll interval is given twice: as an argument and with --interval');
  }

  const host = (hostArg ?? values.host ?? env.OPC_HOST ?? DEFAULT_HOST).trim();
  if (host === '') throw new UsageError('the host must not be empty');
  const portText = portArg ?? values.port ?? (env.OPC_PORT || undefined);
  const port = portText === undefined ? DEFAULT_PORT : integer(portText, 'port', 1, 65_535);

  const deltaText = deltaArg ?? values.interval;
  let pollIntervalMs: number | undefined;
  if (deltaText !== undefined) {
    const seconds = finite(deltaText, 'the poll interval (seconds)');
    if (seconds < 0.001 || seconds > 86_400) {
      throw new UsageError(`the poll interval must be between 0.001 and 86400 seconds (got ${deltaText})`);
    }
    pollIntervalMs = seconds * 1000;
  }

  const sensors = values.sensor ?? [];
  for (const name of sensors) {
    if (!isValidName(name))
      throw new UsageError(`--sensor '${name}' is not a valid sensor name (1-128 of A-Z a-z 0-9 _ . - /)`);
  }
  const subs = values.sub ?? [];
  for (const pattern of subs) {
    if (!isValidPattern(pattern))
      throw new UsageError(`--sub '${pattern}' is not a valid pattern (sensor-name characters and *)`);
  }
  if (pollIntervalMs !== undefined && subs.length > 0) {
    throw new UsageError('choose one mode: poll every <delta> seconds, or --sub <pattern> for every reading');
  }
  // Subscribe mode: the patterns given, else the named sensors, else everything.
  const patterns = pollIntervalMs !== undefined ? [] : subs.length > 0 ? subs : sensors.length > 0 ? sensors : ['*'];

  const window = values.window === undefined ? DEFAULT_WINDOW : integer(values.window, '--window', 2, 100_000);
  const yMin = values['y-min'] === undefined ? undefined : finite(values['y-min'], '--y-min');
  const yMax = values['y-max'] === undefined ? undefined : finite(values['y-max'], '--y-max');
  if (yMin !== undefined && yMax !== undefined && !(yMin < yMax)) {
    throw new UsageError(`--y-min must be below --y-max (got ${yMin} and ${yMax})`);
  }
  if (values.plain && values.csv) throw new UsageError('choose one of --plain and --csv');
  const output: Output | undefined = values.csv ? 'csv' : values.plain ? 'plain' : undefined;
  const count = values.count === undefined ? undefined : integer(values.count, '--count', 1, Number.MAX_SAFE_INTEGER);
  const backlog = values.backlog === undefined ? undefined : integer(values.backlog, '--backlog', 0, 1_000_000);
  let connectTimeoutMs: number | undefined;
  if (values['connect-timeout'] !== undefined) {
    const seconds = finite(values['connect-timeout'], '--connect-timeout (seconds)');
    if (seconds < 0 || seconds > 86_400) {
      throw new UsageError(`--connect-timeout must be between 0 and 86400 seconds (got ${values['connect-timeout']})`);
    }
    connectTimeoutMs = seconds === 0 ? 0 : Math.max(1, Math.round(seconds * 1000)); // a tiny wait is not for ever
  }

  const range = parseRange(values.range, values.to, values.points);
  if (range !== undefined && (pollIntervalMs !== undefined || subs.length > 0)) {
    throw new UsageError('choose one mode: --range prints the readings of a time span and exits');
  }

  const token = values.token ?? (env.OPC_TOKEN === '' ? undefined : env.OPC_TOKEN);
  if (token !== undefined && !/^[\x21-\x7e]{1,256}$/.test(token)) {
    throw new UsageError(
      `${values.token === undefined ? 'OPC_TOKEN' : '--token'} must be 1 to 256 printable ASCII characters without blanks`,
    );
  }

  return {
    kind: 'run',
    token,
    host,
    port,
    pollIntervalMs,
    patterns,
    sensors,
    window,
    yMin,
    yMax,
    output,
    count,
    backlog,
    connectTimeoutMs,
    range,
  };
}

const timeArg = (text: string, flag: string): TimeArg => {
  const arg = parseTimeArg(text.trim());
  if (arg === undefined) {
    throw new UsageError(`${flag} must be epoch ms, 'now', or -<n><unit> with unit ms, s, m, h or d (got '${text}')`);
  }
  return arg;
};

/** `--range <from> [--to <to>] [--points <n>]`, or undefined without `--range`. */
function parseRange(
  from: string | undefined,
  to: string | undefined,
  points: string | undefined,
): RangeArgs | undefined {
  if (from === undefined) {
    if (to !== undefined || points !== undefined) throw new UsageError('--to and --points go with --range <from>');
    return undefined;
  }
  return {
    from: timeArg(from, '--range'),
    to: to === undefined ? { kind: 'now' } : timeArg(to, '--to'),
    points: points === undefined ? undefined : integer(points, '--points', 1, MAX_RANGE_POINTS),
  };
}

/**
 * The `--help` text.
 *
 * @example
 * ```ts
 * process.stdout.write(helpText('1.0.0'));
 * ```
 */
export function helpText(version: string): string {
  return `opc-reader ${version}: live charts of opc-lite sensors

Usage:
  opc-reader <host> <port> <delta>     poll every <delta> seconds, as the original lector
  opc-reader [options]                 subscribe: every reading, as it arrives
  opc-reader --range <from> [options]  print the readings since <from> and exit

Options:
  -H, --host <addr>        server address (default ${DEFAULT_HOST}; env OPC_HOST)
  -p, --port <n>           server port (default ${DEFAULT_PORT}; env OPC_PORT)
      --token <token>      authenticate with this token (docs/SECURITY.md); prefer env OPC_TOKEN, which
                           other users cannot see in the process list
  -i, --interval <s>       poll every <s> seconds (the same as <delta>)
  -s, --sub <pattern>      subscribe to sensors matching the pattern; * matches any run (repeatable)
      --sensor <name>      a sensor to show (repeatable); in poll mode default is the sensor 'default'
      --backlog <n>        on subscribe, first replay up to n recent readings of each sensor (default: the
                           dashboard fills its window, plain and CSV output start with live readings)
  -w, --window <n>         readings kept on the chart per sensor (default ${DEFAULT_WINDOW})
      --y-min <v>          fix the bottom of the y axis
      --y-max <v>          fix the top of the y axis
      --plain              print one line per reading instead of drawing (the default when stdout is not a terminal)
      --csv                print CSV: time,sensor,value,seq
  -n, --count <n>          exit after printing n readings (plain and CSV output)
      --connect-timeout <s>
                           exit 1 if the server has not answered within <s> seconds of the start; 0 waits
                           for ever (default: for ever on a terminal, ${DEFAULT_CONNECT_TIMEOUT_SECONDS} s otherwise)
      --range <from>       print the readings of --sensor (default 'default') from <from> and exit; <from> is
                           epoch ms, 'now' or -<n><unit> with unit ms, s, m, h or d (-15m, -6h, -7d)
      --to <to>            the end of the range, in the same form (default now)
      --points <n>         print n equal buckets over the range instead: start, count, min, max, mean, first, last
  -h, --help               show this help
  -v, --version            show the version

Keys in the dashboard: q or Ctrl-C quit, p pause, + and - change the window.
`;
}
