/**
 * Test fixtures: a real opc-lite server on 127.0.0.1 port 0, a UDP sender
 * for it, and bare TCP servers whose replies the test writes by hand. Every
 * fixture registers its cleanup; call {@link cleanup} in `afterEach`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { createOpcServer } from '@opc-lite/opc-server';
import type { OpcServer, OpcServerOptions } from '@opc-lite/opc-server';

const cleanups: (() => Promise<void> | void)[] = [];

/** Runs every registered cleanup, newest first. */
export async function cleanup(): Promise<void> {
  for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
}

/** Registers a cleanup to run after the test. */
export function defer(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

export interface TestServer {
  server: OpcServer;
  port: number;
  /** Sends one datagram of lines (joined with LF) to the server's UDP port. */
  send(lines: string | readonly string[]): Promise<void>;
}

let udp: dgram.Socket | undefined;

function sendDatagram(port: number, text: string): Promise<void> {
  if (!udp) {
    const socket = dgram.createSocket('udp4');
    udp = socket;
    socket.unref();
    defer(() => {
      udp = undefined;
      socket.close();
    });
  }
  const socket = udp;
  return new Promise((resolve, reject) =>
    socket.send(text, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
}

/** Starts a real server on 127.0.0.1, port 0 unless given. Closed after the test. */
export async function startServer(options: OpcServerOptions = {}): Promise<TestServer> {
  const server = createOpcServer({ host: '127.0.0.1', port: 0, closeGraceMs: 200, ...options });
  const { port } = await server.listen();
  defer(() => server.close());
  return {
    server,
    port,
    send: (lines) => sendDatagram(port, typeof lines === 'string' ? lines : lines.join('\n')),
  };
}

export interface BareServer {
  port: number;
  server: net.Server;
  /** Connections accepted so far. */
  sockets: net.Socket[];
  /** Every byte received on all connections, as latin1 text. */
  received(): string;
  /** Resolves with the next accepted connection. */
  nextConnection(): Promise<net.Socket>;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 port 0 that answers nothing (but `QUIT`) unless the test writes to its sockets. */
export async function startBareServer(onConnection?: (socket: net.Socket) => void): Promise<BareServer> {
  const sockets: net.Socket[] = [];
  let text = '';
  const waiting: ((socket: net.Socket) => void)[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      // Lets the client's close() finish at once, as a real server does.
      if (text.endsWith('QUIT\n')) socket.end('BYE\n');
    });
    socket.on('error', () => undefined);
    onConnection?.(socket);
    waiting.shift()?.(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
    return closing;
  };
  defer(close);
  return {
    port: address.port,
    server,
    sockets,
    received: () => text,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    close,
  };
}

/** A port on 127.0.0.1 where nothing listens (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
