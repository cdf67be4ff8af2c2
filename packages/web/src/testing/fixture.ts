/**
 * Loopback test fixture: a real opc-lite server on 127.0.0.1 port 0 (in memory, or with storage in a temporary
 * directory), the web server on port 0 beside it, UDP senders, HTTP requests and Server-Sent Event readers, all
 * closed and removed by `cleanup()` (call it in `afterEach`).
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpcServer, type OpcServer, type OpcServerOptions } from '@opc-lite/opc-server';
import { startWebServer, type WebServer, type WebServerOptions } from '../web-server.js';

export const HOST = '127.0.0.1';

/** A server and its web server. */
export interface Started {
  server: OpcServer;
  web: WebServer;
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  base: string;
  udpPort: number;
}

/** An HTTP answer, its body read. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body as JSON (throws if it is not). */
  json<T = Record<string, unknown>>(): T;
}

/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

export class Fixture {
  readonly #servers: OpcServer[] = [];
  readonly #webs: WebServer[] = [];
  readonly #udp: dgram.Socket[] = [];
  readonly #dirs: string[] = [];
  readonly #requests: http.ClientRequest[] = [];

  /** A temporary directory, removed by cleanup(). */
  tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'opc-web-test-'));
    this.#dirs.push(dir);
    return dir;
  }

  /** Starts a server (memory only unless `server.storage` is given) and a web server for it. */
  async start(options: { server?: OpcServerOptions; web?: WebServerOptions } = {}): Promise<Started> {
    const server = createOpcServer({ host: HOST, port: 0, idleTimeoutMs: 0, closeGraceMs: 200, ...options.server });
    this.#servers.push(server);
    const address = await server.listen();
    const web = await startWebServer(server, {
      host: HOST,
      port: 0,
      processMetrics: false,
      pageDir: false,
      ...options.web,
    });
    this.#webs.push(web);
    return { server, web, base: `http://${HOST}:${web.port}`, udpPort: address.udpPort };
  }

  /** Sends one UDP datagram to `port`; resolves when it has left. */
  async udp(port: number, payload: string): Promise<void> {
    let socket = this.#udp[0];
    if (socket === undefined) {
      socket = dgram.createSocket('udp4');
      this.#udp.push(socket);
    }
    const s = socket;
    await new Promise<void>((resolve, reject) => s.send(payload, port, HOST, (err) => (err ? reject(err) : resolve())));
  }

  /** One HTTP request; the body is read in full. */
  request(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
      });
      req.on('error', reject);
      req.end(init.body);
    });
  }

  /** Opens `/api/stream…` and reads its events. */
  async stream(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const req = http.request(url, { headers: { Accept: 'text/event-stream', ...headers }, agent: false });
    this.#requests.push(req);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
      req.end();
    });
    return new SseReader(req, res);
  }

  async cleanup(): Promise<void> {
    for (const req of this.#requests.splice(0)) req.destroy();
    for (const socket of this.#udp.splice(0)) socket.close();
    await Promise.all(this.#webs.splice(0).map((web) => web.close()));
    await Promise.all(this.#servers.splice(0).map((server) => server.close()));
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads Server-Sent Events from a response, as a browser's EventSource parses them. */
export class SseReader {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly #req: http.ClientRequest;
  readonly #res: http.IncomingMessage;
  readonly #events: SseEvent[] = [];
  readonly #waiters: (() => void)[] = [];
  #buffer = '';
  #ended = false;
  /** The id of the last event that had one (what a browser would send as Last-Event-ID). */
  lastId = '';

  constructor(req: http.ClientRequest, res: http.IncomingMessage) {
    this.#req = req;
    this.#res = res;
    this.status = res.statusCode ?? 0;
    this.headers = res.headers;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.#feed(chunk));
    const end = (): void => {
      this.#ended = true;
      this.#wake();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
    res.socket.once('close', end); // seen even while paused
  }

  /** Whether the server ended or dropped the stream. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The next event (of `type` when given, skipping others); rejects if the stream ends first. */
  async next(type?: string): Promise<SseEvent> {
    for (;;) {
      const i = this.#events.findIndex((e) => type === undefined || e.event === type);
      if (i >= 0) {
        const event = this.#events[i]!;
        this.#events.splice(0, i + 1); // the events skipped before it are dropped
        return event;
      }
      if (this.#ended) throw new Error(`the stream ended before a ${type ?? 'next'} event`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Readings events' readings, until `count` have come: `[name, seq, ts, value]` each. */
  async readings(count: number): Promise<[string, number, number, number][]> {
    const out: [string, number, number, number][] = [];
    while (out.length < count) {
      const event = await this.next('readings');
      out.push(...(JSON.parse(event.data) as [string, number, number, number][]));
    }
    return out;
  }

  /** Stops reading (the socket's buffers fill up, as with a client that does not read). */
  pause(): void {
    this.#res.pause();
  }

  resume(): void {
    this.#res.resume();
  }

  close(): void {
    this.#req.destroy();
  }

  #feed(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const event: SseEvent = { event: 'message', id: undefined, data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue; // a comment
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
        else if (field === 'data') data.push(value);
      }
      if (event.id !== undefined) this.lastId = event.id;
      // As EventSource: a block without data dispatches nothing (its id still counts).
      if (data.length === 0) continue;
      event.data = data.join('\n');
      this.#events.push(event);
    }
    this.#wake();
  }

  #wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
