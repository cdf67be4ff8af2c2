import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpIngest } from './ingest-tcp.js';
import { createOpcServer, type OpcServer } from './server.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function start(maxSensors = 10_000): Promise<{ server: OpcServer; port: number }> {
  const server = createOpcServer({ port: 0, maxSensors });
  open.push(server);
  const ingest = await TcpIngest.listen(server, {
    host: '127.0.0.1',
    port: 0,
    maxLineBytes: 1024,
    maxConnections: 4,
  });
  open.push(ingest);
  return { server, port: ingest.port };
}

/** Sends the chunks one write each, ends the stream, and waits for the server to close its side. */
async function send(port: number, chunks: Array<string | Buffer>): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  for (const chunk of chunks) socket.write(chunk);
  socket.end();
  socket.resume();
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
}

describe('the TCP ingest port (docs/INGEST.md)', () => {
  it('stores Graphite, native and Influx lines cut anywhere, and counts them under tcp', async () => {
    const { server, port } = await start();
    await send(port, [
      'nas.cpu-0.cpu-idle 98.5 17643',
      '16800\r\ndisk.used;dc=eu 42 1764316800\nweather,site=roof temp=21.5,note="ok" 1764316800000000000\n',
      'ramp 0.25',
    ]);
    expect(server.store.get('nas.cpu-0.cpu-idle')?.lastValue).toBe(98.5);
    expect(server.store.get('disk.used_dc_eu')?.lastValue).toBe(42);
    expect(server.store.get('weather/roof/temp')?.lastValue).toBe(21.5);
    expect(server.store.get('ramp')?.lastValue).toBe(0.25);
    const stats = server.stats();
    expect(stats.ingest_tcp_accepted).toBe(4);
    expect(stats.ingest_tcp_ignored).toBe(1);
    expect(stats.fields_ignored).toBe(1);
    expect(stats.ingest_udp_accepted).toBe(0);
  });

  it('refuses a line over maxLineBytes and a bad one, and keeps reading the stream', async () => {
    const { server, port } = await start();
    await send(port, [`long ${'9'.repeat(2000)}\n`, 'ramp nan\n', 'ramp 1\n']);
    expect(server.store.get('ramp')?.lastValue).toBe(1);
    const stats = server.stats();
    expect(stats.ingest_tcp_rejected).toBe(2);
    expect(stats.rejected_line_too_long).toBe(1);
    expect(stats.rejected_bad_number).toBe(1);
    expect(stats.ingest_tcp_rejected_line_too_long).toBe(1);
    expect(stats.ingest_tcp_rejected_bad_number).toBe(1);
    expect(stats.ingest_udp_rejected_bad_number).toBeUndefined();
  });

  it('takes a megabyte of lines without loss, and stops at maxSensors without harm to known sensors', async () => {
    const { server, port } = await start(100);
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) lines.push(`s${i % 200} ${i}\n`);
    const body = Buffer.from(lines.join(''));
    expect(body.length).toBeGreaterThan(400_000);
    await send(port, [body, body]);
    expect(server.store.size).toBe(100);
    expect(server.stats().ingest_tcp_accepted).toBe(50_000);
    expect(server.stats().rejected_too_many_sensors).toBe(50_000);
    expect(server.store.get('s99')?.lastValue).toBe(49_899);
  });
});

/** Examples of the InfluxDB line-protocol reference ("Special characters"), escaping included. */
const REFERENCE_LINES = [
  'my\\,measurement,tag\\ key=tag\\ value field\\=key=1 1556813561098000000',
  'cpu,host=server\\,01,region=us\\=west usage=5i',
  '"measurement\\ with\\ quo⚡️es\\ and\\ emoji",tag\\ key\\ with\\ sp🚀ces=tag\\,value\\,with"commas" field_k\\ey="string field value, only \\" need be esc🍭ped",n=2u',
  'my\\ Measurement fieldKey="string value"',
  'weather,location=us-midwest temperature=82 1465839830100400200',
];

function expectReferenceReadings(server: OpcServer): void {
  expect(server.store.get('my_measurement/tag_value/field_key')?.lastTimestampMs).toBe(1556813561098);
  expect(server.store.get('cpu/server_01/us_west/usage')?.lastValue).toBe(5);
  expect(server.store.get('_measurement_with_quo__es_and_emoji_/tag_value_with_commas_/n')?.lastValue).toBe(2);
  expect(server.store.get('weather/us-midwest/temperature')?.lastValue).toBe(82);
  expect(server.store.size).toBe(4);
  expect(server.stats().rejected_unsupported_type).toBe(1); // a line with only a string field
}

describe("the line-protocol reference's escaping examples", () => {
  it('are read the same over the TCP ingest port', async () => {
    const { server, port } = await start();
    await send(port, [REFERENCE_LINES.join('\n')]);
    expectReferenceReadings(server);
    expect(server.stats().ingest_tcp_accepted).toBe(4);
  });

  it('are read the same in a UDP datagram', async () => {
    const server = createOpcServer({ port: 0 });
    open.push(server);
    const { udpPort } = await server.listen();
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.send(REFERENCE_LINES.join('\n'), udpPort, '127.0.0.1', () => resolve()));
    udp.close();
    await expect.poll(() => server.stats().datagrams_received).toBe(1);
    expectReferenceReadings(server);
    expect(server.stats().ingest_udp_accepted).toBe(4);
  });
});
