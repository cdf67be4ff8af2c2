import { once } from 'node:events';
import { ProtocolError } from '@opc-lite/protocol';
import type { Reading } from '@opc-lite/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createClient } from './client.js';
import type { OpcClient } from './client.js';
import { ConnectionError, TimeoutError, UnexpectedReplyError } from './errors.js';
import type { ConnectOptions } from './options.js';
import { cleanup, closedPort, defer, startBareServer, startServer } from './testing/fixtures.js';
import type { TestServer } from './testing/fixtures.js';

afterEach(cleanup);

async function client(options: ConnectOptions): Promise<OpcClient> {
  const c = await connect(options);
  defer(() => c.close());
  return c;
}

/** Sends readings over UDP and waits until the server has stored them. */
async function feed(t: TestServer, name: string, values: readonly number[]): Promise<void> {
  const before = t.server.store.get(name)?.count ?? 0;
  await t.send(values.map((v) => `${name} ${v}`));
  await expect.poll(() => t.server.store.get(name)?.count ?? 0).toBe(before + values.length);
}

async function take(iterable: AsyncIterable<Reading>, n: number): Promise<Reading[]> {
  const out: Reading[] = [];
  for await (const r of iterable) {
    out.push(r);
    if (out.length === n) break;
  }
  return out;
}

describe('requests against a real server', () => {
  it('polls the legacy way: NaN before any reading, then the latest value of sensor default', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    expect(await c.poll()).toBeNaN();
    await t.send('0.35');
    await expect.poll(() => t.server.store.get('default')?.count).toBe(1);
    expect(await c.poll()).toBe(0.35);
  });

  it('gets the latest reading of a sensor with its timestamp and seq', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    await feed(t, 'ramp', [0.1, 0.2]);
    const r = await c.get('ramp');
    expect(r).toMatchObject({ name: 'ramp', value: 0.2, seq: 2 });
    expect(r.timestampMs).toBeGreaterThan(1.7e12);
  });

  it('rejects with a ProtocolError carrying the server code for an unknown sensor', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    const error: unknown = await c.get('missing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: 'not-found' });
  });

  it('lists sensors, all or by pattern', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    await feed(t, 'ramp1', [1]);
    await feed(t, 'ramp2', [2, 3]);
    await feed(t, 'other', [4]);
    const all = await c.list();
    expect(all.map((s) => s.name).sort()).toEqual(['other', 'ramp1', 'ramp2']);
    const ramps = await c.list('ramp*');
    expect(ramps.map((s) => [s.name, s.count, s.lastValue]).sort()).toEqual([
      ['ramp1', 1, 1],
      ['ramp2', 2, 3],
    ]);
    expect(await c.list('nothing*')).toEqual([]);
  });

  it('returns history oldest first, limited to n', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    await feed(t, 'ramp', [1, 2, 3, 4, 5]);
    expect((await c.history('ramp', 3)).map((r) => [r.value, r.seq])).toEqual([
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    expect((await c.history('ramp')).map((r) => r.value)).toEqual([1, 2, 3, 4, 5]);
  });

  it('reads the server stats as numbers', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    await feed(t, 'ramp', [1, 2]);
    const stats = await c.stats();
    expect(stats.readings_accepted).toBe(2);
    expect(stats.sensors).toBe(1);
    expect(typeof stats.uptime_ms).toBe('number');
  });

  it('pings and reports the round trip in ms', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    const rtt = await c.ping();
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it('rejects invalid names and counts before sending anything', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    await expect(c.get('bad name')).rejects.toBeInstanceOf(RangeError);
    await expect(c.get('a\nQUIT')).rejects.toBeInstanceOf(RangeError);
    await expect(c.history('ramp', 0)).rejects.toBeInstanceOf(RangeError);
    await expect(c.list('sp ace')).rejects.toBeInstanceOf(RangeError);
    expect(() => c.subscribe('')).toThrow(RangeError);
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
  });

  it('pipelines many requests and matches every reply to its request in order', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    await feed(t, 'a', [1, 2, 3]);
    await feed(t, 'b', [10, 20]);
    const calls: Promise<unknown>[] = [];
    const expected: unknown[] = [];
    for (let i = 0; i < 600; i += 1) {
      switch (i % 6) {
        case 0:
          calls.push(c.get('a').then((r) => r.value));
          expected.push(3);
          break;
        case 1:
          calls.push(c.history('b', 2).then((rs) => rs.map((r) => r.value)));
          expected.push([10, 20]);
          break;
        case 2:
          calls.push(c.get('nope').catch((e: ProtocolError) => e.code));
          expected.push('not-found');
          break;
        case 3:
          calls.push(c.list('a').then((ss) => ss.map((s) => s.name)));
          expected.push(['a']);
          break;
        case 4:
          calls.push(c.poll());
          expected.push(Number.NaN);
          break;
        default:
          calls.push(c.get('b').then((r) => r.seq));
          expected.push(2);
      }
    }
    expect(c.pendingRequests).toBe(600);
    expect(await Promise.all(calls)).toEqual(expected);
    expect(c.pendingRequests).toBe(0);
  });
});

describe('subscriptions', () => {
  it('yields the backlog, then live readings, as the server pushes them', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    await feed(t, 'ramp', [1, 2, 3]);
    const sub = c.subscribe('ramp*', { backlog: 2 });
    await sub.ready;
    const got = take(sub, 4);
    await feed(t, 'ramp', [4]);
    await feed(t, 'ramp7', [5]);
    expect((await got).map((r) => [r.name, r.value, r.seq])).toEqual([
      ['ramp', 2, 2],
      ['ramp', 3, 3],
      ['ramp', 4, 4],
      ['ramp7', 5, 1],
    ]);
  });

  it('routes each push only to the subscriptions whose pattern matches', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    const a = c.subscribe('a*');
    const all = c.subscribe('*');
    await Promise.all([a.ready, all.ready]);
    await feed(t, 'a1', [1]);
    await feed(t, 'b1', [2]);
    await expect.poll(() => all.queued).toBe(2);
    expect(a.queued).toBe(1);
    expect((await a.next()).value).toMatchObject({ name: 'a1' });
  });

  it('does not repeat readings to a live subscription when another one asks for a backlog', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    await feed(t, 'ramp', [1, 2]);
    const all = c.subscribe('*', { backlog: 2 });
    await all.ready;
    await expect.poll(() => all.queued).toBe(2);
    const exact = c.subscribe('ramp', { backlog: 2 });
    await exact.ready;
    await feed(t, 'ramp', [3]);
    await expect.poll(() => exact.queued).toBe(3);
    expect(all.queued).toBe(3);
    expect((await take(all, 3)).map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  it('ends iteration cleanly when the client closes, after the readings already queued', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    const sub = c.subscribe('ramp');
    await sub.ready;
    await feed(t, 'ramp', [1, 2]);
    await expect.poll(() => sub.queued).toBe(2);
    await c.close();
    const seen: number[] = [];
    for await (const r of sub) seen.push(r.value);
    expect(seen).toEqual([1, 2]);
  });

  it('ends a waiting iteration when its signal aborts, and unsubscribes on the server', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    const controller = new AbortController();
    const sub = c.subscribe('ramp', { signal: controller.signal });
    await sub.ready;
    expect(t.server.hub.subscriptionCount).toBe(1);
    const loop = (async () => {
      const seen: Reading[] = [];
      for await (const r of sub) seen.push(r);
      return seen;
    })();
    controller.abort();
    expect(await loop).toEqual([]);
    await expect.poll(() => t.server.hub.subscriptionCount).toBe(0);
  });

  it('ends iteration on unsubscribe() and on break, sending UNSUB both times', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    const a = c.subscribe('a');
    const b = c.subscribe('b');
    await Promise.all([a.ready, b.ready]);
    expect(t.server.hub.subscriptionCount).toBe(2);
    const waiting = a.next();
    await a.unsubscribe();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(t.server.hub.subscriptionCount).toBe(1);
    await feed(t, 'b', [1]);
    expect(await take(b, 1)).toHaveLength(1);
    await expect.poll(() => t.server.hub.subscriptionCount).toBe(0);
    expect(b.ended).toBe(true);
  });

  it('keeps serving a pattern while another subscription of the client still uses it', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    const first = c.subscribe('ramp');
    const second = c.subscribe('ramp');
    await Promise.all([first.ready, second.ready]);
    await first.unsubscribe();
    await feed(t, 'ramp', [7]);
    expect((await second.next()).value).toMatchObject({ value: 7 });
  });

  it('drops the oldest readings for a consumer that falls behind, and counts them', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    const sub = c.subscribe('ramp', { queueCapacity: 5 });
    await sub.ready;
    await feed(
      t,
      'ramp',
      Array.from({ length: 20 }, (_, i) => i),
    );
    await expect.poll(() => sub.received).toBe(20);
    expect(sub.queued).toBe(5);
    expect(sub.dropped).toBe(15);
    expect((await take(sub, 5)).map((r) => r.value)).toEqual([15, 16, 17, 18, 19]);
  });

  it('throws the server refusal from the iterator and rejects ready', async () => {
    const t = await startServer({ maxSubscriptionsPerClient: 1 });
    const c = await client({ port: t.port });
    await c.subscribe('a').ready;
    const refused = c.subscribe('b');
    await expect(refused.ready).rejects.toMatchObject({ code: 'too-many-subscriptions' });
    await expect(refused.next()).rejects.toBeInstanceOf(ProtocolError);
    expect(await refused.next()).toEqual({ done: true, value: undefined });
  });
});

describe('reconnect', () => {
  it('reconnects after the server restarts on the same port and subscribes again', async () => {
    const first = await startServer();
    const port = first.port;
    const c = await client({ port, reconnect: { initialDelayMs: 5, maxDelayMs: 50, factor: 2, jitter: 0 } });
    const events: string[] = [];
    c.on('error', () => undefined);
    c.on('disconnect', () => events.push('disconnect'));
    c.on('reconnecting', ({ attempt }) => events.push(`reconnecting ${attempt}`));
    const sub = c.subscribe('ramp', { backlog: 5 });
    await sub.ready;
    await feed(first, 'ramp', [1, 2]);
    await expect.poll(() => sub.queued).toBe(2);

    const disconnected = once(c, 'disconnect');
    await first.server.close();
    await disconnected;
    expect(c.state).toBe('reconnecting');
    const whileDown = c.poll();

    const reconnected = once(c, 'connect');
    const second = await startServer({ port });
    await reconnected;
    expect(events[0]).toBe('disconnect');
    expect(events[1]).toBe('reconnecting 1');
    expect(await whileDown).toBeNaN();

    await expect.poll(() => second.server.hub.subscriptionCount).toBe(1);
    await feed(second, 'ramp', [3]);
    expect((await take(sub, 3)).map((r) => [r.value, r.seq])).toEqual([
      [1, 1],
      [2, 2],
      [3, 1],
    ]);
  });

  it('rejects requests in flight on a dropped connection with a ConnectionError', async () => {
    const bare = await startBareServer();
    const c = await client({ port: bare.port });
    const accepted = bare.sockets[0] ?? (await bare.nextConnection());
    const pending = c.get('ramp');
    await expect.poll(() => bare.received()).toContain('GET ramp\n');
    const closed = once(c, 'close');
    accepted.destroy();
    const error: unknown = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'ECONNECTION' });
    await closed;
    expect(c.state).toBe('closed');
  });

  it('gives up after maxAttempts, closes, and ends subscriptions with the error', async () => {
    const t = await startServer();
    const c = await client({
      port: t.port,
      reconnect: { initialDelayMs: 1, maxDelayMs: 2, factor: 1, jitter: 0, maxAttempts: 2 },
    });
    c.on('error', () => undefined);
    const sub = c.subscribe('ramp');
    await sub.ready;
    const attempts: number[] = [];
    c.on('reconnecting', ({ attempt }) => attempts.push(attempt));
    const closed = once(c, 'close');
    await t.server.close();
    await closed;
    expect(attempts).toEqual([1, 2]);
    await expect(sub.next()).rejects.toBeInstanceOf(ConnectionError);
    await expect(c.ping()).rejects.toMatchObject({ code: 'ECLOSED' });
  });

  it('lets requests and subscriptions made before the first connection wait for it', async () => {
    const port = await closedPort();
    const c = createClient({ port, reconnect: { initialDelayMs: 5, maxDelayMs: 20, factor: 2, jitter: 0 } });
    defer(() => c.close());
    expect(c.state).toBe('connecting');
    const sub = c.subscribe('ramp', { backlog: 1 });
    const polled = c.poll();
    await once(c, 'reconnecting');
    const t = await startServer({ port });
    expect(await polled).toBeNaN();
    await sub.ready;
    await feed(t, 'ramp', [4]);
    expect((await sub.next()).value).toMatchObject({ value: 4 });
  });

  it('fails what waits for a first connection that cannot be made', async () => {
    const c = createClient({ port: await closedPort() });
    const sub = c.subscribe('ramp');
    const error: unknown = await c.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    await expect(sub.next()).rejects.toBe(error);
    expect(c.state).toBe('closed');
  });

  it('rejects connect with a ConnectionError when nothing listens', async () => {
    const port = await closedPort();
    const error: unknown = await connect({ port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('timeouts, aborts, close', () => {
  it('times out a request the server never answers with a TimeoutError', async () => {
    const bare = await startBareServer();
    const c = await client({ port: bare.port, requestTimeoutMs: 50 });
    const error: unknown = await c.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'ETIMEDOUT', timeoutMs: 50 });
  });

  it('keeps later replies matched after a request timed out', async () => {
    const bare = await startBareServer();
    const c = await client({ port: bare.port });
    const socket = bare.sockets[0] ?? (await bare.nextConnection());
    const late = c.get('ramp', { timeoutMs: 20 });
    await expect(late).rejects.toBeInstanceOf(TimeoutError);
    const next = c.ping();
    await expect.poll(() => bare.received()).toBe('GET ramp\nPING\n');
    socket.write('VAL ramp 1 1764316800000 1\nPONG\n');
    expect(await next).toBeGreaterThanOrEqual(0);
  });

  it('rejects with the signal reason when aborted, before or while waiting', async () => {
    const bare = await startBareServer();
    const c = await client({ port: bare.port });
    const reason = new Error('stop');
    await expect(c.ping({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const controller = new AbortController();
    const waiting = c.get('ramp', { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('closes the client when the connect signal aborts', async () => {
    const t = await startServer();
    const controller = new AbortController();
    const c = await client({ port: t.port, signal: controller.signal });
    const closed = once(c, 'close');
    controller.abort();
    await closed;
    expect(c.state).toBe('closed');
  });

  it('gives the ERR a server sends before hanging up as the reason of the disconnect', async () => {
    const bare = await startBareServer();
    const c = await client({ port: bare.port });
    const socket = bare.sockets[0] ?? (await bare.nextConnection());
    const disconnected = once(c, 'disconnect');
    const closed = once(c, 'close');
    socket.end('ERR idle-timeout no command for 300000 ms\n');
    const [{ error }] = (await disconnected) as [{ error: ProtocolError }];
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.code).toBe('idle-timeout');
    await closed;
  });

  it('drops the connection on a reply that does not fit its request', async () => {
    const bare = await startBareServer();
    const c = await client({ port: bare.port });
    c.on('error', () => undefined);
    const socket = bare.sockets[0] ?? (await bare.nextConnection());
    const ping = c.ping();
    await expect.poll(() => bare.received()).toBe('PING\n');
    const closed = once(c, 'close');
    socket.write('END\n');
    await expect(ping).rejects.toBeInstanceOf(UnexpectedReplyError);
    await closed;
  });

  it('sends QUIT on close, lets written requests finish, and is idempotent', async () => {
    const t = await startServer();
    const c = await client({ port: t.port });
    const closedOnServer = once(t.server, 'clientClose');
    const ping = c.ping();
    const first = c.close();
    expect(c.close()).toBe(first);
    expect(await ping).toBeGreaterThanOrEqual(0);
    await first;
    const [info] = (await closedOnServer) as [{ reason: string }];
    expect(info.reason).toBe('quit');
    await expect(c.get('x')).rejects.toMatchObject({ code: 'ECLOSED' });
  });
});
