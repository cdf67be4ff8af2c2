// How it works: a TCP listener on a free loopback port; each accepted
// connection is piped to the target. While `dropReplies` is on, bytes from
// the target are thrown away (the client's requests still arrive, their
// answers never do); `cut()` destroys every connection, so the client sees a
// dropped connection and reconnects through the proxy again.

import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy for tests that need a lost reply or a dropped connection at a chosen moment.
 *
 * @example
 * ```ts
 * const proxy = await startTcpProxy(4222);
 * // connect a client to proxy.url with ignoreClusterUpdates, so it reconnects through the proxy
 * proxy.dropReplies = true; // requests reach the server, replies are lost
 * proxy.cut(); // the client reconnects
 * await proxy.close();
 * ```
 */
export interface TcpProxy {
  readonly port: number;
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** While true, bytes from the target are dropped. */
  dropReplies: boolean;
  /** Destroys every proxied connection (and turns `dropReplies` off). */
  cut(): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

/** Starts a proxy from a free port on 127.0.0.1 to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const state = { dropReplies: false };
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connectTcp(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!state.dropReplies) client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    url: `nats://127.0.0.1:${address.port}`,
    get dropReplies() {
      return state.dropReplies;
    },
    set dropReplies(on: boolean) {
      state.dropReplies = on;
    },
    get accepted() {
      return accepted;
    },
    cut() {
      state.dropReplies = false;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
