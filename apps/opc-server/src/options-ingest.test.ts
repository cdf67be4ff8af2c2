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

describe('--mqtt, --mqtt-topic, --mqtt-publish', () => {
  it('subscribes to # by default, takes repeated topics, and the credentials from the environment', () => {
    expect(run(['--mqtt', 'mqtt://broker:1883']).mqtt).toEqual({ url: 'mqtt://broker:1883', topics: ['#'] });
    const command = run(
      [
        '--mqtt',
        'mqtts://broker:8883',
        '--mqtt-topic',
        'tele/#',
        '--mqtt-topic',
        'shellies/#',
        '--mqtt-publish',
        'opc/',
      ],
      { OPC_MQTT_USERNAME: 'u', OPC_MQTT_PASSWORD: 'p', OPC_MQTT_CA_FILE: '/etc/mosquitto/ca.pem' },
    );
    expect(command.mqtt).toEqual({
      url: 'mqtts://broker:8883',
      topics: ['tele/#', 'shellies/#'],
      publishPrefix: 'opc',
      username: 'u',
      password: 'p',
      caFile: '/etc/mosquitto/ca.pem',
    });
  });

  it('refuses a URL that is not mqtt:// or mqtts://, and MQTT settings without --mqtt', () => {
    expect(() => run(['--mqtt', 'http://broker'])).toThrow(/mqtt:\/\/ or mqtts:\/\//);
    expect(() => run(['--mqtt', 'not a url'])).toThrow(/broker URL/);
    expect(() => run(['--mqtt-topic', 'a/#'])).toThrow(/without --mqtt/);
    expect(() => run(['--mqtt', 'mqtt://b', '--mqtt-publish', 'a/#'])).toThrow(/without \+ or #/);
  });
});
