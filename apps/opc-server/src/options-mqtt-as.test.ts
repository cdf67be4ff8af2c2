import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from './options.js';

const run = (argv: string[], env: Record<string, string> = {}) => {
  const command = parseCli(argv, env, '/tmp', 'host');
  if (command.kind !== 'run') throw new Error('expected a run command');
  return command;
};

describe('--mqtt-as (docs/SECURITY.md, "Writing on the ingest paths")', () => {
  it('takes the token name from the flag or from OPC_MQTT_AS, with --auth-file', () => {
    const auth = ['--auth-file', 'auth', '--mqtt', 'mqtt://broker:1883'];
    expect(run([...auth, '--mqtt-as', 'bridge']).mqtt?.writeAs).toBe('bridge');
    expect(run(auth, { OPC_MQTT_AS: 'other' }).mqtt?.writeAs).toBe('other');
    expect(run(auth).mqtt?.writeAs).toBeUndefined();
  });

  it('is refused without --mqtt, and without --auth-file', () => {
    expect(() => run(['--auth-file', 'auth', '--mqtt-as', 'bridge'])).toThrow(
      new UsageError('--mqtt-as is an MQTT setting; it does nothing without --mqtt'),
    );
    expect(() => run(['--mqtt', 'mqtt://broker:1883', '--mqtt-as', 'bridge'])).toThrow(
      new UsageError('--mqtt-as names a token of the auth file; it does nothing without --auth-file'),
    );
  });
});
