/**
 * Sending datagrams to the server on 127.0.0.1, paced by what the server
 * reports it received (no timers): a burst larger than the socket's receive
 * buffer would be dropped by the kernel, which would make exact counts flaky.
 */
import { createSocket, type Socket } from 'node:dgram';

/**
 * A UDP socket that sends to 127.0.0.1.
 *
 * @example
 * ```ts
 * const udp = await UdpSender.open();
 * await udp.send(port, 'ramp 0.5');
 * udp.close();
 * ```
 */
export class UdpSender {
  readonly #socket: Socket;
  #sent = 0;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  static async open(): Promise<UdpSender> {
    const socket = createSocket('udp4');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new UdpSender(socket);
  }

  /** Datagrams sent without error. */
  get sent(): number {
    return this.#sent;
  }

  /** Sends one datagram; resolves once the kernel took it. */
  send(port: number, data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.send(data, port, '127.0.0.1', (err) => {
        if (err) reject(err);
        else {
          this.#sent++;
          resolve();
        }
      });
    });
  }

  /**
   * Sends every datagram, `batch` at a time; after each batch waits until
   * `received()` (the server's `datagrams_received`) reaches the running total
   * `base + sent`, so the kernel's receive buffer never overflows.
   * `waitReceived` must resolve once the count is reached (e.g. `expect.poll`).
   */
  async sendPaced(
    port: number,
    datagrams: Iterable<string | Uint8Array>,
    waitReceived: (total: number) => Promise<void>,
    base: number,
    batch = 64,
  ): Promise<number> {
    let count = 0;
    let inBatch = 0;
    for (const datagram of datagrams) {
      await this.send(port, datagram);
      count++;
      if (++inBatch === batch) {
        inBatch = 0;
        await waitReceived(base + count);
      }
    }
    await waitReceived(base + count);
    return count;
  }

  close(): void {
    this.#socket.close();
  }
}
