import { INTEGER_RULES } from '@opc-lite/opc-server';
import { describe, expect, it } from 'vitest';
import { helpText, NUMERIC_FLAGS, parseCli, parseDuration, UsageError } from './options.js';

const CWD = '/srv/lab';
const run = (argv: string[], env: Record<string, string> = {}) => {
  const command = parseCli(argv, env, CWD);
  if (command.kind !== 'run') throw new Error(`expected run, got ${command.kind}`);
  return command;
};

/** What a run command holds for a numeric flag's key. */
const valueOf = (command: ReturnType<typeof run>, key: (typeof NUMERIC_FLAGS)[number]['key']): unknown =>
  key === 'statsIntervalMs' ? command.statsIntervalMs : command.server[key];

describe('parseCli', () => {
  it('listens on 127.0.0.1:7330 with no arguments', () => {
    const command = run([]);
    expect(command.server).toEqual({ port: 7330, host: '127.0.0.1', storage: { dir: '/srv/lab/opc-data' } });
    expect(command.statsIntervalMs).toBe(10_000);
    expect(command.logLevel).toBe('info');
    expect(command.logFormat).toBeUndefined();
  });

  it('takes a bare port as the original server did', () => {
    expect(run(['9000']).server.port).toBe(9000);
  });

  it('maps every numeric flag to its server option', () => {
    const argv = NUMERIC_FLAGS.flatMap((f, i) => [`--${f.flag}`, String(100 + i)]);
    const command = run(argv);
    NUMERIC_FLAGS.forEach((f, i) => expect(valueOf(command, f.key), f.flag).toBe(100 + i));
  });

  it('has a flag for every numeric option of the server library', () => {
    const flagged = new Set<string>(NUMERIC_FLAGS.map((f) => f.key));
    const missing = Object.keys(INTEGER_RULES).filter((key) => key !== 'port' && !flagged.has(key));
    expect(missing).toEqual([]);
  });

  it('reads every option from its environment variable', () => {
    const env = Object.fromEntries(NUMERIC_FLAGS.map((f, i) => [f.env, String(200 + i)]));
    const command = run([], { ...env, OPC_PORT: '9100', OPC_HOST: '0.0.0.0', OPC_LOG_LEVEL: 'warn' });
    expect(command.server.port).toBe(9100);
    expect(command.server.host).toBe('0.0.0.0');
    expect(command.logLevel).toBe('warn');
    NUMERIC_FLAGS.forEach((f, i) => expect(valueOf(command, f.key), f.env).toBe(200 + i));
  });

  it('lets a flag win over its environment variable', () => {
    const command = run(['--port', '9001', '--history', '5'], { OPC_PORT: '9100', OPC_HISTORY: '7' });
    expect(command.server.port).toBe(9001);
    expect(command.server.historyCapacity).toBe(5);
  });

  it('ignores empty environment variables', () => {
    expect(run([], { OPC_PORT: '' }).server.port).toBe(7330);
  });

  it.each([
    [['--help'], 'help'],
    [['-h'], 'help'],
    [['--version'], 'version'],
    [['-v'], 'version'],
  ])('%j asks for %s', (argv, kind) => {
    expect(parseCli(argv, {}).kind).toBe(kind);
  });

  it.each([
    [['--bogus'], /^unknown option --bogus$/],
    [['--frobnicate'], /^unknown option --frobnicate$/],
    [['--histroy', '5'], /^unknown option --histroy; did you mean --history\?$/],
    [['--max-sensor=5'], /^unknown option --max-sensor; did you mean --max-sensors\?$/],
    [['-x'], /^unknown option -x$/],
    [['70000'], /port must be between 0 and 65535 \(got 70000\)/],
    [['abc'], /port must be a whole number \(got 'abc'\)/],
    [['--port', '-1'], /^--port needs a value \(write --port=<value> for one that starts with '-'\)$/],
    [['--port=-1'], /--port must be a whole number/],
    [['--history', '0'], /--history must be between 1 and/],
    [['--history', '1.5'], /--history must be a whole number \(got '1.5'\)/],
    [['--max-clients', ''], /--max-clients must be a whole number/],
    [['9000', '9001'], /at most one argument/],
    [['9000', '--port', '9001'], /port is given twice/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['--log-format', 'xml'], /--log-format must be json or pretty/],
    [['--host', ' '], /--host must not be empty/],
  ])('rejects %j with a one-line usage error', (argv, message) => {
    let caught: unknown;
    try {
      parseCli(argv, {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain('\n');
  });

  it('names the environment variable when its value is bad', () => {
    expect(() => parseCli([], { OPC_DRAIN_TIMEOUT_MS: 'soon' })).toThrow(/OPC_DRAIN_TIMEOUT_MS must be a whole number/);
  });
});

describe('parseCli: HTTP', () => {
  it('serves HTTP on 7331 by default, on --http-port or OPC_HTTP_PORT, and not at all with 0', () => {
    expect(run([]).httpPort).toBe(7331);
    expect(run(['--http-port', '8080']).httpPort).toBe(8080);
    expect(run([], { OPC_HTTP_PORT: '8081' }).httpPort).toBe(8081);
    expect(run(['--http-port', '8082'], { OPC_HTTP_PORT: '8081' }).httpPort).toBe(8082);
    expect(run(['--http-port', '0']).httpPort).toBe(0);
    // It is not an option of the server library.
    expect(run(['--http-port', '8080']).server).not.toHaveProperty('httpPort');
  });

  it('refuses an HTTP port that is not one, naming where it came from', () => {
    expect(() => parseCli(['--http-port', '70000'], {})).toThrow(
      /^--http-port must be between 0 and 65535 \(got 70000\)$/,
    );
    expect(() => parseCli([], { OPC_HTTP_PORT: 'web' })).toThrow(
      /^OPC_HTTP_PORT must be a whole number \(got 'web'\)$/,
    );
  });

  it('exports sensor values in /metrics only with --metrics-sensors or OPC_METRICS_SENSORS', () => {
    expect(run([])).not.toHaveProperty('metricsSensors');
    expect(run(['--metrics-sensors', 'plant1/*']).metricsSensors).toBe('plant1/*');
    expect(run([], { OPC_METRICS_SENSORS: '*' }).metricsSensors).toBe('*');
    expect(run(['--metrics-sensors', 'a'], { OPC_METRICS_SENSORS: 'b' }).metricsSensors).toBe('a');
  });

  it('refuses a --metrics-sensors that is no pattern, or with HTTP off', () => {
    expect(() => parseCli(['--metrics-sensors', 'a b'], {})).toThrow(
      /^--metrics-sensors must be a sensor pattern such as plant1\/\* .*; got 'a b'$/,
    );
    expect(() => parseCli(['--http-port', '0'], { OPC_METRICS_SENSORS: '*' })).toThrow(
      /^OPC_METRICS_SENSORS is a \/metrics setting; it does nothing with --http-port 0$/,
    );
  });
});

describe('parseCli: storage', () => {
  it('keeps history in ./opc-data by default, or in --data-dir resolved against the working directory', () => {
    expect(run([]).server.storage).toEqual({ dir: '/srv/lab/opc-data' });
    expect(run(['--data-dir', 'var/hist']).server.storage).toEqual({ dir: '/srv/lab/var/hist' });
    expect(run(['--data-dir', '/data']).server.storage).toEqual({ dir: '/data' });
    expect(run([], { OPC_DATA_DIR: '/env/dir' }).server.storage).toEqual({ dir: '/env/dir' });
    expect(run(['--data-dir', '/flag'], { OPC_DATA_DIR: '/env/dir' }).server.storage).toEqual({ dir: '/flag' });
  });

  it('keeps nothing on disk with --memory or OPC_MEMORY=1', () => {
    expect(run(['--memory']).server.storage).toBeUndefined();
    expect(run([], { OPC_MEMORY: '1' }).server.storage).toBeUndefined();
    expect(run([], { OPC_MEMORY: 'false' }).server.storage).toEqual({ dir: '/srv/lab/opc-data' });
  });

  it('maps every storage flag and its environment variable', () => {
    const argv = ['--fsync', 'always', '--fsync-interval-ms', '250', '--write-delay-ms', '0', '--retention', '1d12h'];
    const tuning = ['--wal-segment-bytes', '1MiB', '--checkpoint-wal-bytes', '4096'];
    const flags = run([...argv, '--max-disk-bytes', '512MiB', '--recovery', 'strict', ...tuning]).server.storage;
    expect(flags).toEqual({
      walSegmentBytes: 1024 * 1024,
      checkpointWalBytes: 4096,
      dir: '/srv/lab/opc-data',
      fsync: 'always',
      fsyncIntervalMs: 250,
      writeDelayMs: 0,
      retentionMs: 36 * 3_600_000,
      maxDiskBytes: 512 * 1024 * 1024,
      recovery: 'strict',
    });
    const env = {
      OPC_FSYNC: 'off',
      OPC_FSYNC_INTERVAL_MS: '9',
      OPC_WRITE_DELAY_MS: '20',
      OPC_RETENTION: '0',
      OPC_MAX_DISK_BYTES: '1000',
      OPC_RECOVERY: 'repair',
    };
    expect(run([], env).server.storage).toEqual({
      dir: '/srv/lab/opc-data',
      fsync: 'off',
      fsyncIntervalMs: 9,
      writeDelayMs: 20,
      retentionMs: 0,
      maxDiskBytes: 1000,
      recovery: 'repair',
    });
  });

  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['6h', 21_600_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
    ['1y', 31_536_000_000],
    ['500ms', 500],
    ['0', 0],
  ])('reads the retention %s as %d ms', (text, ms) => {
    expect(parseDuration(text, '--retention')).toBe(ms);
  });

  it.each([
    [['--memory', '--data-dir', 'x'], /^--data-dir needs a data directory; it does nothing with --memory$/],
    [['--memory', '--fsync', 'always'], /^--fsync needs a data directory/],
    [['--fsync', 'sometimes'], /^--fsync must be one of always, interval, off \(got 'sometimes'\)$/],
    [['--recovery', 'maybe'], /^--recovery must be one of repair, strict/],
    [['--retention', '30'], /^--retention must be a duration such as 30d, 12h, 90m or 1y .*\(got '30'\)$/],
    [['--retention', '30 days'], /^--retention must be a duration/],
    [['--retention', '-1d'], /^--retention needs a value|^--retention must be a duration/],
    [['--fsync-interval-ms', '0'], /^--fsync-interval-ms must be between 1 and 2147483647 \(got 0\)$/],
    [['--max-disk-bytes', '1.5GiB'], /^--max-disk-bytes must be a whole number of bytes, optionally with KiB/],
    [['--max-disk-bytes', '10GB'], /^--max-disk-bytes must be a whole number of bytes/],
    [['--data-dir', ' '], /^--data-dir must not be empty$/],
    [['--wal-segment-bytes', '1000'], /^--wal-segment-bytes must be between 4096 and 2147483647 bytes \(got 1000\)$/],
    [['--memory', '--checkpoint-wal-bytes', '1MiB'], /^--checkpoint-wal-bytes needs a data directory/],
    [['--write-delay-ms', '1001'], /^--write-delay-ms must be between 0 and 1000 \(got 1001\)$/],
    [['--memory', '--write-delay-ms', '0'], /^--write-delay-ms needs a data directory/],
  ])('rejects %j with a one-line usage error', (argv, message) => {
    expect(() => parseCli(argv, {}, CWD)).toThrow(UsageError);
    expect(() => parseCli(argv, {}, CWD)).toThrow(message);
  });

  it('names the environment variable when a storage value is bad', () => {
    expect(() => parseCli([], { OPC_MEMORY: 'yes' }, CWD)).toThrow(/^OPC_MEMORY must be 1, true, 0 or false/);
    expect(() => parseCli([], { OPC_RETENTION: 'forever' }, CWD)).toThrow(/^OPC_RETENTION must be a duration/);
  });
});

describe('helpText', () => {
  it('lists every flag with its default and environment variable', () => {
    const text = helpText('1.2.3', { historyCapacity: 1000 });
    expect(text).toContain('opc-server 1.2.3');
    for (const f of NUMERIC_FLAGS) {
      expect(text).toContain(`--${f.flag} <n>`);
      expect(text).toContain(`env ${f.env}`);
    }
    expect(text).toMatch(/--history <n> +readings kept per sensor \(default 1000; env OPC_HISTORY\)/);
    expect(text).toMatch(/--max-history-reply <n> .*\(default as --history; env OPC_MAX_HISTORY_REPLY\)/);
    expect(text).toMatch(/--http-port <n> +HTTP port, .*\(default 7331; 0 = off; env OPC_HTTP_PORT\)/);
    expect(text).toMatch(
      /--metrics-sensors <pattern> +in \/metrics, .* at most 1000 \(default none; env OPC_METRICS_SENSORS\)/,
    );
  });
});
