/**
 * The real server in this process, on 127.0.0.1 port 0, with a view of the
 * sessions it creates for TCP clients (to read their pending bytes) and a
 * registry so that every test's servers are closed afterwards.
 */
import { createOpcServer, type OpcServer, type OpcServerOptions, type Session } from '@opc-lite/opc-server';
import { vi } from 'vitest';

/** A listening in-process server. */
export interface ServerFixture {
  server: OpcServer;
  port: number;
  /** Every session the listener created, in accept order (closed ones included). */
  sessions: Session[];
  /** Resolves once `datagrams_received` reaches `total`. */
  waitReceived: (total: number) => Promise<void>;
}

const open = new Set<OpcServer>();

/** Creates and starts a server (port 0 unless given) and records its sessions. */
export async function startServer(options: OpcServerOptions = {}): Promise<ServerFixture> {
  const server = createOpcServer({ port: 0, ...options });
  open.add(server);
  const sessions: Session[] = [];
  // The listener hands every accepted socket to `handle()`; wrapping it on the
  // instance shows the tests the real sessions (their pendingBytes) without
  // changing what the server does.
  const handle = server.handle.bind(server);
  server.handle = (stream, remote) => {
    const session = handle(stream, remote);
    if (session !== undefined) sessions.push(session);
    return session;
  };
  const { port } = await server.listen();
  const waitReceived = async (total: number): Promise<void> => {
    await vi.waitFor(
      () => {
        const received = server.stats().datagrams_received;
        if (received < total) throw new Error(`the server received ${received} of ${total} datagrams`);
      },
      { timeout: 10_000, interval: 2 },
    );
  };
  return { server, port, sessions, waitReceived };
}

/** Closes every server started by {@link startServer} (afterEach). */
export async function closeAllServers(): Promise<void> {
  const servers = [...open];
  open.clear();
  await Promise.all(servers.map((server) => server.close()));
}
