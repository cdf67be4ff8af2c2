import { INTEGER_RULES } from '@opc-lite/opc-server';
import { describe, expect, it } from 'vitest';
import { helpText, NUMERIC_FLAGS, parseCli, UsageError } from './options.js';

const run = (argv: string[], env: Record<string, string> = {}) => {
  const command = parseCli(argv, env);
  if (command.kind !== 'run') throw new Error(`expected run, got ${command.kind}`);
  return command;
};

/** What a run command holds for a numeric flag's key. */
const valueOf = (command: ReturnType<typeof run>, key: (typeof NUMERIC_FLAGS)[number]['key']): unknown =>
  key === 'statsIntervalMs' ? command.statsIntervalMs : command.server[key];

describe('parseCli', () => {
  it('listens on 127.0.0.1:7330 with no arguments', () => {
    const command = run([]);
    expect(command.server).toEqual({ port: 7330, host: '127.0.0.1' });
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
  });
});
