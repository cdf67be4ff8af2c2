/**
 * A TCP client for the tests: raw bytes out, replies decoded with the
 * protocol's {@link ReplyDecoder}, and waits driven by socket events.
 */
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { ReplyDecoder, type Reply } from '@opc-lite/protocol';

/** Options of {@link TcpClient.connect}. */
export interface TcpClientOptions {
  /** Keep every reply in `replies` (default true); false for floods, with `onReply` to look at each. */
  keepReplies?: boolean;
  /** Called with every reply as it is decoded. */
  onReply?: (reply: Reply) => void;
  /**
   * Sent as `AUTH <token>` at once; `connect` resolves after the first reply, and an `OK AUTH` is taken out of
   * the replies (not kept, counted nor handed to `onReply`), so the tests see what they would without an auth file.
   */
  token?: string;
}

/**
 * One connection to the server.
 *
 * @example
 * ```ts
 * const client = await TcpClient.connect(port);
 * await client.send('PING\n');
 * expect(await client.next()).toEqual({ kind: 'pong' });
 * ```
 */
export class TcpClient {
  readonly socket: Socket;
  /** Every reply received so far, in order. */
  readonly replies: Reply[] = [];
  /** Bytes received so far. */
  bytesReceived = 0;
  /** The server ended its side (FIN). */
  ended = false;
  /** The socket closed (either side, or an error). */
  closed = false;
  /** The socket error, if any (e.g. ECONNRESET). */
  error: Error | undefined;
  /** Resolves when the socket has closed. */
  readonly closedPromise: Promise<void>;
  readonly #decoder = new ReplyDecoder();
  readonly #wakers = new Set<() => void>();
  #cursor = 0;
  /** Whether the next reply may be the answer to the token's `AUTH`. */
  #authPending: boolean;

  /** Replies received so far (also counted when not kept). */
  replyCount = 0;

  private constructor(socket: Socket, options: TcpClientOptions) {
    this.socket = socket;
    const keep = options.keepReplies ?? true;
    const onReply = options.onReply;
    this.#authPending = options.token !== undefined;
    socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      for (const reply of this.#decoder.push(chunk)) {
        if (this.#authPending) {
          this.#authPending = false;
          if (reply.kind === 'ok' && reply.verb === 'AUTH') continue;
        }
        this.replyCount++;
        onReply?.(reply);
        if (keep) this.replies.push(reply);
      }
      this.#wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.#wake();
    });
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.#wake();
        resolve();
      });
    });
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number, options: TcpClientOptions = {}): Promise<TcpClient> {
    const socket = createConnection({ host: '127.0.0.1', port, noDelay: true });
    const client = new TcpClient(socket, options);
    await Promise.race([once(socket, 'connect'), once(socket, 'error').then(([err]) => Promise.reject(err as Error))]);
    if (options.token !== undefined) {
      await client.send(`AUTH ${options.token}\n`);
      await client.waitUntil(() => (client.#authPending && !client.ended ? undefined : true), 'the answer to AUTH');
    }
    return client;
  }

  /** Writes and resolves once the bytes are handed to the kernel. */
  send(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** The next reply not yet taken; rejects if the socket closes first. */
  next(timeoutMs = 10_000): Promise<Reply> {
    return this.#waitFor(
      () => (this.#cursor < this.replies.length ? this.replies[this.#cursor++] : undefined),
      'a reply',
      timeoutMs,
    );
  }

  /** Replies up to and including the first one for which `last` is true. */
  async until(last: (reply: Reply) => boolean, timeoutMs = 10_000): Promise<Reply[]> {
    const out: Reply[] = [];
    for (;;) {
      const reply = await this.next(timeoutMs);
      out.push(reply);
      if (last(reply)) return out;
    }
  }

  /** Sends `command` and returns its replies up to `END` (STATS, LIST, HIST). */
  async request(command: string, timeoutMs = 10_000): Promise<Reply[]> {
    await this.send(command);
    return this.until((r) => r.kind === 'end' || r.kind === 'err', timeoutMs);
  }

  /** Sends one legacy poll `n` and returns its value and the round trip in ms. */
  async poll(timeoutMs = 10_000): Promise<{ value: number; ms: number }> {
    const t0 = performance.now();
    await this.send('n');
    const reply = await this.next(timeoutMs);
    const ms = performance.now() - t0;
    if (reply.kind !== 'value') throw new Error(`poll answered with ${JSON.stringify(reply)}`);
    return { value: reply.value, ms };
  }

  /** Replies not yet taken (and takes them). */
  drain(): Reply[] {
    const out = this.replies.slice(this.#cursor);
    this.#cursor = this.replies.length;
    return out;
  }

  /** Drops the replies already taken from `replies` (long-lived clients keep the list short). */
  forget(): void {
    this.replies.splice(0, this.#cursor);
    this.#cursor = 0;
  }

  /** Resolves when the server has ended its side or the socket closed. */
  waitEnded(timeoutMs = 10_000): Promise<true> {
    return this.#waitFor(() => (this.ended || this.closed ? true : undefined), 'the end of the stream', timeoutMs);
  }

  /** Resolves when the socket has closed. */
  waitClosed(timeoutMs = 10_000): Promise<true> {
    return this.#waitFor(() => (this.closed ? true : undefined), 'the socket to close', timeoutMs);
  }

  /** Resolves once `probe` returns a defined value, checked after every socket event. */
  waitUntil<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return this.#waitFor(probe, what, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #waitFor<T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (value !== undefined) {
          finish();
          resolve(value);
        } else if (this.closed) {
          finish();
          reject(new Error(`socket closed before ${what}; last replies: ${JSON.stringify(this.replies.slice(-5))}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; last replies: ${JSON.stringify(this.replies.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(check);
      };
      this.#wakers.add(check);
      check();
    });
  }

  #wake(): void {
    for (const waker of [...this.#wakers]) waker();
  }
}

/** STATS as numbers (every key the server printed). */
export type StatsRecord = Record<string, number>;

/** Turns a STATS reply into a record; throws on anything but STAT lines and END. */
export function statsOf(replies: readonly Reply[]): StatsRecord {
  const out: StatsRecord = {};
  for (const reply of replies) {
    if (reply.kind === 'end') return out;
    if (reply.kind !== 'stat') throw new Error(`unexpected reply in STATS: ${JSON.stringify(reply)}`);
    out[reply.key] = Number(reply.value);
  }
  throw new Error('STATS reply without END');
}

/** Connects, sends STATS, reads it, and closes: the view of an operator. */
export async function fetchStats(port: number, token?: string): Promise<StatsRecord> {
  const client = await TcpClient.connect(port, token === undefined ? {} : { token });
  try {
    return statsOf(await client.request('STATS\n'));
  } finally {
    client.destroy();
  }
}

/** The original lector's flow: connect, send `n`, read one value, close (after `AUTH`, with a token). */
export async function pollOnce(port: number, token?: string): Promise<number> {
  const client = await TcpClient.connect(port, token === undefined ? {} : { token });
  try {
    return (await client.poll()).value;
  } finally {
    client.destroy();
  }
}
