/**
 * The page's live readings: an `EventSource` on `/api/stream` (docs/HTTP.md, "GET /api/stream").
 *
 * The browser reconnects by itself and sends the last event id, and the server resumes every sensor from it,
 * so a reconnect loses nothing. Two cases the browser does not cover are covered here: a stream that went
 * silent (no heartbeat for 2.5 periods: a dead connection the OS has not noticed) is closed and reopened, and
 * one the browser gave up on (an HTTP error such as 503) is reopened after a pause; both reopen with the last
 * id as `after`. A stream the server ends with a `closed` event (a reload of its auth file withdrew the token or
 * every read right) is not reopened: it would only be refused, and each refusal counts against this address.
 */
import { pageToken } from './api.js';

/** A reading as a `readings` event carries it: name, seq, timestamp (epoch ms), value. */
export type WireReading = [name: string, seq: number, ts: number, value: number];

/** How the stream is doing. */
export type StreamState = 'connecting' | 'open' | 'down';

export interface LiveHandlers {
  readings(batch: WireReading[]): void;
  state(state: StreamState): void;
  /** The server's clock, from `hello` and `heartbeat` events. */
  clock(serverNowMs: number): void;
}

export class LiveStream {
  #source: EventSource | undefined;
  #lastId = '';
  #heartbeatMs = 15_000;
  #lastEventAt = 0;
  #watchdog: number | undefined;
  #reopen: number | undefined;
  #closed = false;

  constructor(
    readonly pattern: string,
    readonly handlers: LiveHandlers,
  ) {
    this.#open();
    this.#watchdog = window.setInterval(() => this.#check(), 1000);
  }

  /** The last event id: every sensor's last seq (from `hello` until a `readings` event comes). */
  get lastId(): string {
    return this.#lastId;
  }

  close(): void {
    this.#closed = true;
    this.#source?.close();
    window.clearInterval(this.#watchdog);
    window.clearTimeout(this.#reopen);
  }

  #open(): void {
    const after = this.#lastId === '' ? '' : `&after=${encodeURIComponent(this.#lastId)}`;
    // EventSource sends no header: the token goes as access_token (docs/SECURITY.md, "Tokens on HTTP").
    const token = pageToken();
    const auth = token === undefined ? '' : `&access_token=${encodeURIComponent(token)}`;
    const source = new EventSource(`/api/stream?pattern=${encodeURIComponent(this.pattern)}${after}${auth}`);
    this.#source = source;
    this.#lastEventAt = performance.now();
    this.handlers.state('connecting');
    source.addEventListener('open', () => {
      this.#lastEventAt = performance.now();
      this.handlers.state('open');
    });
    source.addEventListener('hello', (e) => {
      const event = e as MessageEvent<string>;
      const hello = JSON.parse(event.data) as { now: number; heartbeatMs: number };
      // The point the stream starts from: a stream reopened before any reading came resumes from it.
      this.#lastId = event.lastEventId;
      this.#heartbeatMs = hello.heartbeatMs;
      this.#seen();
      this.handlers.clock(hello.now);
    });
    source.addEventListener('heartbeat', (e) => {
      this.#seen();
      this.handlers.clock((JSON.parse((e as MessageEvent<string>).data) as { now: number }).now);
    });
    source.addEventListener('readings', (e) => {
      const event = e as MessageEvent<string>;
      this.#lastId = event.lastEventId;
      this.#seen();
      this.handlers.readings(JSON.parse(event.data) as WireReading[]);
    });
    source.addEventListener('closed', () => {
      if (source !== this.#source) return;
      source.close(); // before the browser reconnects by itself
      this.#source = undefined; // and nothing of it reopens it
      this.handlers.state('down');
    });
    source.addEventListener('error', () => {
      if (source !== this.#source) return;
      if (source.readyState === EventSource.CLOSED) {
        this.handlers.state('down');
        this.#reopen = window.setTimeout(() => this.#restart(), 2000);
      } else {
        this.handlers.state('connecting');
      }
    });
  }

  #seen(): void {
    this.#lastEventAt = performance.now();
    if (this.#source?.readyState === EventSource.OPEN) this.handlers.state('open');
  }

  #check(): void {
    if (this.#closed || this.#source?.readyState !== EventSource.OPEN) return;
    if (performance.now() - this.#lastEventAt > 2.5 * this.#heartbeatMs) this.#restart();
  }

  #restart(): void {
    if (this.#closed) return;
    this.#source?.close();
    this.#open();
  }
}
