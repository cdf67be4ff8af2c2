import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from './options.js';

const run = (argv: string[], env: Record<string, string> = {}) => {
  const command = parseCli(argv, env, '/tmp', 'host');
  if (command.kind !== 'run') throw new Error('expected a run command');
  return command;
};

describe('--ingest-tcp-port', () => {
  it('is off unless given', () => {
    expect(run([]).ingestTcpPort).toBe(0);
  });

  it('takes a port from the flag or from OPC_INGEST_TCP_PORT', () => {
    expect(run(['--ingest-tcp-port', '2003']).ingestTcpPort).toBe(2003);
    expect(run([], { OPC_INGEST_TCP_PORT: '2004' }).ingestTcpPort).toBe(2004);
  });

  it('refuses a port out of range, naming the flag', () => {
    expect(() => run(['--ingest-tcp-port', '70000'])).toThrow(UsageError);
    expect(() => run(['--ingest-tcp-port', '70000'])).toThrow(/--ingest-tcp-port/);
  });
});
