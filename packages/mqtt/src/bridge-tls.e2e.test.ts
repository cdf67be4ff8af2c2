/**
 * The bridge over `mqtts://` (docs/INGEST.md, "MQTT over TLS"): a mosquitto TLS listener with a certificate from a
 * throw-away CA made with openssl at test time.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createOpcServer } from '@opc-lite/opc-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMqttBridge } from './bridge.js';
import { Broker, MOSQUITTO, makeCertificates, type Certificates } from './testing/broker.js';

const run = promisify(execFile);
const OPENSSL = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((p) => existsSync(p));
let dir: string;
let certs: Certificates;
let broker: Broker;
const open: Array<{ close(): Promise<void> }> = [];

describe.runIf(MOSQUITTO !== undefined && OPENSSL !== undefined)('the MQTT bridge over mqtts://', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'opc-mqtt-tls-'));
    certs = await makeCertificates(dir);
    broker = new Broker({ tls: certs });
    await broker.start();
  });
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  afterAll(async () => {
    await broker.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsArgs = (): string[] => ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', certs.ca];

  it('connects with the CA given, stores what is published and publishes readings back', async () => {
    const server = createOpcServer({ port: 0 });
    open.push(server);
    const bridge = startMqttBridge(server, {
      url: broker.url,
      ca: readFileSync(certs.ca),
      publishPrefix: 'opc',
      reconnectMinMs: 20,
    });
    open.push(bridge);
    expect(broker.url).toMatch(/^mqtts:\/\//);
    await bridge.ready();
    await run('mosquitto_pub', [...tlsArgs(), '-t', 'tele/attic/temp', '-m', '17.5']);
    await expect.poll(() => server.store.get('tele/attic/temp')?.lastValue).toBe(17.5);
    server.ingest(Buffer.from('ramp 0.25\n'));
    await expect.poll(() => bridge.stats().published).toBe(1);
    const { stdout } = await run('mosquitto_sub', [...tlsArgs(), '-t', 'opc/#', '-v', '-C', '1', '-W', '10']);
    expect(stdout.trim()).toBe('opc/ramp 0.25');
  });

  it('rejects ready() with ERR_MQTT_TLS naming the ca option when the CA is not given', async () => {
    const server = createOpcServer({ port: 0 });
    open.push(server);
    const bridge = startMqttBridge(server, { url: broker.url, reconnectMinMs: 20 });
    open.push(bridge);
    const err = await bridge.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'MqttBridgeError', code: 'ERR_MQTT_TLS' });
    expect((err as Error).message).toMatch(/^the broker's certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN: /);
    expect((err as Error).message).toContain('give the CA that signed it as the ca option');
    expect(bridge.stats().connected).toBe(false);
    expect(bridge.stats().connects).toBe(0);
  });
});
