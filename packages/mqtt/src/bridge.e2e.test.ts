import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { createOpcServer, type OpcServer } from '@opc-lite/opc-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMqttBridge, type MqttBridge } from './bridge.js';
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

async function start(
  options: { publishPrefix?: string; maxSensors?: number; topics?: string[] } = {},
): Promise<{ server: OpcServer; bridge: MqttBridge }> {
  const server = createOpcServer({ port: 0, maxSensors: options.maxSensors ?? 10_000 });
  open.push(server);
  const bridge = startMqttBridge(server, {
    url: broker.url,
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
    ...(options.topics !== undefined && { topics: options.topics }),
    ...(options.publishPrefix !== undefined && { publishPrefix: options.publishPrefix }),
  });
  open.push(bridge);
  await bridge.ready();
  return { server, bridge };
}

const pub = (topic: string, message: string): Promise<unknown> =>
  run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-t', topic, '-m', message]);

describe.runIf(MOSQUITTO !== undefined)('the MQTT bridge against mosquitto (docs/INGEST.md, "MQTT")', () => {
  it('stores what Tasmota and Shelly publish, one sensor per numeric leaf, and counts the rest', async () => {
    const { server } = await start();
    await pub(
      'tele/kitchen/SENSOR',
      '{"Time":"2024-01-01T12:00:00","AM2301":{"Temperature":21.5,"Humidity":40},"TempUnit":"C"}',
    );
    await pub(
      'shellies/shellyplus1pm-a8032ab/status/switch:0',
      '{"id":0,"output":false,"apower":12.3,"temperature":{"tC":41.2}}',
    );
    await pub('shellies/shelly1-98/relay/0/power', '7.5');
    await expect.poll(() => server.store.get('shellies/shelly1-98/relay/0/power')?.lastValue).toBe(7.5);
    expect(server.store.get('tele/kitchen/SENSOR/AM2301/Temperature')?.lastValue).toBe(21.5);
    expect(server.store.get('tele/kitchen/SENSOR/AM2301/Humidity')?.lastValue).toBe(40);
    expect(server.store.get('shellies/shellyplus1pm-a8032ab/status/switch_0/apower')?.lastValue).toBe(12.3);
    expect(server.store.get('shellies/shellyplus1pm-a8032ab/status/switch_0/temperature/tC')?.lastValue).toBe(41.2);
    const stats = server.stats();
    expect(stats.ingest_mqtt_accepted).toBe(6);
    expect(stats.ingest_mqtt_ignored).toBe(2); // TempUnit, output
  });

  it('publishes readings retained under the prefix, and never echoes what came from the broker', async () => {
    const { server, bridge } = await start({ publishPrefix: 'opc' });
    await pub('esphome/sensor/temp/state', '19.25');
    await expect.poll(() => server.store.get('esphome/sensor/temp/state')?.lastValue).toBe(19.25);
    server.ingest(Buffer.from('ramp 0.5\n'));
    await expect.poll(() => bridge.stats().published).toBe(1);
    // Retained: a subscriber that comes later still gets it.
    const { stdout } = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.port),
      '-t',
      'opc/#',
      '-v',
      '-C',
      '1',
      '-W',
      '10',
    ]);
    expect(stdout.trim()).toBe('opc/ramp 0.5');
    expect(server.store.get('opc/ramp')).toBeUndefined();
    expect(bridge.stats().published).toBe(1);
  });

  it('survives a broker restart mid-stream and reads what is published after it', async () => {
    const { server, bridge } = await start();
    await pub('plant/boiler', '1');
    await expect.poll(() => server.store.get('plant/boiler')?.seq).toBe(1);
    await broker.stop();
    await expect.poll(() => bridge.stats().connected).toBe(false);
    await broker.start();
    await expect.poll(() => bridge.stats().connects, { timeout: 10_000 }).toBe(2);
    await bridge.ready();
    await pub('plant/boiler', '2');
    await expect.poll(() => server.store.get('plant/boiler')?.lastValue).toBe(2);
  });

  it('refuses malformed JSON, a 1 MB payload, deep nesting and a topic flood past maxSensors, and goes on', async () => {
    const { server } = await start({ maxSensors: 50 });
    await pub('bad/json', '{"a":');
    await pub('deep/json', `${'['.repeat(5000)}1${']'.repeat(5000)}`);
    const big = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-t', 'big/one', '-s']);
    big.stdin.end(Buffer.alloc(1024 * 1024, 0x31));
    await new Promise((resolve) => big.once('exit', resolve));
    await run('sh', [
      '-c',
      `for i in $(seq 0 199); do echo "$i"; done | mosquitto_pub -h 127.0.0.1 -p ${broker.port} -t flood/x -l`,
    ]);
    for (let i = 0; i < 60; i++) await pub(`flood/${i}`, String(i));
    await pub('after/all', '42');
    await expect.poll(() => server.stats().ingest_mqtt_rejected).toBeGreaterThanOrEqual(3 + 11);
    const stats = server.stats();
    expect(stats.rejected_bad_syntax).toBe(1);
    expect(stats.rejected_too_deep).toBe(1);
    expect(stats.rejected_too_large).toBe(1);
    expect(stats.rejected_too_many_sensors).toBeGreaterThanOrEqual(11);
    expect(server.store.size).toBe(50);
    expect(server.store.get('flood/x')?.seq).toBe(200);
  });
});
