import { ProtocolError } from '@opc-lite/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createClient } from './client.js';
import { pollEvery, type PolledReading } from './poll-loop.js';
import { cleanup, closedPort, defer, startBareServer, startServer } from './testing/fixtures.js';

afterEach(cleanup);

/** Starts a poll loop that the test stops with `stop()`; `done` settles when the loop has returned. */
function run(
  client: Parameters<typeof pollEvery>[0],
  options: Omit<Parameters<typeof pollEvery>[1], 'signal'>,
): { readings: PolledReading[]; misses: [string, unknown][]; stop: () => void; done: Promise<void> } {
  const controller = new AbortController();
  const readings: PolledReading[] = [];
  const misses: [string, unknown][] = [];
  const done = pollEvery(
    client,
    { ...options, signal: controller.signal, onMiss: (name, error) => misses.push([name, error]) },
    (r) => readings.push(r),
  );
  defer(() => controller.abort());
  return { readings, misses, stop: () => controller.abort(), done };
}

describe('pollEvery', () => {
  it('polls n every interval over one connection, NaN until sensor default has a reading', async () => {
    const t = await startServer();
    const client = await connect({ port: t.port });
    defer(() => client.close());
    const loop = run(client, { intervalMs: 10 });
    await expect.poll(() => loop.readings.length).toBeGreaterThan(2);
    expect(loop.readings[0]).toMatchObject({ name: 'default', value: Number.NaN, seq: undefined });
    await t.send('0.25');
    await expect.poll(() => loop.readings.at(-1)?.value).toBe(0.25);

    loop.stop();
    await loop.done;
    // A poll sent just before the stop may still be on its way to the server: let it land, then count.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const polls = t.server.stats().polls;
    expect(t.server.stats().clients_total).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(t.server.stats().polls).toBe(polls); // nothing after the abort (the loop polled every 10 ms)
    expect(loop.misses).toEqual([]);
  });

  it('reads named sensors with GET on every tick, or only new readings with skipRepeats', async () => {
    const t = await startServer();
    await t.send(['a 1', 'b 2']);
    await expect.poll(() => t.server.store.size).toBe(2);
    const client = await connect({ port: t.port });
    defer(() => client.close());

    const every = run(client, { intervalMs: 5, sensors: ['a', 'b'] });
    await expect.poll(() => every.readings.length).toBeGreaterThanOrEqual(6);
    every.stop();
    await every.done;
    expect(every.readings.slice(0, 4).map((r) => [r.name, r.value, r.seq])).toEqual([
      ['a', 1, 1],
      ['b', 2, 1],
      ['a', 1, 1],
      ['b', 2, 1],
    ]);

    const fresh = run(client, { intervalMs: 5, sensors: ['a', 'b'], skipRepeats: true });
    await expect.poll(() => fresh.readings.length).toBe(2);
    await t.send('a 3');
    await expect.poll(() => fresh.readings.length).toBe(3);
    const commands = t.server.stats().commands;
    await expect.poll(() => t.server.stats().commands).toBeGreaterThan(commands + 10); // still polling
    expect(fresh.readings.map((r) => [r.name, r.value, r.seq])).toEqual([
      ['a', 1, 1],
      ['b', 2, 1],
      ['a', 3, 2],
    ]);
  });

  it('reports a sensor the server does not know to onMiss, and the others as usual', async () => {
    const t = await startServer();
    await t.send('a 1');
    await expect.poll(() => t.server.store.size).toBe(1);
    const client = await connect({ port: t.port });
    defer(() => client.close());
    const loop = run(client, { intervalMs: 5, sensors: ['ghost', 'a'] });
    await expect.poll(() => loop.misses.length).toBeGreaterThanOrEqual(2);
    const [name, error] = loop.misses[0]!;
    expect(name).toBe('ghost');
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: 'not-found' });
    expect(loop.readings.length).toBeGreaterThanOrEqual(1);
    expect(loop.readings.every((r) => r.name === 'a')).toBe(true);
  });

  it('skips ticks while the client is not connected, reporting them as misses, and ends when it closes', async () => {
    const port = await closedPort();
    const client = createClient({ port, reconnect: { initialDelayMs: 10, maxDelayMs: 20 } });
    client.on('error', () => {});
    const loop = run(client, { intervalMs: 5, sensors: ['a'] });
    await expect.poll(() => loop.misses.length).toBeGreaterThanOrEqual(3);
    expect(loop.misses.every(([name, error]) => name === 'a' && error === undefined)).toBe(true);
    await client.close();
    await loop.done; // the client closed for good: the loop returns by itself
    expect(loop.readings).toEqual([]);
  });

  it('never has two polls outstanding: a poll slower than the interval skips the ticks it overran', async () => {
    let outstanding = 0;
    let most = 0;
    let asked = 0;
    const bare = await startBareServer((socket) => {
      socket.on('data', (chunk) => {
        for (const byte of chunk.toString('latin1')) {
          if (byte !== 'n') continue;
          asked++;
          outstanding++;
          most = Math.max(most, outstanding);
          setTimeout(() => {
            outstanding--;
            socket.write('0.5\n');
          }, 60);
        }
      });
    });
    const client = await connect({ port: bare.port });
    defer(() => client.close());
    const loop = run(client, { intervalMs: 5 });
    await expect.poll(() => loop.readings.length, { timeout: 5000 }).toBeGreaterThanOrEqual(4);
    loop.stop();
    await loop.done;
    expect(most).toBe(1);
    expect(asked).toBeLessThanOrEqual(loop.readings.length + 1);
    expect(loop.readings.every((r) => r.value === 0.5)).toBe(true);
  });

  it('rejects an interval that is not a positive number', async () => {
    const t = await startServer();
    const client = await connect({ port: t.port });
    defer(() => client.close());
    for (const intervalMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(pollEvery(client, { intervalMs }, () => {})).rejects.toThrow(/intervalMs must be a positive/);
    }
  });
});
