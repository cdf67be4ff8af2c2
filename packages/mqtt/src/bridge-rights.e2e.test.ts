/**
 * The bridge's rights with an auth file (docs/SECURITY.md, "Writing on the ingest paths"), against mosquitto.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Authenticator, createOpcServer, hashToken, parseAuthFile, type OpcServer } from '@opc-lite/opc-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMqttBridge, type MqttBridge, type MqttBridgeOptions } from './bridge.js';
import { Broker, MOSQUITTO } from './testing/broker.js';

const run = promisify(execFile);
let broker: Broker;
const open: Array<{ close(): Promise<void> }> = [];

beforeEach(async () => {
  broker = new Broker();
  await broker.start();
});
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
  await broker.remove();
});

const FAST = { ln: 4, r: 8, p: 1 };

async function authText(anonymous = 'anonymous write=public/*'): Promise<string> {
  const bridge = await hashToken('bridge-token', FAST);
  const ops = await hashToken('ops-token', FAST);
  return `token bridge ${bridge} read=tele/* write=tele/*,shellies/*\ntoken ops ${ops} read=* write=* admin\n${anonymous}\n`;
}

async function start(
  text: string,
  options: Partial<MqttBridgeOptions> = {},
): Promise<{ server: OpcServer; auth: Authenticator; bridge: MqttBridge }> {
  const auth = new Authenticator(parseAuthFile(text, 'auth-test'), { failureDelayMs: 0 });
  const server = createOpcServer({ port: 0, auth });
  open.push(server);
  const bridge = startMqttBridge(server, { url: broker.url, reconnectMinMs: 20, reconnectMaxMs: 200, ...options });
  open.push(bridge);
  await bridge.ready();
  return { server, auth, bridge };
}

const pub = (topic: string, message: string): Promise<unknown> =>
  run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-t', topic, '-m', message]);

describe.runIf(MOSQUITTO !== undefined)('the MQTT bridge with an auth file (docs/SECURITY.md)', () => {
  it('writes with the rights of the writeAs token, and counts the sensors it may not write as forbidden', async () => {
    const { server } = await start(await authText(), { writeAs: 'bridge' });
    await pub('tele/kitchen/SENSOR', '{"AM2301":{"Temperature":21.5,"Humidity":40}}');
    await pub('zigbee2mqtt/door', '{"contact":1}');
    await pub('public/x', '1'); // anonymous may, the bridge's token may not
    await pub('shellies/relay/power', '7.5');
    await expect.poll(() => server.store.get('shellies/relay/power')?.lastValue).toBe(7.5);
    expect(server.store.get('tele/kitchen/SENSOR/AM2301/Temperature')?.lastValue).toBe(21.5);
    expect(server.store.get('zigbee2mqtt/door/contact')).toBeUndefined();
    expect(server.store.get('public/x')).toBeUndefined();
    const stats = server.stats();
    expect(stats.ingest_mqtt_accepted).toBe(3);
    expect(stats.ingest_mqtt_rejected_forbidden).toBe(2);
    expect(stats.rejected_forbidden).toBe(2);
  });

  it('writes with the anonymous rights without writeAs', async () => {
    const { server } = await start(await authText());
    await pub('tele/kitchen/temp', '20');
    await pub('public/x', '1');
    await expect.poll(() => server.store.get('public/x')?.lastValue).toBe(1);
    expect(server.store.get('tele/kitchen/temp')).toBeUndefined();
    expect(server.stats().ingest_mqtt_rejected_forbidden).toBe(1);
  });

  it('follows a reload: new write patterns at once, none once its entry is gone', async () => {
    const text = await authText();
    const { server, auth } = await start(text, { writeAs: 'bridge' });
    await pub('tele/a', '1');
    await expect.poll(() => server.store.get('tele/a')?.lastValue).toBe(1);
    auth.reload(parseAuthFile(text.replace('write=tele/*,shellies/*', 'write=other/*')));
    await pub('tele/a', '2');
    await pub('other/b', '3');
    await expect.poll(() => server.store.get('other/b')?.lastValue).toBe(3);
    expect(server.store.get('tele/a')?.lastValue).toBe(1);
    auth.reload(
      parseAuthFile(
        text
          .split('\n')
          .filter((l) => !l.startsWith('token bridge'))
          .join('\n'),
      ),
    );
    await pub('other/b', '4');
    await pub('public/c', '5'); // not even the anonymous rights: the bridge is the entry it names
    await expect.poll(() => server.stats().ingest_mqtt_rejected_forbidden).toBe(3);
    expect(server.store.get('other/b')?.lastValue).toBe(3);
    expect(server.store.get('public/c')).toBeUndefined();
  });

  it('publishes back only the sensors its rights may read', async () => {
    const { server, bridge } = await start(await authText(), { writeAs: 'bridge', publishPrefix: 'opc' });
    server.ingest(Buffer.from('secret/x 1\ntele/y 2\n'));
    await expect.poll(() => bridge.stats().published).toBe(1);
    const { stdout } = await run('mosquitto_sub', [
      ...['-h', '127.0.0.1', '-p', String(broker.port), '-t', 'opc/#', '-v', '-C', '1', '-W', '10'],
    ]);
    expect(stdout.trim()).toBe('opc/tele/y 2');
  });

  it('refuses a writeAs that names no entry, or given to a server without an auth file', async () => {
    const auth = new Authenticator(parseAuthFile(await authText(), '/etc/opc-lite/auth'));
    const server = createOpcServer({ port: 0, auth });
    open.push(server);
    expect(() => startMqttBridge(server, { url: broker.url, writeAs: 'nobody' })).toThrow(
      expect.objectContaining({
        code: 'ERR_MQTT_OPTIONS',
        message: 'writeAs: /etc/opc-lite/auth has no token named "nobody"',
      }),
    );
    const bare = createOpcServer({ port: 0 });
    open.push(bare);
    expect(() => startMqttBridge(bare, { url: broker.url, writeAs: 'bridge' })).toThrow(
      expect.objectContaining({ code: 'ERR_MQTT_OPTIONS' }),
    );
  });
});
