/**
 * Loopback test fixture: a server on 127.0.0.1 port 0, UDP senders and TCP
 * line clients, all closed by `cleanup()` (call it in `afterEach`).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { createOpcServer, type OpcServer, type OpcServerAddress } from '../server.js';
import type { OpcServerOptions } from '../options.js';
import { LineClient } from './line-client.js';

export const HOST = '127.0.0.1';

export class Fixture {
  readonly #servers: OpcServer[] = [];
  readonly #sockets: net.Socket[] = [];
  readonly #udp: dgram.Socket[] = [];

  /** Creates a server on 127.0.0.1, port 0, and starts it. */
  async start(options: OpcServerOptions = {}): Promise<{ server: OpcServer; address: OpcServerAddress }> {
    const server = createOpcServer({ host: HOST, port: 0, idleTimeoutMs: 0, closeGraceMs: 500, ...options });
    this.#servers.push(server);
    const address = await server.listen();
    return { server, address };
  }

  /** A UDP sender: `send(payload)` resolves when the datagram has left. */
  udpSender(port: number): { send: (payload: string | Uint8Array) => Promise<void> } {
    const socket = dgram.createSocket('udp4');
    this.#udp.push(socket);
    return {
      send: (payload) =>
        new Promise((resolve, reject) => {
          socket.send(payload, port, HOST, (err) => (err ? reject(err) : resolve()));
        }),
    };
  }

  /** A connected TCP line client. */
  async connect(port: number): Promise<LineClient> {
    const socket = net.connect({ host: HOST, port });
    this.#sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new LineClient(socket);
  }

  async cleanup(): Promise<void> {
    for (const socket of this.#sockets.splice(0)) socket.destroy();
    for (const socket of this.#udp.splice(0)) socket.close();
    await Promise.all(this.#servers.splice(0).map((server) => server.close()));
  }
}
