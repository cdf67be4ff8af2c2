/**
 * A minimal line-oriented test client over any duplex stream (a socket or
 * one end of {@link duplexPair}): send text, await reply lines in order.
 * Waits are event-driven (no timers), so it works under fake timers too.
 */
import type { Duplex } from 'node:stream';

export class LineClient {
  /** Every complete line received so far, without its LF. */
  readonly lines: string[] = [];
  /** Resolves when the stream has closed. */
  readonly closed: Promise<void>;
  #partial = '';
  #cursor = 0;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(readonly stream: Duplex) {
    stream.setEncoding('latin1');
    stream.on('data', (text: string) => {
      const parts = (this.#partial + text).split('\n');
      this.#partial = parts.pop() ?? '';
      for (const line of parts) this.lines.push(line);
      this.#notify();
    });
    stream.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    stream.on('error', () => {});
    this.closed = new Promise((resolve) => {
      stream.once('close', () => {
        this.#ended = true;
        this.#notify();
        resolve();
      });
    });
  }

  /** Whether the other side ended the stream. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes received after the last LF. */
  get partial(): string {
    return this.#partial;
  }

  send(text: string | Uint8Array): void {
    this.stream.write(text);
  }

  /** The next line not yet taken; rejects if the stream ends first. */
  async next(): Promise<string> {
    while (this.#cursor >= this.lines.length) {
      if (this.#ended) throw new Error(`stream ended; lines so far: ${JSON.stringify(this.lines)}`);
      await this.#waitForData();
    }
    return this.lines[this.#cursor++]!;
  }

  /** The next `n` lines. */
  async take(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out;
  }

  /** Lines up to and including the first one equal to `last` (e.g. `END`). */
  async until(last: string): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const line = await this.next();
      out.push(line);
      if (line === last) return out;
    }
  }

  /** Every line not yet taken, once the stream has ended. */
  async rest(): Promise<string[]> {
    while (!this.#ended) await this.#waitForData();
    const out = this.lines.slice(this.#cursor);
    this.#cursor = this.lines.length;
    return out;
  }

  #waitForData(): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.#wake;
      this.#wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
