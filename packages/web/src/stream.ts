/**
 * `GET /api/stream`: readings as Server-Sent Events (docs/HTTP.md, "GET /api/stream").
 *
 * How it works: each stream is a hub subscriber for its pattern, as a TCP `SUB` is. A pushed `PUB` line is
 * turned into a JSON fragment (`["ramp",42,1764316800250,0.25]`, once per reading however many streams get it)
 * and queued; once per event-loop turn every stream with queued readings writes them as one `readings` event.
 * The event's `id` is the stream's resume point: `name:seq` of every sensor it has written, in the order they
 * first appeared (`ramp:42,saw:17`); the `hello` event that starts a stream carries the point it starts from
 * (every matching sensor's seq then). A browser sends the last id back as `Last-Event-ID` when it reconnects, and
 * the new stream sends each of those sensors' readings above its seq from the server's history before any live one,
 * as `AFTER` does on TCP (docs/PROTOCOL.md, "Resume: AFTER"); seqs are durable with storage, so this holds
 * across a server restart.
 *
 * A resumed sensor is read from the history in pages, one event each, paused while the socket has not drained;
 * its live readings are not sent until it has caught up (the history holds them), so every sensor's readings
 * go out in seq order, without a gap and without a repeat. The server's store commits a turn's readings before
 * this turn-end flush runs (both are `setImmediate` callbacks, the store's queued first), so no stream is
 * shown a reading that is not in the log.
 *
 * A stream never holds more than `streamBufferBytes` unwritten: past it, or when its socket has not drained for
 * `streamDrainTimeoutMs`, the stream is dropped (its connection destroyed) and counted. The browser reconnects
 * and resumes from its last id, so being dropped costs it nothing but the reconnect.
 *
 * Rights (docs/SECURITY.md, "Tokens on HTTP"): `filter` is asked for every reading, live or from the history, with
 * the auth file in force. After a reload, readings already queued are asked again, and a stream whose token is gone
 * or may read no sensor is ended with a last `closed` event that says why (as `ERR auth-failed` ends a TCP `SUB`).
 */
import type { ServerResponse } from 'node:http';
import type { Hub, OpcServer, Sensor, Subscriber } from '@opc-lite/opc-server';
import { compilePattern, isValidName, MAX_SEQ_ARG } from '@opc-lite/protocol';
import type { ResolvedWebOptions } from './options.js';

/** Readings per history page of a resumed sensor (one event each). */
const PAGE = 1000;

/**
 * Reads a stream's event id (`ramp:42,saw:17`) into resume points, or undefined when it is not one. The empty
 * id is valid and holds none.
 *
 * @example
 * ```ts
 * parseEventId('ramp:42,saw:17'); // Map { 'ramp' => 42, 'saw' => 17 }
 * parseEventId('ramp'); // undefined
 * ```
 */
export function parseEventId(text: string): Map<string, number> | undefined {
  const points = new Map<string, number>();
  if (text === '') return points;
  for (const entry of text.split(',')) {
    const colon = entry.lastIndexOf(':');
    if (colon <= 0) return undefined;
    const name = entry.slice(0, colon);
    const digits = entry.slice(colon + 1);
    if (!isValidName(name) || !/^[0-9]{1,16}$/.test(digits)) return undefined;
    const seq = Number(digits);
    if (seq > MAX_SEQ_ARG || points.has(name)) return undefined;
    points.set(name, seq);
  }
  return points;
}

/** The counters of the streams, for `/metrics`. */
export interface StreamCounters {
  opened: number;
  dropped: number;
  readingsSent: number;
}

/** What a new stream is asked for. */
export interface StreamRequest {
  pattern: string;
  /** Resume points from `Last-Event-ID` or `after`. */
  resume: Map<string, number> | undefined;
  /** Recent readings per sensor without a resume point. */
  backlog: number;
  /** The sensors this stream may carry, asked per reading (docs/SECURITY.md, "Tokens on HTTP"); default all. */
  filter?: (name: string) => boolean;
  /**
   * Follows the rights across reloads: calls `end` when the stream may go on no longer, `changed` when its rights
   * changed but it may still read; returns what stops it.
   */
  watch?: (end: (code: string, detail: string) => void, changed: () => void) => () => void;
}

/**
 * Every open stream of one handler, their shared turn-end flush and heartbeat.
 *
 * @example
 * ```ts
 * const streams = new StreamHub(server, options);
 * streams.open(res, { pattern: 'ramp*', resume: parseEventId('ramp:41'), backlog: 0 });
 * ```
 */
export class StreamHub {
  readonly counters: StreamCounters = { opened: 0, dropped: 0, readingsSent: 0 };
  readonly #server: OpcServer;
  readonly #hub: Hub<Subscriber>;
  readonly #options: ResolvedWebOptions;
  readonly #streams = new Set<Stream>();
  readonly #dirty = new Set<Stream>();
  #flushScheduled = false;
  #heartbeat: NodeJS.Timeout | undefined;
  /** The last `PUB` line pushed and its JSON fragment: one conversion per reading for every stream. */
  #lastLine = '';
  #lastFragment = '';
  #lastName = '';
  #lastSeq = '';

  constructor(server: OpcServer, options: ResolvedWebOptions) {
    this.#server = server;
    // The hub calls nothing but push() on a subscriber; a stream is one as a TCP session is.
    this.#hub = server.hub;
    this.#options = options;
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  /** Starts a stream on `res` (the status line and headers are written here). */
  open(res: ServerResponse, request: StreamRequest): void {
    const stream = new Stream(this, res, request);
    this.#streams.add(stream);
    this.counters.opened++;
    if (this.#heartbeat === undefined) {
      this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs);
      this.#heartbeat.unref();
    }
    stream.start();
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    for (const stream of [...this.#streams]) stream.end();
    this.#stopHeartbeat();
  }

  // ---- for Stream -----------------------------------------------------------------

  /** @internal */
  get server(): OpcServer {
    return this.#server;
  }

  /** @internal */
  get hub(): Hub<Subscriber> {
    return this.#hub;
  }

  /** @internal */
  get options(): ResolvedWebOptions {
    return this.#options;
  }

  /** @internal The name, seq text and JSON fragment of a `PUB <name> <value> <ts> <seq>\n` line. */
  convert(line: string): void {
    if (line === this.#lastLine) return;
    const a = line.indexOf(' ', 4);
    const b = line.indexOf(' ', a + 1);
    const c = line.indexOf(' ', b + 1);
    const name = line.slice(4, a);
    const seq = line.slice(c + 1, line.length - 1);
    // The PUB line writes value and timestamp as String(number) does: valid JSON numbers, no re-formatting.
    this.#lastFragment = `["${name}",${seq},${line.slice(b + 1, c)},${line.slice(a + 1, b)}]`;
    this.#lastName = name;
    this.#lastSeq = seq;
    this.#lastLine = line;
  }

  /** @internal */
  get converted(): { name: string; seq: string; fragment: string } {
    return { name: this.#lastName, seq: this.#lastSeq, fragment: this.#lastFragment };
  }

  /** @internal */
  markDirty(stream: Stream): void {
    this.#dirty.add(stream);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flush);
  }

  /** @internal */
  forget(stream: Stream, dropped: boolean): void {
    if (!this.#streams.delete(stream)) return;
    this.#dirty.delete(stream);
    if (dropped) this.counters.dropped++;
    if (this.#streams.size === 0) this.#stopHeartbeat();
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    for (const stream of this.#dirty) stream.flush();
    this.#dirty.clear();
  };

  #beat(): void {
    const event = `event: heartbeat\ndata: {"now":${this.#options.now()}}\n\n`;
    for (const stream of [...this.#streams]) stream.write(event);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}

/** A sensor whose past readings a stream still has to send before its live ones. */
interface Job {
  sensor: Sensor;
  /** The last seq sent (or the resume point). */
  seq: number;
  /** Readings left before the stream gives up on the past and goes live (`maxResumeReadings`). */
  left: number;
  /** The sensor's seq when this round of pages was scheduled: the most this round reads (committed by then). */
  safe: number;
}

class Stream implements Subscriber {
  readonly #owner: StreamHub;
  readonly #res: ServerResponse;
  readonly #request: StreamRequest;
  /** Per sensor, the last seq written, in the order sensors first appeared: the event id. */
  readonly #written = new Map<string, string>();
  /** Sensors whose past is still being sent: their live readings are left to the history pages. */
  readonly #catchingUp = new Set<string>();
  readonly #jobs: Job[] = [];
  #names: string[] = [];
  #seqs: string[] = [];
  #fragments: string[] = [];
  #queuedBytes = 0;
  #drainTimer: NodeJS.Timeout | undefined;
  #pumpScheduled = false;
  #closed = false;
  #unwatch: (() => void) | undefined;

  constructor(owner: StreamHub, res: ServerResponse, request: StreamRequest) {
    this.#owner = owner;
    this.#res = res;
    this.#request = request;
    res.on('close', () => this.#cleanup(false));
  }

  /** Headers, hello, the past of resumed sensors (or the backlog), then live readings. */
  start(): void {
    const { server, options } = this.#owner;
    const { pattern, resume, backlog } = this.#request;
    const res = this.#res;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
    });
    const points: Record<string, number> = {};
    const byPattern = compilePattern(pattern);
    const filter = this.#request.filter;
    const match = filter === undefined ? byPattern : (name: string): boolean => byPattern(name) && filter(name);
    // Resumed sensors keep their place in the id, in the order the id listed them.
    if (resume !== undefined) {
      for (const [name, seq] of resume) {
        if (!match(name)) continue;
        const sensor = server.store.get(name);
        if (sensor === undefined) continue;
        // A point above the sensor's seq is not this numbering's (a restart without storage): send all it holds.
        const point = seq > sensor.seq ? 0 : seq;
        points[name] = point;
        this.#written.set(name, String(point));
        if (point < sensor.seq && options.maxResumeReadings > 0) this.#follow(sensor, point, options.maxResumeReadings);
      }
    }
    // The other sensors start where they are now (less the backlog): a stream that reconnects before any reading
    // came still resumes from there.
    for (const sensor of server.store) {
      if (points[sensor.name] !== undefined || !match(sensor.name)) continue;
      const from = Math.max(0, sensor.seq - Math.min(backlog, sensor.size));
      this.#written.set(sensor.name, String(from));
      if (from < sensor.seq) this.#follow(sensor, from, backlog);
    }
    this.write(
      `retry: ${options.retryMs}\nevent: hello\nid: ${this.#id()}\ndata: {"now":${options.now()},` +
        `"heartbeatMs":${options.heartbeatMs},"pattern":"${pattern}","after":${JSON.stringify(points)}}\n\n`,
    );
    // Subscribed now, the past read at the turn's end: a reading published between is left to the history pages
    // (its sensor is catching up) or queued as live (it is not).
    this.#owner.hub.subscribe(this, pattern);
    this.#unwatch = this.#request.watch?.(
      (code, detail) => this.#revoke(code, detail),
      () => this.#refilter(),
    );
    this.#pumpSoon();
  }

  push(line: string): boolean {
    if (this.#closed) return false;
    const owner = this.#owner;
    owner.convert(line);
    const { name, seq, fragment } = owner.converted;
    if (this.#request.filter !== undefined && !this.#request.filter(name)) return false;
    if (this.#catchingUp.size > 0 && this.#catchingUp.has(name)) return true; // its history page will carry it
    this.#names.push(name);
    this.#seqs.push(seq);
    this.#fragments.push(fragment);
    this.#queuedBytes += fragment.length + 1;
    if (this.#over()) {
      this.#drop('buffer');
      return false;
    }
    owner.markDirty(this);
    return true;
  }

  /** Writes the readings queued this turn as one event. */
  flush(): void {
    const n = this.#fragments.length;
    if (n === 0 || this.#closed) return;
    for (let i = 0; i < n; i++) this.#written.set(this.#names[i]!, this.#seqs[i]!);
    const data = this.#fragments.join(',');
    this.#owner.counters.readingsSent += n;
    this.#names = [];
    this.#seqs = [];
    this.#fragments = [];
    this.#queuedBytes = 0;
    this.write(`event: readings\nid: ${this.#id()}\ndata: [${data}]\n\n`);
  }

  /** Writes an event; a write the socket does not take at once starts the drain timer. */
  write(text: string): void {
    if (this.#closed) return;
    const res = this.#res;
    // No reading goes out before it is in the store's log (docs/DURABILITY.md); cheap when nothing is new.
    this.#owner.server.commit();
    const ok = res.write(text);
    if (this.#over()) {
      this.#drop('buffer');
      return;
    }
    if (!ok && this.#drainTimer === undefined) {
      this.#drainTimer = setTimeout(() => this.#drop('drain-timeout'), this.#owner.options.streamDrainTimeoutMs);
      this.#drainTimer.unref();
      res.once('drain', this.#onDrain);
    }
  }

  /** Ends the stream cleanly (the server is closing), and its connection: a reconnect must not reuse it. */
  end(): void {
    if (this.#closed) return;
    this.flush();
    this.#cleanup(false);
    this.#res.end();
    this.#res.socket?.end();
  }

  readonly #onDrain = (): void => {
    clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.#pumpSoon();
  };

  /**
   * The history pages go out at the end of the turn, and only up to each sensor's seq of now: the store commits
   * a turn's readings at the turn's end too, its commit queued when the turn's first reading came, before this,
   * so no page shows a reading that is not in the log yet.
   */
  #pumpSoon(): void {
    if (this.#pumpScheduled || this.#jobs.length === 0 || this.#closed) return;
    this.#pumpScheduled = true;
    for (const job of this.#jobs) job.safe = job.sensor.seq;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #follow(sensor: Sensor, seq: number, left: number): void {
    this.#jobs.push({ sensor, seq, left, safe: seq });
    this.#catchingUp.add(sensor.name);
  }

  /** Sends history pages of the sensors catching up, one event each, until the socket pushes back. */
  #pump(): void {
    const jobs = this.#jobs;
    const history = this.#owner.server.history;
    while (jobs.length > 0 && !this.#closed && this.#drainTimer === undefined) {
      const job = jobs[0]!;
      const { sensor, safe } = job;
      const name = sensor.name;
      if (this.#request.filter !== undefined && !this.#request.filter(name)) {
        jobs.shift(); // no longer readable (a reload)
        this.#catchingUp.delete(name);
        continue;
      }
      if (job.seq >= safe) {
        if (job.seq < sensor.seq) return this.#pumpSoon(); // readings stored since this round began: the next one
        jobs.shift();
        this.#catchingUp.delete(name); // caught up: its live readings follow
        continue;
      }
      const parts: string[] = [];
      let last = job.seq;
      history.after(sensor, job.seq, Math.min(PAGE, job.left), (ts, value, seq) => {
        if (seq > safe) return;
        parts.push(`["${name}",${seq},${ts},${value}]`);
        last = seq;
      });
      if (parts.length === 0) {
        job.seq = safe; // the history no longer holds them: the seq jump shows it
        continue;
      }
      job.seq = last;
      job.left -= parts.length;
      if (job.left <= 0) {
        // As many as a resume sends: live from here, the jump before the next reading shows what was skipped.
        jobs.shift();
        this.#catchingUp.delete(name);
      }
      // Live readings already queued go first, so that the id never runs ahead of what was written.
      this.flush();
      this.#written.set(name, String(last));
      this.#owner.counters.readingsSent += parts.length;
      this.write(`event: readings\nid: ${this.#id()}\ndata: [${parts.join(',')}]\n\n`);
    }
  }

  /** The event id: `name:seq` of every sensor written, first seen first, within `maxEventIdBytes`. */
  #id(): string {
    const max = this.#owner.options.maxEventIdBytes;
    let id = '';
    for (const [name, seq] of this.#written) {
      const entry = id === '' ? `${name}:${seq}` : `,${name}:${seq}`;
      if (id.length + entry.length > max) break;
      id += entry;
    }
    return id;
  }

  /** Ends the stream after a last `closed` event: its rights no longer let it go on. */
  #revoke(code: string, detail: string): void {
    if (this.#closed) return;
    this.#names = [];
    this.#seqs = [];
    this.#fragments = [];
    this.#queuedBytes = 0;
    this.write(`event: closed\ndata: ${JSON.stringify({ error: { code, message: detail } })}\n\n`);
    if (this.#closed) return; // dropped while writing it
    this.#cleanup(false);
    this.#res.end();
    this.#res.socket?.end();
  }

  /** Asks `filter` again about the readings queued this turn (the rights changed). */
  #refilter(): void {
    const filter = this.#request.filter;
    if (filter === undefined || this.#closed) return;
    const names: string[] = [];
    const seqs: string[] = [];
    const fragments: string[] = [];
    let bytes = 0;
    for (let i = 0; i < this.#names.length; i++) {
      if (!filter(this.#names[i]!)) continue;
      names.push(this.#names[i]!);
      seqs.push(this.#seqs[i]!);
      fragments.push(this.#fragments[i]!);
      bytes += this.#fragments[i]!.length + 1;
    }
    this.#names = names;
    this.#seqs = seqs;
    this.#fragments = fragments;
    this.#queuedBytes = bytes;
  }

  #over(): boolean {
    return this.#res.writableLength + this.#queuedBytes > this.#owner.options.streamBufferBytes;
  }

  #drop(reason: 'buffer' | 'drain-timeout'): void {
    if (this.#closed) return;
    this.#owner.options.logger.debug({ reason, pattern: this.#request.pattern }, 'dropped a slow stream');
    this.#cleanup(true);
    this.#res.destroy();
  }

  #cleanup(dropped: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch?.();
    this.#unwatch = undefined;
    clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.#owner.hub.remove(this);
    this.#owner.forget(this, dropped);
    this.#names = [];
    this.#seqs = [];
    this.#fragments = [];
    this.#jobs.length = 0;
  }
}
