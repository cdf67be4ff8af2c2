import { once } from 'node:events';
import net from 'node:net';
import type { OpcServer } from '@opc-lite/opc-server';
import { ProtocolError } from '@opc-lite/protocol';
import type { Reading } from '@opc-lite/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from './client.js';
import type { OpcClient } from './client.js';
import type { ConnectOptions } from './options.js';
import { cleanup, defer, startServer } from './testing/fixtures.js';

afterEach(cleanup);

const NOW = 1_764_316_800_000;
const FAST_RECONNECT = { initialDelayMs: 1, maxDelayMs: 20, factor: 2, jitter: 0 };

async function client(options: ConnectOptions): Promise<OpcClient> {
  const c = await connect(options);
  defer(() => c.close());
  return c;
}

/** Stores a reading and pushes it to subscribers, as the server's UDP path does (no datagram to lose). */
function put(server: OpcServer, name: string, value: number, timestampMs = Number.NaN): void {
  const sensor = server.store.ingest(name, value, timestampMs, -1);
  if (sensor) server.hub.publish(sensor);
}

/** A TCP proxy on port 0 in front of `port`; `kill()` drops every connection through it, as a network failure would. */
async function startProxy(
  port: number,
): Promise<{ port: number; kill: () => void; open: () => number; sent: () => string }> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let sent = '';
  const server = net.createServer((downstream) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    const pair: [net.Socket, net.Socket] = [downstream, upstream];
    pairs.add(pair);
    downstream.on('data', (chunk: Buffer) => (sent += chunk.toString('latin1')));
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    const drop = (): void => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kill = (): void => {
    for (const [downstream, upstream] of pairs) {
      downstream.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  defer(
    () =>
      new Promise<void>((resolve) => {
        kill();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, kill, open: () => pairs.size, sent: () => sent };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('range', () => {
  it('returns the readings of a span, resolved on the server clock, with more where the server cut it', async () => {
    const t = await startServer({ now: () => NOW, maxRangeReply: 2 });
    const c = await client({ port: t.port });
    for (let i = 1; i <= 5; i++) put(t.server, 'ramp', i / 10, NOW - 60_000 * (5 - i));
    const first = await c.range('ramp', '-3m', 'now');
    expect(first.readings.map((r) => [r.value, r.seq])).toEqual([
      [0.2, 2],
      [0.3, 3],
    ]);
    expect(first.more).toBe(NOW - 60_000);
    const rest = await c.range('ramp', first.more!, new Date(NOW));
    expect(rest).toEqual({
      readings: [
        { name: 'ramp', value: 0.4, timestampMs: NOW - 60_000, seq: 4 },
        { name: 'ramp', value: 0.5, timestampMs: NOW, seq: 5 },
      ],
      more: undefined,
    });
  });

  it('walks a range cut many times with rangeAll, each reading once, in order', async () => {
    const t = await startServer({ maxRangeReply: 3, historyCapacity: 100 });
    const c = await client({ port: t.port });
    // Pairs of readings share a timestamp: a cut never falls between them.
    for (let i = 0; i < 40; i++) put(t.server, 'ramp', i, 1000 + Math.floor(i / 2));
    const all = await collect(c.rangeAll('ramp', 0, 'now'));
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('returns buckets when asked for points', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    for (const [v, ts] of [
      [1, 0],
      [3, 40],
      [10, 60],
    ] as const)
      put(t.server, 'ramp', v, ts);
    expect(await c.range('ramp', 0, 100, { points: 2 })).toEqual({
      buckets: [
        { name: 'ramp', startMs: 0, count: 2, min: 1, max: 3, mean: 2, first: 1, last: 3 },
        { name: 'ramp', startMs: 50, count: 1, min: 10, max: 10, mean: 10, first: 10, last: 10 },
      ],
    });
  });

  it('rejects bad arguments before sending, and passes on the server refusals', async () => {
    const t = await startServer({ now: () => NOW });
    const c = await client({ port: t.port });
    put(t.server, 'ramp', 1, 1);
    await expect(c.range('bad name', 0, 1)).rejects.toBeInstanceOf(RangeError);
    await expect(c.range('ramp', '15m', 'now')).rejects.toThrow(/from "15m" is not a time/);
    await expect(c.range('ramp', -1, 'now')).rejects.toThrow(/from: a time must be/);
    await expect(c.range('ramp', 0, 'now', { points: 0 })).rejects.toThrow(/points must be an integer in 1..100000/);
    await expect(c.range('nope', 0, 'now')).rejects.toMatchObject({ code: 'not-found' });
    const late = await c.range('ramp', 'now', '-1s').catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ProtocolError);
    expect(late).toMatchObject({ code: 'bad-args' });
    expect(c.pendingRequests).toBe(0);
  });
});

describe('subscription resume', () => {
  it('sees every reading once, seqs with no gap, across connections killed mid-stream', async () => {
    const t = await startServer({ historyCapacity: 10_000 });
    const proxy = await startProxy(t.port);
    const c = await client({ port: proxy.port, reconnect: FAST_RECONNECT });
    let connects = 0;
    c.on('connect', () => connects++);
    const all = c.subscribe('*');
    const onlyA = c.subscribe('a');
    await Promise.all([all.ready, onlyA.ready]);

    const PER_SENSOR = 300;
    const consumed = { all: [] as Reading[], onlyA: [] as Reading[] };
    const consume = async (sub: typeof all, into: Reading[], total: number): Promise<void> => {
      for await (const r of sub) {
        into.push(r);
        if (into.length === total) break;
      }
    };
    const consumers = Promise.all([
      consume(all, consumed.all, 2 * PER_SENSOR),
      consume(onlyA, consumed.onlyA, PER_SENSOR),
    ]);
    // The producer keeps going while the connection is down: the server keeps what the client misses.
    for (let i = 1; i <= PER_SENSOR; i++) {
      put(t.server, 'a', i);
      put(t.server, 'b', -i);
      if (i === 100 || i === 200) {
        // Kill a connection that is up at both ends: the client may still be reconnecting from the last kill.
        await expect.poll(() => c.connected && proxy.open() > 0).toBe(true);
        proxy.kill();
        await once(c, 'disconnect');
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await consumers;

    expect(connects).toBeGreaterThanOrEqual(2);
    expect(proxy.sent()).toMatch(/AFTER a \d+\n/);
    expect(proxy.sent()).toMatch(/AFTER b \d+\n/);
    const seqsOf = (readings: Reading[], name: string): number[] =>
      readings.filter((r) => r.name === name).map((r) => r.seq);
    const oneToN = Array.from({ length: PER_SENSOR }, (_, i) => i + 1);
    expect(seqsOf(consumed.all, 'a')).toEqual(oneToN);
    expect(seqsOf(consumed.all, 'b')).toEqual(oneToN);
    expect(seqsOf(consumed.onlyA, 'a')).toEqual(oneToN);
    expect(consumed.all.filter((r) => r.name === 'a').map((r) => r.value)).toEqual(oneToN);
  });

  it('starts a sensor again from seq 1 when the restarted server numbers it afresh', async () => {
    const first = await startServer();
    const port = first.port;
    const c = await client({ port, reconnect: FAST_RECONNECT });
    const sub = c.subscribe('*');
    await sub.ready;
    for (let i = 1; i <= 5; i++) put(first.server, 'a', i);
    put(first.server, 'b', 1);
    await expect.poll(() => sub.received).toBe(6);

    const disconnected = once(c, 'disconnect');
    await first.server.close();
    await disconnected;
    const reconnected = once(c, 'connect');
    const second = await startServer({ port });
    // Before the client is back: sensor a exists with fewer readings than it saw, sensor b does not exist yet.
    put(second.server, 'a', 10);
    put(second.server, 'a', 20);
    await reconnected;
    await expect.poll(() => second.server.hub.subscriptionCount).toBe(1);
    put(second.server, 'b', 30);
    put(second.server, 'a', 40);
    const after: [string, number, number][] = [];
    for await (const r of sub) {
      after.push([r.name, r.value, r.seq]);
      if (after.length === 10) break;
    }
    expect(after.slice(6)).toEqual([
      ['a', 10, 1],
      ['a', 20, 2],
      ['b', 30, 1],
      ['a', 40, 3],
    ]);
  });
});
