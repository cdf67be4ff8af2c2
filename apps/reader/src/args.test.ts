import { describe, expect, it } from 'vitest';
import { connectTimeoutMs, parseReaderArgs, UsageError, type ReaderArgs } from './args.js';

const run = (argv: string[], env: Record<string, string> = {}): ReaderArgs => {
  const command = parseReaderArgs(argv, env);
  if (command.kind !== 'run') throw new Error(`expected run, got ${command.kind}`);
  return command;
};

describe('parseReaderArgs', () => {
  it('takes the seed form <host> <port> <delta> as polling every delta seconds into a window of 20', () => {
    const args = run(['10.0.0.5', '9000', '0.5']);
    expect(args).toMatchObject({
      host: '10.0.0.5',
      port: 9000,
      pollIntervalMs: 500,
      window: 20,
      patterns: [],
      sensors: [],
    });
  });

  it('subscribes to every sensor by default', () => {
    expect(run([])).toMatchObject({ host: '127.0.0.1', port: 7330, pollIntervalMs: undefined, patterns: ['*'] });
  });

  it('subscribes to the named sensors when no pattern is given', () => {
    expect(run(['--sensor', 'a', '--sensor', 'b']).patterns).toEqual(['a', 'b']);
  });

  it('takes several --sub patterns', () => {
    expect(run(['--sub', 'ramp*', '--sub', 'temp/*']).patterns).toEqual(['ramp*', 'temp/*']);
  });

  it('polls named sensors with --interval', () => {
    expect(run(['--interval', '0.25', '--sensor', 'ramp'])).toMatchObject({
      pollIntervalMs: 250,
      sensors: ['ramp'],
      patterns: [],
    });
  });

  it('reads the host and port from the environment, flags first', () => {
    expect(run([], { OPC_HOST: '10.1.1.1', OPC_PORT: '9100' })).toMatchObject({ host: '10.1.1.1', port: 9100 });
    expect(run(['--port', '9200'], { OPC_PORT: '9100' }).port).toBe(9200);
  });

  it('takes the output, window, y range, count and backlog flags', () => {
    expect(
      run(['--csv', '--window', '50', '--y-min', '-1', '--y-max', '1', '--count', '3', '--backlog', '10']),
    ).toMatchObject({
      output: 'csv',
      window: 50,
      yMin: -1,
      yMax: 1,
      count: 3,
      backlog: 10,
    });
    expect(run(['--plain']).output).toBe('plain');
    expect(run([]).output).toBeUndefined();
  });

  it('takes --connect-timeout in seconds, 0 meaning for ever, and leaves it undefined when not given', () => {
    expect(run(['--connect-timeout', '2.5']).connectTimeoutMs).toBe(2500);
    expect(run(['--connect-timeout', '0']).connectTimeoutMs).toBe(0);
    expect(run(['--connect-timeout', '0.0001']).connectTimeoutMs).toBe(1); // short, but not for ever
    expect(run([]).connectTimeoutMs).toBeUndefined();
  });

  it('waits for ever by default on a terminal and 10 s otherwise, unless told', () => {
    expect(connectTimeoutMs(undefined, true)).toBe(0);
    expect(connectTimeoutMs(undefined, false)).toBe(10_000);
    expect(connectTimeoutMs(3000, true)).toBe(3000);
    expect(connectTimeoutMs(0, false)).toBe(0);
  });

  it.each([
    [['--bogus'], /^unknown option --bogus$/],
    [['--frobnicate'], /^unknown option --frobnicate$/],
    [['--windwo', '5'], /^unknown option --windwo; did you mean --window\?$/],
    [['--y-mxa', '5'], /^unknown option --y-mxa; did you mean --y-max\?$/],
    [['h', '1', '2', '3'], /at most 3 arguments/],
    [['h', '99999', '1'], /port must be between 1 and 65535/],
    [['h', '7330', 'soon'], /poll interval \(seconds\) must be a number \(got 'soon'\)/],
    [['h', '7330', '0'], /poll interval must be between 0.001 and 86400 seconds/],
    [['h', '7330', '1', '--interval', '2'], /poll interval is given twice/],
    [['h', '--host', 'x'], /host is given twice/],
    [['--sensor', 'bad name'], /--sensor 'bad name' is not a valid sensor name/],
    [['--sub', 'a?'], /--sub 'a\?' is not a valid pattern/],
    [['h', '7330', '1', '--sub', '*'], /choose one mode/],
    [['--window', '1'], /--window must be between 2 and 100000/],
    [['--y-min', '1', '--y-max', '0'], /--y-min must be below --y-max/],
    [['--y-max', 'top'], /--y-max must be a number/],
    [['--plain', '--csv'], /choose one of --plain and --csv/],
    [['--count', '0'], /--count must be between 1/],
    [['--connect-timeout', 'soon'], /--connect-timeout \(seconds\) must be a number \(got 'soon'\)/],
    [['--connect-timeout=-1'], /--connect-timeout must be between 0 and 86400 seconds \(got -1\)/],
    [['--connect-timeout', '1e6'], /--connect-timeout must be between 0 and 86400 seconds/],
  ])('rejects %j with a one-line usage error', (argv, message) => {
    let caught: unknown;
    try {
      parseReaderArgs(argv, {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain('\n');
  });

  it('answers --help and --version', () => {
    expect(parseReaderArgs(['--help'], {}).kind).toBe('help');
    expect(parseReaderArgs(['-v'], {}).kind).toBe('version');
  });

  it('takes --range with relative or absolute times, --to defaulting to now, and --points', () => {
    expect(run(['--range', '-15m', '--sensor', 'ramp']).range).toEqual({
      from: { kind: 'ago', amount: 15, unit: 'm' },
      to: { kind: 'now' },
      points: undefined,
    });
    expect(run(['--range', '1764316800000', '--to', '-90s', '--points', '60']).range).toEqual({
      from: { kind: 'at', ms: 1764316800000 },
      to: { kind: 'ago', amount: 90, unit: 's' },
      points: 60,
    });
    expect(run(['--range=-7d', '--to=now']).range?.from).toEqual({ kind: 'ago', amount: 7, unit: 'd' });
    expect(run([]).range).toBeUndefined();
  });

  it.each([
    [['--to', 'now'], /--to and --points go with --range/],
    [['--points', '5'], /--to and --points go with --range/],
    [['--range', '15m'], /--range must be epoch ms, 'now', or -<n><unit>/],
    [['--range', '-15m', '--to', 'later'], /--to must be epoch ms/],
    [['--range', '-1h', '--points', '0'], /--points must be between 1 and 100000/],
    [['--range', '-1h', '--sub', '*'], /choose one mode: --range/],
    [['h', '7330', '1', '--range', '-1h'], /choose one mode: --range/],
  ])('rejects the range arguments %j with a one-line usage error', (argv, message) => {
    expect(() => parseReaderArgs(argv, {})).toThrow(UsageError);
    expect(() => parseReaderArgs(argv, {})).toThrow(message);
  });
});
