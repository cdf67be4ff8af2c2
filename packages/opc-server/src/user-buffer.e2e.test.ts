import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readIntoBuffer } from './user-buffer.js';

const HOST = '127.0.0.1';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Accepted {
  server: net.Server;
  /** Resolves with each accepted socket, in order. */
  nextAccepted: () => Promise<net.Socket>;
  connect: () => Promise<net.Socket>;
}

async function listen(options: net.ServerOpts): Promise<Accepted> {
  const queue: net.Socket[] = [];
  const waiting: ((s: net.Socket) => void)[] = [];
  const accepted: net.Socket[] = [];
  const server = net.createServer(options, (socket) => {
    accepted.push(socket);
    const waiter = waiting.shift();
    if (waiter) waiter(socket);
    else queue.push(socket);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const clients: net.Socket[] = [];
  cleanups.push(async () => {
    for (const c of clients) c.destroy();
    for (const s of accepted) s.destroy(); // a socket whose connection was moved has nothing left to close
    server.close();
    await once(server, 'close');
  });
  return {
    server,
    nextAccepted: () => {
      const ready = queue.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    connect: async () => {
      const client = net.connect(port, HOST);
      clients.push(client);
      await once(client, 'connect');
      return client;
    },
  };
}

/** Reads into the shared buffer, copying each chunk as a consumer that keeps data must. */
function adopt(
  accepted: net.Socket,
  buffer: Buffer,
  options: { allowHalfOpen?: boolean } = {},
): { socket: net.Socket; received: () => string; views: Uint8Array[] } {
  let text = '';
  const views: Uint8Array[] = [];
  const socket = readIntoBuffer(
    accepted,
    buffer,
    (chunk) => {
      views.push(chunk);
      text += Buffer.from(chunk).toString('latin1');
    },
    options,
  );
  if (socket === undefined) throw new Error('readIntoBuffer declined an accepted, paused socket');
  socket.on('error', () => {});
  return { socket, received: () => text, views };
}

describe('readIntoBuffer', () => {
  it('moves an accepted socket to one that reads into the given buffer, and writes as before', async () => {
    const { nextAccepted, connect } = await listen({ pauseOnConnect: true });
    const client = await connect();
    const accepted = await nextAccepted();
    const shared = Buffer.alloc(64);
    const { socket, received, views } = adopt(accepted, shared);

    expect(socket).not.toBe(accepted);
    client.write('n\nGET a\n');
    await vi.waitFor(() => expect(received()).toBe('n\nGET a\n'));
    // Every chunk is a view of the shared buffer, not a copy.
    for (const view of views) expect(view.buffer).toBe(shared.buffer);
    expect(socket.bytesRead).toBe(8);

    let reply = '';
    client.on('data', (d: Buffer) => (reply += d.toString()));
    socket.write('0.35\n');
    await vi.waitFor(() => expect(reply).toBe('0.35\n'));
    expect(socket.remoteAddress).toBe(HOST);
    expect(socket.remotePort).toBe(client.localPort);
  });

  it('hands over each small read as a view of the buffer holding exactly that read', async () => {
    const { nextAccepted, connect } = await listen({ pauseOnConnect: true });
    const client = await connect();
    const shared = Buffer.alloc(64);
    const { received, views } = adopt(await nextAccepted(), shared);
    // One byte at a time, each written after the previous one was read: three reads of one byte.
    for (const [i, byte] of ['n', 'N', 'n'].entries()) {
      client.write(byte);
      await vi.waitFor(() => expect(views).toHaveLength(i + 1));
    }
    expect(received()).toBe('nNn');
    for (const view of views) {
      expect(view.length).toBe(1);
      expect(view.buffer).toBe(shared.buffer);
    }
  });

  it('reads more than the buffer holds in several chunks, in order', async () => {
    const { nextAccepted, connect } = await listen({ pauseOnConnect: true });
    const client = await connect();
    const { received, views } = adopt(await nextAccepted(), Buffer.alloc(16));
    const text = Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join('');
    client.write(text);
    await vi.waitFor(() => expect(received()).toBe(text));
    expect(views.length).toBeGreaterThan(1);
    for (const view of views) expect(view.length).toBeLessThanOrEqual(16);
  });

  it('serves several connections from one buffer without mixing their input', async () => {
    const { nextAccepted, connect } = await listen({ pauseOnConnect: true });
    const shared = Buffer.alloc(64);
    const pairs: { client: net.Socket; received: () => string }[] = [];
    for (let i = 0; i < 10; i++) {
      const client = await connect();
      pairs.push({ client, received: adopt(await nextAccepted(), shared).received });
    }
    // Interleaved writes in small pieces: each connection's reads overwrite the same buffer.
    for (let round = 0; round < 20; round++) {
      for (const [i, { client }] of pairs.entries()) client.write(`c${i}r${round};`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const expected = (i: number): string => Array.from({ length: 20 }, (_, r) => `c${i}r${r};`).join('');
    await vi.waitFor(() => {
      for (const [i, { received }] of pairs.entries()) expect(received()).toBe(expected(i));
    });
  });

  it('stops reading while paused and delivers what came meanwhile on resume', async () => {
    const { nextAccepted, connect } = await listen({ pauseOnConnect: true });
    const client = await connect();
    const { socket, received } = adopt(await nextAccepted(), Buffer.alloc(64));
    client.write('first\n');
    await vi.waitFor(() => expect(received()).toBe('first\n'));

    socket.pause();
    client.write('second\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received()).toBe('first\n');

    socket.resume();
    await vi.waitFor(() => expect(received()).toBe('first\nsecond\n'));
  });

  it("emits 'end' on the peer's half-close and can still answer when half-open is allowed", async () => {
    const { nextAccepted, connect } = await listen({ pauseOnConnect: true, allowHalfOpen: true });
    const client = await connect();
    const { socket, received } = adopt(await nextAccepted(), Buffer.alloc(64), { allowHalfOpen: true });
    const ended = once(socket, 'end');
    let reply = '';
    client.on('data', (d: Buffer) => (reply += d.toString()));
    client.end('QUIT\n');
    await ended;
    expect(received()).toBe('QUIT\n');
    const closed = once(socket, 'close');
    const clientEnded = once(client, 'end');
    socket.end('BYE\n');
    await clientEnded;
    expect(reply).toBe('BYE\n');
    await closed;
  });

  it('leaves the connection counted by its server, so that close() waits for it and then completes', async () => {
    const { server, nextAccepted, connect } = await listen({ pauseOnConnect: true });
    await connect();
    const { socket } = adopt(await nextAccepted(), Buffer.alloc(64));
    const count = (): Promise<number> =>
      new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    expect(await count()).toBe(1);

    let closed = false;
    server.close(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false); // still waiting for the adopted connection

    socket.destroy();
    await vi.waitFor(() => expect(closed).toBe(true));
    expect(await count()).toBe(0);
  });

  it('declines a socket that has already been read from, and leaves it working', async () => {
    const { nextAccepted, connect } = await listen({});
    const client = await connect();
    const accepted = await nextAccepted();
    let text = '';
    accepted.on('data', (d: Buffer) => (text += d.toString()));
    client.write('hello\n');
    await vi.waitFor(() => expect(text).toBe('hello\n'));

    expect(readIntoBuffer(accepted, Buffer.alloc(64), () => {})).toBeUndefined();
    client.write('again\n');
    await vi.waitFor(() => expect(text).toBe('hello\nagain\n'));
  });

  it('declines a socket without a libuv handle that reads into a user buffer', async () => {
    const { nextAccepted, connect } = await listen({ pauseOnConnect: true });
    await connect();
    const accepted = await nextAccepted();
    const internal = accepted as unknown as { _handle: Record<string, unknown> | null };
    const handle = internal._handle;
    // A Node.js without `useUserBuffer` on its TCP handles.
    internal._handle = { readStart: () => 0, readStop: () => 0 };
    expect(readIntoBuffer(accepted, Buffer.alloc(64), () => {})).toBeUndefined();
    internal._handle = null;
    expect(readIntoBuffer(accepted, Buffer.alloc(64), () => {})).toBeUndefined();
    internal._handle = handle;
    expect(accepted.destroyed).toBe(false);
  });
});
