import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseSensorArgs, UsageError, type SensorOptions } from './args.js';

const run = (argv: string[], env: Record<string, string> = {}): SensorOptions => {
  const command = parseSensorArgs(argv, env);
  if (command.kind !== 'run') throw new Error(`expected a run command, got ${command.kind}`);
  return command.options;
};

const usageError = (argv: string[], env: Record<string, string> = {}): UsageError => {
  try {
    parseSensorArgs(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected a usage error for ${JSON.stringify(argv)}`);
};

describe('parseSensorArgs', () => {
  it('uses the documented defaults when given nothing', () => {
    expect(run([])).toEqual({
      host: '127.0.0.1',
      port: 7330,
      intervalMs: 50,
      name: 'default',
      periodMs: 1000,
      amplitude: 1,
      offset: 0,
      phase: 0,
      width: 1,
      legacy: false,
      count: undefined,
      batchMax: DEFAULTS.batchMax,
      quiet: false,
    });
  });

  it('reads the seed form <host> <port> <delta_t> with delta_t in seconds', () => {
    expect(run(['localhost', '5000', '0.01'])).toMatchObject({ host: 'localhost', port: 5000, intervalMs: 10 });
  });

  it('accepts a partial positional form and fills the rest from defaults', () => {
    expect(run(['10.0.0.2'])).toMatchObject({ host: '10.0.0.2', port: 7330, intervalMs: 50 });
    expect(run(['10.0.0.2', '9000'])).toMatchObject({ host: '10.0.0.2', port: 9000, intervalMs: 50 });
  });

  it.each<[string[], Partial<SensorOptions>]>([
    [['--host', 'example.org'], { host: 'example.org' }],
    [['--port=9999'], { port: 9999 }],
    [['--interval', '0.001'], { intervalMs: 1 }],
    [['--name', 'plant/line-1.temp_2'], { name: 'plant/line-1.temp_2' }],
    [['--period', '0.25'], { periodMs: 250 }],
    [['--amplitude', '10'], { amplitude: 10 }],
    [['--amplitude', '-2'], { amplitude: -2 }],
    [['--offset', '-1.5'], { offset: -1.5 }],
    [['--offset=-1e-3'], { offset: -0.001 }],
    [['--name=-x'], { name: '-x' }],
    [['--phase', '0.25'], { phase: 0.25 }],
    [['--width', '0.5'], { width: 0.5 }],
    [['--width', '0'], { width: 0 }],
    [['--legacy'], { legacy: true, batchMax: 1 }],
    [['--count', '50'], { count: 50 }],
    [['--batch-max', '1'], { batchMax: 1 }],
    [['-q'], { quiet: true }],
    [['--quiet'], { quiet: true }],
    [['127.0.0.1', '7330', '0.05', '--name', 'tri', '--width', '.5'], { name: 'tri', width: 0.5, intervalMs: 50 }],
  ])('parses %j', (argv, expected) => {
    expect(run(argv)).toMatchObject(expected);
  });

  it('takes host and port from OPC_HOST and OPC_PORT when not given on the command line', () => {
    expect(run([], { OPC_HOST: 'opc.local', OPC_PORT: '7400' })).toMatchObject({ host: 'opc.local', port: 7400 });
  });

  it('prefers the command line over the environment', () => {
    expect(run(['h1', '1111'], { OPC_HOST: 'h2', OPC_PORT: '2222' })).toMatchObject({ host: 'h1', port: 1111 });
    expect(run(['--port', '3333'], { OPC_PORT: '2222' })).toMatchObject({ port: 3333 });
  });

  it('treats an empty environment variable as unset', () => {
    expect(run([], { OPC_HOST: '', OPC_PORT: '' })).toMatchObject({ host: '127.0.0.1', port: 7330 });
  });

  it('returns help and version commands, which win over other mistakes on the line', () => {
    expect(parseSensorArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseSensorArgs(['-h', '--width', '9'])).toEqual({ kind: 'help' });
    expect(parseSensorArgs(['--bogus', '-h'])).toEqual({ kind: 'help' });
    expect(parseSensorArgs(['--version'])).toEqual({ kind: 'version' });
    expect(parseSensorArgs(['-v'])).toEqual({ kind: 'version' });
  });

  it.each<[string[], string]>([
    [['--width', '2'], '--width must be between 0 and 1 (got 2)'],
    [['--width', '-0.1'], '--width must be between 0 and 1 (got -0.1)'],
    [['--phase', '1.5'], '--phase must be between 0 and 1 (got 1.5)'],
    [['--width', 'half'], '--width must be a number between 0 and 1 (got half)'],
    [['--bogus'], 'unknown option --bogus'],
    [['--frobnicate'], 'unknown option --frobnicate'],
    [['--amplitdue', '2'], 'unknown option --amplitdue; did you mean --amplitude?'],
    [['--batch', '2'], 'unknown option --batch; did you mean --batch-max?'],
    [['-x'], 'unknown option -x'],
    [['--name'], '--name needs a value'],
    [['--name', '-x'], '--name needs a value (write --name=-x for one that starts with "-")'],
    [['--name', '--legacy'], '--name needs a value (write --name=--legacy for one that starts with "-")'],
    [['--legacy=yes'], '--legacy takes no value'],
    [['h', 'p'], 'port must be a port number from 1 to 65535 (got p)'],
    [['h', '70000'], 'port must be a port number from 1 to 65535 (got 70000)'],
    [['--port', '0'], '--port must be a port number from 1 to 65535 (got 0)'],
    [['--port', '80.5'], '--port must be a port number from 1 to 65535 (got 80.5)'],
    [['h', '1', 'fast'], 'delta_t must be a number of seconds (got fast)'],
    [['h', '1', '0'], 'delta_t must be greater than 0 (got 0)'],
    [['h', '1', '-1'], 'delta_t must be greater than 0 (got -1)'],
    [['h', '1', '-0.5'], 'delta_t must be greater than 0 (got -0.5)'],
    [['--interval', '1e-9'], '--interval must be at least 0.00001 s (got 1e-9)'],
    [['--interval', 'Infinity'], '--interval must be a number of seconds (got Infinity)'],
    [['--interval', '0x10'], '--interval must be a number of seconds (got 0x10)'],
    [['--period', '0'], '--period must be greater than 0 (got 0)'],
    [['--amplitude', ''], '--amplitude must be a number (got )'],
    [['--offset', 'NaN'], '--offset must be a number (got NaN)'],
    [['--count', '0'], '--count must be a whole number from 1 to 9007199254740991 (got 0)'],
    [['--count', '2.5'], '--count must be a whole number from 1 to 9007199254740991 (got 2.5)'],
    [['--batch-max', '0'], '--batch-max must be a whole number from 1 to 10000 (got 0)'],
    [['--name', 'a b'], '--name must be 1 to 128 characters of A-Z a-z 0-9 _ . - / (got "a b")'],
    [
      ['--name', 'x'.repeat(129)],
      `--name must be 1 to 128 characters of A-Z a-z 0-9 _ . - / (got "${'x'.repeat(40)}…")`,
    ],
    [['h', '1', '0.1', 'extra'], 'too many arguments: expected at most <host> <port> <delta_t>, got 4 (h 1 0.1 extra)'],
    [['h', '--host', 'g'], 'host given twice: as an argument (h) and as --host (g)'],
    [['h', '1', '0.1', '--interval', '0.2'], 'delta_t given twice: as an argument (0.1) and as --interval (0.2)'],
    [['--host', ''], '--host must not be empty'],
    [
      ['--legacy', '--name', 'ramp'],
      '--legacy sends bare values, which a server files under sensor default; it cannot be used with --name ramp',
    ],
    [['--legacy', '--batch-max', '4'], '--legacy sends one value per datagram; it cannot be used with --batch-max'],
  ])('rejects %j with one line: %s', (argv, message) => {
    const error = usageError(argv);
    expect(error.message).toBe(message);
    expect(error.message).not.toContain('\n');
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe('usage');
  });

  it('names the environment variable when its value is bad', () => {
    expect(usageError([], { OPC_PORT: 'seven' }).message).toBe(
      'OPC_PORT must be a port number from 1 to 65535 (got seven)',
    );
  });

  it('reports the first mistake when there are several', () => {
    expect(usageError(['--nope', '--also-nope']).message).toBe('unknown option --nope');
  });
});
