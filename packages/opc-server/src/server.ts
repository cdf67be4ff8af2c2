/**
 * The server: one UDP socket and one TCP listener on the same port
 * number, around the transport-free core (store, hub, sessions).
 *
 * UDP datagrams go straight from the socket's `'message'` event into
 * `parseDatagram` with one long-lived sink that writes into the store and
 * publishes through the hub: no object per reading. TCP connections become
 * {@link Session}s. Nothing here throws on bad input, and socket errors are
 * logged and counted, never fatal.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import {
  encodeError,
  NameCache,
  parseDatagram,
  type DatagramSink,
  type ParseDatagramOptions,
  type RejectReason,
} from '@opc-lite/protocol';
import type { Authenticator } from './auth/authenticator.js';
import { BusyPoll } from './busy-poll.js';
import { CommandTimes } from './command-times.js';
import { RingHistory, type HistoryReader } from './history.js';
import { Hub } from './hub.js';
import {
  MAX_TIMER_MS,
  OpcServerError,
  resolveOptions,
  type Logger,
  type OpcServerOptions,
  type ResolvedOptions,
} from './options.js';
import { OutboundCap } from './outbound-cap.js';
import { noReplicationStats, ReplicationError, type ReplicaApplier, type Replicator } from './replication.js';
import { Session, type SessionCloseReason, type SessionContext } from './session.js';
import { Counters, buildStats, type OpcServerStats, type SourceCounters } from './stats.js';
import { memoryStorageStats, Storage } from './storage.js';
import { SensorStore, type Sensor } from './store.js';
import { TlsPort } from './tls/tls-port.js';
import { readIntoBuffer } from './user-buffer.js';
import { WriteScheduler } from './write-scheduler.js';

/**
 * Where the server listens.
 *
 * @example
 * ```ts
 * const { host, port, recvBufferBytes } = await server.listen();
 * ```
 */
export interface OpcServerAddress {
  /** The bound address (a hostname option is resolved once, and both sockets bind that address). */
  host: string;
  /** The port number, the same for UDP and TCP. */
  port: number;
  udpPort: number;
  tcpPort: number;
  /** The UDP receive buffer (SO_RCVBUF) the kernel granted, in bytes, as the OS reports it. */
  recvBufferBytes: number;
}

/**
 * A TCP client, in events.
 *
 * @example
 * ```ts
 * server.on('client', (info: ClientInfo) => console.log(info.id, info.remote));
 * ```
 */
export interface ClientInfo {
  id: number;
  /** `address:port` of the peer, or a label for streams given to `handle()`. */
  remote: string;
}

/**
 * The events of an {@link OpcServer} (typed `EventEmitter`).
 *
 * @example
 * ```ts
 * server.on('sensor', (name) => console.log('new sensor', name));
 * server.on('reject', ({ reason, line }) => console.log(reason, line));
 * ```
 */
export interface OpcServerEvents {
  /** Both sockets are bound. */
  listening: [address: OpcServerAddress];
  /** `close()` finished. */
  close: [];
  /** A socket error that did not stop the server (emitted only when listened to; always logged and counted). */
  error: [error: Error];
  /** A new sensor was created (its first reading is being stored). */
  sensor: [name: string];
  /** A TCP client connected (or a stream was handed to `handle()`). */
  client: [info: ClientInfo];
  /** A client's connection closed. */
  clientClose: [info: { id: number; reason: SessionCloseReason }];
  /** A client is being disconnected with `ERR slow-consumer`. */
  slowConsumer: [info: ClientInfo];
  /**
   * A UDP line was dropped. Emitted only when listened to (no cost otherwise).
   * `line` is the line as latin1 text; for `too-many-sensors` it is the sensor name.
   * `remote` is the sender's `address:port` (`[address]:port` for IPv6), absent
   * for a line that did not come from the UDP socket.
   */
  reject: [info: { reason: RejectReason; line: string; remote?: string }];
}

/**
 * A telemetry hub: UDP ingest, TCP queries and push subscriptions on one
 * port number.
 *
 * @example
 * ```ts
 * await using server = createOpcServer({ port: 0 });
 * const { port } = await server.listen();
 * ```
 */
export interface OpcServer extends EventEmitter<OpcServerEvents>, AsyncDisposable {
  /** Binds TCP then UDP on the same port. Rejects with an {@link OpcServerError} whose `code` is Node's (e.g. `EADDRINUSE`). */
  listen(): Promise<OpcServerAddress>;
  /** Stops UDP and accepting, ends clients (`ERR shutting-down`), destroys stragglers after `closeGraceMs`. Idempotent: every call returns the same promise. */
  close(): Promise<void>;
  /** Where the server listens, or undefined when it does not (yet, or any more). */
  address(): OpcServerAddress | undefined;
  /** Every counter, as a plain object (the same keys and values as the `STATS` command). */
  stats(): OpcServerStats;
  /** Serves a client over any duplex stream (a socket accepted elsewhere, an in-memory pair). Undefined when refused (closing, or `maxClients` reached). */
  handle(stream: Duplex, remote?: string | (() => string)): Session | undefined;
  /** The sensors, for embedders: latest value, history, loss counters. Read only. */
  readonly store: SensorStore;
  /** The subscriptions. */
  readonly hub: Hub<Session>;
  /** What `RANGE` and resumed `SUB`s read: the durable store with `storage`, else the rings. */
  readonly history: HistoryReader;
  /** The tokens and rights of the `auth` option (docs/SECURITY.md), for the other transports to apply too. */
  readonly auth: Authenticator | undefined;
  /** How long TCP commands took to answer, by verb (`/metrics` reads it at scrape time). */
  readonly commandTimes: CommandTimes;
  /**
   * Stores the readings of `payload` as a UDP datagram's are (same parser, limits, counters, `reject` events), for
   * other transports (an HTTP write, a TCP ingest stream). `payload` is one or more lines; the result counts them
   * and gives the first few rejected lines with their reasons.
   */
  ingest(payload: Uint8Array, options?: IngestOptions): IngestResult;
  /**
   * The general form of {@link OpcServer.ingest}, for a source with its own parser (an MQTT message, an InfluxDB
   * write, a TCP ingest stream): `feed` reports to the sink it is given, within this call, and the readings are stored
   * and counted as the UDP path's are, under `options.source`.
   *
   * @example
   * ```ts
   * server.ingestFrom((sink) => mapMqttMessage(topic, payload, sink), { source: 'mqtt', remote: 'mqtt broker' });
   * ```
   */
  ingestFrom(feed: (sink: DatagramSink) => void, options?: IngestOptions): IngestResult;
  /**
   * Writes the readings stored so far to the durable store's log now, rather than at the end of the turn (a no-op
   * without `storage`, and cheap when nothing is new). The server's own sessions do it before any output; anything
   * else that shows readings to a client (an HTTP response, a stream) calls it before writing, so that no reading is
   * shown before it is in the log (docs/DURABILITY.md).
   */
  commit(): void;
  /**
   * Makes this server one node of several (docs/CLUSTER.md): from now on every reading it ingests, by any path, goes
   * to `replicator.forward()` instead of into the store, and the store takes readings only through the returned
   * applier, in the shared log's order. Call it before `listen()`, once. Throws a `ReplicationError`
   * (`ERR_REPLICATING` the second time, `ERR_SERVER_CLOSED` after `close()`). `close()` closes the replicator
   * before the durable store.
   */
  replicate(replicator: Replicator): ReplicaApplier;
}

/**
 * Where readings come in, as `STATS` counts them (`ingest_<source>_accepted`, ...): the UDP socket, the TCP ingest
 * port, HTTP writes, MQTT.
 *
 * @example
 * ```ts
 * const source: IngestSource = 'mqtt';
 * ```
 */
export type IngestSource = (typeof INGEST_SOURCES)[number];

/**
 * Every {@link IngestSource}, in `STATS` order.
 *
 * @example
 * ```ts
 * INGEST_SOURCES; // ['udp', 'tcp', 'http', 'mqtt']
 * ```
 */
export const INGEST_SOURCES = Object.freeze(['udp', 'tcp', 'http', 'mqtt'] as const);

/**
 * Options of {@link OpcServer.ingest} and {@link OpcServer.ingestFrom}.
 *
 * @example
 * ```ts
 * server.ingest(body, { remote: 'http 127.0.0.1:50000', source: 'http' });
 * ```
 */
export interface IngestOptions {
  /** Who sent it, for `reject` events. */
  remote?: string;
  /** Which source's counters it goes to (default `'udp'`, as a datagram's). */
  source?: IngestSource;
  /**
   * Whether the sender may write sensor `name` (docs/SECURITY.md, "Writing on the ingest paths"): a reading it
   * refuses is rejected as `forbidden` and never stored. Default: every sensor.
   */
  canWrite?: (name: string) => boolean;
}

/**
 * What {@link OpcServer.ingest} did with a payload.
 *
 * @example
 * ```ts
 * const { accepted, rejected, samples } = server.ingest(Buffer.from('temp 21.5\nbad line'));
 * // accepted 1, rejected 1, samples [{ reason: 'bad-syntax', line: 'bad line' }]
 * ```
 */
export interface IngestResult {
  /** Readings stored. */
  accepted: number;
  /** Lines dropped (every reason, a duplicate sender-seq and the sensor limit included). */
  rejected: number;
  /** The first rejected lines (at most {@link INGEST_SAMPLES}), as latin1 text, with their reasons. */
  samples: Array<{ reason: RejectReason | 'duplicate' | 'backlog-full'; line: string }>;
}

/**
 * Most rejected lines {@link OpcServer.ingest} reports by text.
 *
 * @example
 * ```ts
 * INGEST_SAMPLES; // 5
 * ```
 */
export const INGEST_SAMPLES = 5;

/**
 * Creates a server. Options are validated here (TypeError/RangeError naming
 * the option); nothing is bound until `listen()`.
 *
 * @example
 * ```ts
 * import { createOpcServer } from '@opc-lite/opc-server';
 *
 * const server = createOpcServer({ port: 7330, historyCapacity: 500 });
 * server.on('sensor', (name) => console.log('new sensor', name));
 * const address = await server.listen();
 * console.log(`listening on ${address.host}:${address.port}`);
 * // later
 * await server.close();
 * ```
 */
export function createOpcServer(options?: OpcServerOptions): OpcServer {
  return new OpcServerImpl(resolveOptions(options));
}

const PORT_ATTEMPTS = 10;
/** As libuv's own read size: a read never returns more than this. */
const READ_BUFFER_BYTES = 64 * 1024;

class OpcServerImpl extends EventEmitter<OpcServerEvents> implements OpcServer {
  readonly store: SensorStore;
  readonly hub: Hub<Session>;
  readonly history: HistoryReader;
  readonly auth: Authenticator | undefined;
  readonly commandTimes = new CommandTimes();
  readonly #options: ResolvedOptions;
  readonly #logger: Logger;
  readonly #counters = new Counters();
  readonly #scheduler: WriteScheduler;
  readonly #sessions = new Set<Session>();
  readonly #busy = new Set<net.Socket>();
  /** Where every TCP connection's input is read (one read at a time, each consumed before the next). */
  readonly #readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  readonly #busyPoll: BusyPoll;
  readonly #outboundCap: OutboundCap<Session>;
  readonly #context: SessionContext;
  readonly #sink: DatagramSink;
  readonly #parseOptions: ParseDatagramOptions;
  readonly #createdAt = performance.now();
  #nextClientId = 1;
  #udp: dgram.Socket | undefined;
  #tcp: net.Server | undefined;
  #address: OpcServerAddress | undefined;
  #listenPromise: Promise<OpcServerAddress> | undefined;
  #closePromise: Promise<void> | undefined;
  #onSessionsGone: (() => void) | undefined;
  #sensorCapLogged = false;
  /** The durable store, when the `storage` option asked for one. */
  readonly #storage: Storage | undefined;
  /** The sender of the datagram being parsed, for `reject` events; undefined outside `#onDatagram`. */
  #datagramFrom: dgram.RemoteInfo | undefined;
  /** The sender given to `ingest()`, for `reject` events, while it runs. */
  #ingestRemote: string | undefined;
  /** Where ingested readings go instead of the store, once `replicate()` was called. */
  #replicator: Replicator | undefined;
  /** Readings the replicator refused (a full backlog). */
  #forwardRefused = 0;
  /** The counters of the source being ingested: UDP's but inside `ingestFrom`. */
  #source: SourceCounters;
  /** With the `tls` option: what hands the TCP port's connections to the TLS server (docs/SECURITY.md, "TLS"). */
  readonly #tlsPort: TlsPort | undefined;

  constructor(options: ResolvedOptions) {
    super();
    this.#options = options;
    this.#logger = options.logger;
    this.#busyPoll = new BusyPoll(options.busyPollUs);
    this.#source = this.#counters.sources.udp;
    const cap = new OutboundCap<Session>(options.maxOutboundBytes);
    this.#outboundCap = cap;
    this.#scheduler = new WriteScheduler(() => {
      if (cap.watching > 0) cap.check();
    });
    const storage =
      options.storage === undefined ? undefined : Storage.open(options.storage, this.#logger, options.now);
    this.#storage = storage;
    this.store = new SensorStore({
      historyCapacity: options.historyCapacity,
      maxSensors: options.maxSensors,
      now: options.now,
      onSensor: (sensor) => {
        storage?.onSensor(sensor);
        this.#logger.debug({ sensor: sensor.name }, 'new sensor');
        this.emit('sensor', sensor.name);
      },
      ...(storage && {
        onReading: (sensor: Sensor, senderSeq: number) => storage.onReading(sensor, senderSeq),
        onLossState: (sensor: Sensor, replayable: boolean) => storage.onLossState(sensor, replayable),
      }),
    });
    if (storage !== undefined) {
      try {
        storage.restore(this.store);
      } catch (err) {
        storage.close();
        throw err;
      }
      const r = storage.db.recovery;
      this.#logger.debug(
        { dir: options.storage!.dir, sensors: this.store.size, readings: r.readings, ms: Math.round(r.ms) },
        'history recovered',
      );
    }
    this.hub = new Hub<Session>(this.store);
    // One name cache for the server's life: a known sensor's name costs no allocation per reading.
    this.#parseOptions = { maxLineBytes: options.maxLineBytes, nameCache: new NameCache() };
    this.#sink = new IngestSink(this);
    this.history = storage ?? new RingHistory();
    this.auth = options.auth;
    const credentials = options.tls;
    if (credentials !== undefined) {
      const secure = tls.createServer(
        { ...credentials.serverOptions(), allowHalfOpen: true },
        this.#onSecureConnection,
      );
      this.#tlsPort = new TlsPort(credentials, secure, {
        plaintextReply: encodeError('tls-required', 'this port speaks TLS; connect with TLS (opc-reader --tls)'),
        logger: this.#logger,
      });
    }
    this.#context = {
      store: this.store,
      hub: this.hub,
      limits: options,
      counters: this.#counters,
      ...(options.auth && { auth: options.auth }),
      commandTimes: this.commandTimes,
      // RANGE and resumed SUBs read the durable store when there is one, else the in-memory rings.
      history: this.history,
      ...(storage && { beforeWrite: () => storage.commit() }),
      now: options.now,
      stats: () => this.stats(),
      scheduler: this.#scheduler,
      logger: this.#logger,
      onClose: (session, reason) => this.#onSessionClose(session, reason),
      onSlowConsumer: (session) => {
        this.emit('slowConsumer', { id: session.id, remote: session.remote });
      },
      onFellBehind: (session) => this.#outboundCap.fellBehind(session),
    };
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) void this.close();
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  // ---- ingest (called by IngestSink) ---------------------------------------

  /** @internal */
  ingestReading(name: string, value: number, timestampMs: number, senderSeq: number): void {
    const replicator = this.#replicator;
    if (replicator !== undefined) {
      // Every node stores the timestamp this node gives it (docs/CLUSTER.md, "How a reading flows in a cluster").
      const ts = timestampMs === timestampMs ? timestampMs : this.#options.now();
      if (replicator.forward(name, value, ts, senderSeq)) {
        this.#counters.readingsAccepted++;
        this.#source.accepted++;
      } else this.#forwardRefused++;
      return;
    }
    this.#storeReading(name, value, timestampMs, senderSeq, true);
  }

  /**
   * Stores one reading, one this node took in (`local`, counted in `readings_accepted`) or one of a replicated
   * batch (counted by the replicator); true when stored.
   */
  #storeReading(name: string, value: number, timestampMs: number, senderSeq: number, local: boolean): boolean {
    const sensor = this.store.ingest(name, value, timestampMs, senderSeq);
    if (sensor !== undefined) {
      if (local) {
        this.#counters.readingsAccepted++;
        this.#source.accepted++;
      }
      this.hub.publish(sensor);
    } else if (this.store.lastDropReason === 'too-many-sensors') {
      if (!this.#sensorCapLogged) {
        this.#sensorCapLogged = true;
        this.#logger.warn({ maxSensors: this.store.maxSensors, sensor: name }, 'sensor limit reached');
      }
      this.rejectText('too-many-sensors', name);
    }
    // A duplicate (same sender-seq again) is counted by the store as seq_duplicate, not stored.
    return sensor !== undefined;
  }

  replicate(replicator: Replicator): ReplicaApplier {
    if (this.#closePromise !== undefined) throw new ReplicationError('ERR_SERVER_CLOSED', 'the server is closed');
    if (this.#replicator !== undefined) {
      throw new ReplicationError('ERR_REPLICATING', 'a replicator is attached already');
    }
    this.#replicator = replicator;
    const storage = this.#storage;
    // Without storage the seq lives in memory only: a restart applies the log from its start.
    const mark = { seq: storage?.replicationMark() ?? 0 };
    return {
      get lastAppliedSeq(): number {
        return mark.seq;
      },
      reading: (name, value, timestampMs, senderSeq) => this.#storeReading(name, value, timestampMs, senderSeq, false),
      endBatch: (logSeq) => {
        if (!Number.isSafeInteger(logSeq) || logSeq <= mark.seq) {
          throw new RangeError(`logSeq must be an integer above the last applied one, ${mark.seq} (got ${logSeq})`);
        }
        mark.seq = logSeq;
        storage?.replicationMark(logSeq);
      },
    };
  }

  /** @internal */
  reject(reason: RejectReason, line: Uint8Array): void {
    this.#counters.readingsRejected++;
    this.#counters.rejected[reason]++;
    this.#source.rejected[reason]++;
    if (this.listenerCount('reject') > 0) {
      this.#emitReject(reason, Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('latin1'));
    }
  }

  /** @internal */
  rejectText(reason: RejectReason, line: string): void {
    this.#counters.readingsRejected++;
    this.#counters.rejected[reason]++;
    this.#source.rejected[reason]++;
    if (this.listenerCount('reject') > 0) this.#emitReject(reason, line);
  }

  /** @internal */
  ignored(count: number): void {
    this.#counters.fieldsIgnored += count;
    this.#source.ignored += count;
  }

  ingest(payload: Uint8Array, options: IngestOptions = {}): IngestResult {
    if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array (a Buffer)');
    return this.ingestFrom((sink) => parseDatagram(payload, sink, this.#parseOptions), options);
  }

  ingestFrom(feed: (sink: DatagramSink) => void, options: IngestOptions = {}): IngestResult {
    if (typeof feed !== 'function') throw new TypeError('feed must be a function of a sink');
    const source = options.source ?? 'udp';
    const counters = this.#counters;
    const sourceCounters = counters.sources[source];
    if (sourceCounters === undefined)
      throw new RangeError(`source must be one of udp, tcp, http, mqtt (got ${source})`);
    const result: IngestResult = { accepted: 0, rejected: 0, samples: [] };
    const sample = (reason: RejectReason | 'duplicate' | 'backlog-full', line: string): void => {
      result.rejected++;
      if (result.samples.length < INGEST_SAMPLES) result.samples.push({ reason, line });
    };
    const canWrite = options.canWrite;
    const sink: DatagramSink = {
      reading: (name, value, timestampMs, senderSeq) => {
        if (canWrite !== undefined && !canWrite(name)) {
          this.rejectText('forbidden', name);
          return sample('forbidden', name);
        }
        const before = counters.readingsAccepted;
        const rejectedBefore = counters.readingsRejected;
        const refusedBefore = this.#forwardRefused;
        this.ingestReading(name, value, timestampMs, senderSeq);
        if (counters.readingsAccepted > before) result.accepted++;
        else if (this.#forwardRefused > refusedBefore) sample('backlog-full', name);
        else if (counters.readingsRejected > rejectedBefore) sample('too-many-sensors', name);
        else sample('duplicate', `${name} (sender-seq ${senderSeq} again)`);
      },
      reject: (reason, line) => {
        this.reject(reason, line);
        sample(reason, Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('latin1'));
      },
      ignored: (count) => this.ignored(count),
    };
    const outerRemote = this.#ingestRemote;
    const outerSource = this.#source;
    this.#ingestRemote = options.remote;
    this.#source = sourceCounters;
    try {
      feed(sink);
    } finally {
      this.#ingestRemote = outerRemote;
      this.#source = outerSource;
    }
    return result;
  }

  commit(): void {
    this.#storage?.commit();
  }

  #emitReject(reason: RejectReason, line: string): void {
    const from = this.#datagramFrom;
    if (from === undefined) {
      const remote = this.#ingestRemote;
      this.emit('reject', remote === undefined ? { reason, line } : { reason, line, remote });
    } else this.emit('reject', { reason, line, remote: describeAddress(from.address, from.port) });
  }

  readonly #onDatagram = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    this.#counters.datagramsReceived++;
    this.#counters.bytesReceived += msg.length;
    // docs/SECURITY.md, "UDP ingest": a sender outside udpAllow is dropped unread (and counted there).
    if (this.#options.udpAllow?.check(rinfo.address) === false) return;
    // Kept by reference (no copy, no string) for the reject events of this datagram's lines.
    this.#datagramFrom = rinfo;
    try {
      parseDatagram(msg, this.#sink, this.#parseOptions);
    } catch (err) {
      // No input may crash the server (PROTOCOL.md "UDP ingest": a bad line is dropped and counted).
      // parseDatagram does not throw; this guards the rest of the path.
      this.#socketError(err, 'datagram handling failed');
    } finally {
      this.#datagramFrom = undefined;
    }
  };

  #socketError(err: unknown, msg: string): void {
    this.#counters.udpErrors++;
    this.#logger.error({ err }, msg);
    if (this.listenerCount('error') > 0) {
      this.emit('error', err instanceof Error ? err : new Error(String(err), { cause: err }));
    }
  }

  // ---- TCP -------------------------------------------------------------------

  /** Whether debug records would be written (a logger without `isLevelEnabled` is asked every time). */
  get #debug(): boolean {
    return this.#logger.isLevelEnabled?.('debug') ?? true;
  }

  readonly #onConnection = (accepted: net.Socket): void => {
    // Input is read into one buffer shared by every connection, not a new Buffer per read (see user-buffer.ts).
    const reader: { session?: Session | undefined } = {};
    const touch = this.#busyPoll.touch;
    const onChunk = (chunk: Uint8Array): void => {
      reader.session?.receive(chunk);
      touch();
    };
    let socket = readIntoBuffer(accepted, this.#readBuffer, onChunk, { allowHalfOpen: true });
    if (socket === undefined) {
      // This Node.js cannot: the ordinary stream, started ('pauseOnConnect').
      socket = accepted.on('data', touch).resume();
    }
    // The peer's address costs a system call and a string: build it only when asked for.
    reader.session = this.handle(socket, () => describeRemote(socket));
  };

  /** A TLS connection whose handshake is done: a session like any other, reading through the stream. */
  readonly #onSecureConnection = (socket: tls.TLSSocket): void => {
    socket.on('data', this.#busyPoll.touch);
    this.handle(socket, () => describeRemote(socket));
  };

  handle(stream: Duplex, remote: string | (() => string) = 'stream'): Session | undefined {
    if (this.#closePromise !== undefined) {
      stream.destroy();
      return undefined;
    }
    if (this.#sessions.size >= this.#options.maxClients) {
      this.#refuseBusy(stream, typeof remote === 'function' ? remote() : remote);
      return undefined;
    }
    const session = new Session(stream, this.#context, { id: this.#nextClientId++, remote });
    this.#sessions.add(session);
    if (this.#debug) this.#logger.debug({ id: session.id, remote: session.remote }, 'client connected');
    if (this.listenerCount('client') > 0) this.emit('client', { id: session.id, remote: session.remote });
    return session;
  }

  /** `ERR server-busy` (PROTOCOL.md "Errors"): one line, then the connection is closed. */
  #refuseBusy(stream: Duplex, remote: string): void {
    this.#counters.clientsRejected++;
    this.#logger.warn({ remote, maxClients: this.#options.maxClients }, 'client refused: server busy');
    const socket = stream as net.Socket;
    this.#busy.add(socket);
    const timer = setTimeout(() => stream.destroy(), Math.min(this.#options.closeGraceMs, MAX_TIMER_MS));
    timer.unref();
    stream.on('error', () => {});
    stream.once('close', () => {
      clearTimeout(timer);
      this.#busy.delete(socket);
    });
    stream.resume(); // discard what it sends, so its FIN is seen and the socket closes
    stream.end(encodeError('server-busy', `at most ${this.#options.maxClients} clients`));
  }

  #onSessionClose(session: Session, reason: SessionCloseReason): void {
    this.#sessions.delete(session);
    this.#outboundCap.forget(session);
    if (this.#debug) this.#logger.debug({ id: session.id, remote: session.remote, reason }, 'client closed');
    this.emit('clientClose', { id: session.id, reason });
    if (this.#sessions.size === 0) this.#onSessionsGone?.();
  }

  // ---- lifecycle ---------------------------------------------------------------

  listen(): Promise<OpcServerAddress> {
    if (this.#closePromise !== undefined) {
      return Promise.reject(new OpcServerError('ERR_SERVER_CLOSED', 'the server is closed'));
    }
    if (this.#listenPromise !== undefined) {
      return Promise.reject(new OpcServerError('ERR_SERVER_LISTENING', 'listen() was already called'));
    }
    this.#listenPromise = this.#listen();
    return this.#listenPromise;
  }

  async #listen(): Promise<OpcServerAddress> {
    const { host, port } = this.#options;
    let address = host;
    if (net.isIP(host) === 0) {
      try {
        address = (await lookup(host)).address;
      } catch (err) {
        throw wrapListenError(err, `cannot resolve host '${host}'`);
      }
    }
    const type = net.isIPv6(address) ? 'udp6' : 'udp4';
    for (let attempt = 1; ; attempt++) {
      const tcp = net.createServer(
        { allowHalfOpen: true, noDelay: true, pauseOnConnect: true },
        this.#tlsPort?.accept ?? this.#onConnection,
      );
      try {
        await listenTcp(tcp, port, address);
      } catch (err) {
        throw wrapListenError(err, `cannot listen on TCP ${address}:${port}`);
      }
      const tcpPort = (tcp.address() as net.AddressInfo).port;
      const udp = dgram.createSocket({ type });
      try {
        await bindUdp(udp, tcpPort, address);
      } catch (err) {
        await closeTcp(tcp);
        await closeUdp(udp);
        // Port 0: TCP picked the number; if UDP has it taken, start over with a new one.
        if (port === 0 && errorCode(err) === 'EADDRINUSE' && attempt < PORT_ATTEMPTS) continue;
        throw wrapListenError(err, `cannot bind UDP ${address}:${tcpPort}`);
      }
      if (this.#closePromise !== undefined) {
        await Promise.all([closeTcp(tcp), closeUdp(udp)]);
        throw new OpcServerError('ERR_SERVER_CLOSED', 'the server was closed while listening');
      }
      const recvBufferBytes = this.#setRecvBuffer(udp);
      udp.on('message', this.#onDatagram);
      udp.on('error', (err) => this.#socketError(err, 'UDP socket error'));
      tcp.on('error', (err) => this.#socketError(err, 'TCP server error'));
      this.#udp = udp;
      this.#tcp = tcp;
      this.#address = { host: address, port: tcpPort, udpPort: tcpPort, tcpPort, recvBufferBytes };
      this.#logger.debug({ ...this.#address }, 'listening');
      this.emit('listening', { ...this.#address });
      return { ...this.#address };
    }
  }

  /** Requests SO_RCVBUF and reports what the kernel granted (Linux doubles it and caps it at net.core.rmem_max). */
  #setRecvBuffer(udp: dgram.Socket): number {
    const requested = this.#options.recvBufferBytes;
    if (requested > 0) {
      try {
        udp.setRecvBufferSize(requested);
      } catch (err) {
        this.#logger.warn({ err, requested }, 'could not set the UDP receive buffer size');
      }
    }
    let granted = 0;
    try {
      granted = udp.getRecvBufferSize();
    } catch (err) {
      this.#logger.warn({ err }, 'could not read the UDP receive buffer size');
    }
    if (requested > 0 && granted < requested) {
      this.#logger.warn(
        { requested, granted },
        'the kernel granted a smaller UDP receive buffer than requested (raise net.core.rmem_max)',
      );
    }
    return granted;
  }

  close(): Promise<void> {
    return (this.#closePromise ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#busyPoll.stop();
    if (this.#listenPromise !== undefined) await this.#listenPromise.catch(() => undefined);
    const waits: Promise<void>[] = [];
    const udp = this.#udp;
    const tcp = this.#tcp;
    if (udp !== undefined) {
      udp.off('message', this.#onDatagram);
      waits.push(closeUdp(udp));
    }
    if (tcp !== undefined) waits.push(closeTcp(tcp));
    this.#tlsPort?.close();
    for (const socket of this.#busy) socket.destroy();
    if (this.#sessions.size > 0) {
      waits.push(new Promise<void>((resolve) => (this.#onSessionsGone = resolve)));
      for (const session of [...this.#sessions]) session.shutdown();
    }
    const grace = setTimeout(
      () => {
        for (const session of this.#sessions) session.destroy();
        this.#tlsPort?.destroyAll(); // handshakes still under way
      },
      Math.min(this.#options.closeGraceMs, MAX_TIMER_MS),
    );
    try {
      await Promise.all(waits);
    } finally {
      clearTimeout(grace);
    }
    this.#udp = undefined;
    this.#tcp = undefined;
    this.#address = undefined;
    // Ingest has stopped: the replicator forwards what it holds and stops applying, into a store still open.
    await this.#replicator?.close().catch((err: unknown) => this.#logger.error({ err }, 'replicator close failed'));
    // Last: what the clients were sent is committed, then a checkpoint makes the next start quick.
    this.#storage?.close();
    this.#logger.debug('closed');
    this.emit('close');
  }

  readonly #onAbort = (): void => {
    void this.close();
  };

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  address(): OpcServerAddress | undefined {
    return this.#address === undefined ? undefined : { ...this.#address };
  }

  stats(): OpcServerStats {
    const loss = this.store.loss;
    let outboundBytes = 0;
    for (const session of this.#sessions) outboundBytes += session.pendingBytes;
    const stats = buildStats(this.#counters, {
      uptimeMs: Math.round(performance.now() - this.#createdAt),
      sensors: this.store.size,
      sensorsMax: this.store.maxSensors,
      subscriptions: this.hub.subscriptionCount,
      outboundBytes,
      seqLost: loss.lost,
      seqDuplicate: loss.duplicate,
      seqLate: loss.late,
      seqRestarts: loss.restarts,
      recvBufferBytes: this.#address?.recvBufferBytes ?? 0,
      historyCapacity: this.store.historyCapacity,
      storage: this.#storage?.stats() ?? memoryStorageStats(),
      replication: this.#replicator?.stats() ?? noReplicationStats(),
    });
    // The auth_* keys only when tokens are checked; without, a warning key when exposed (docs/SECURITY.md, "Counters").
    const udpAllow = this.#options.udpAllow;
    if (udpAllow !== undefined) Object.assign(stats, udpAllow.stats());
    const tlsPort = this.#tlsPort;
    if (tlsPort !== undefined) {
      Object.assign(stats, {
        tls_plaintext_refused: tlsPort.plaintextRefused,
        tls_handshake_failures: tlsPort.handshakeFailures,
      });
    }
    const auth = this.#options.auth;
    if (auth !== undefined) return Object.assign(stats, auth.stats());
    const host = this.#address?.host;
    return host === undefined || isLoopback(host) ? stats : Object.assign(stats, { exposed_without_auth: 1 });
  }
}

/** The one long-lived sink `parseDatagram` writes into (no closure per datagram). */
class IngestSink implements DatagramSink {
  readonly #server: OpcServerImpl;

  constructor(server: OpcServerImpl) {
    this.#server = server;
  }

  reading(name: string, value: number, timestampMs: number, senderSeq: number): void {
    this.#server.ingestReading(name, value, timestampMs, senderSeq);
  }

  reject(reason: RejectReason, line: Uint8Array): void {
    this.#server.reject(reason, line);
  }

  ignored(count: number): void {
    this.#server.ignored(count);
  }
}

function listenTcp(tcp: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    tcp.once('error', onError);
    tcp.listen({ port, host, exclusive: true }, () => {
      tcp.off('error', onError);
      resolve();
    });
  });
}

function bindUdp(udp: dgram.Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    udp.once('error', onError);
    udp.bind({ port, address: host, exclusive: true }, () => {
      udp.off('error', onError);
      resolve();
    });
  });
}

function closeTcp(tcp: net.Server): Promise<void> {
  return new Promise((resolve) => {
    tcp.close(() => resolve());
  });
}

function closeUdp(udp: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      udp.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function wrapListenError(err: unknown, what: string): OpcServerError {
  const code = errorCode(err) ?? 'ERR_LISTEN';
  const message = err instanceof Error ? err.message : String(err);
  return new OpcServerError(code, `${what}: ${message}`, { cause: err });
}

/** `host:port` of a socket's peer, IPv6 hosts in brackets. */
function describeRemote(socket: net.Socket): string {
  const host = socket.remoteAddress;
  if (host === undefined) return 'unknown';
  return describeAddress(host, socket.remotePort);
}

/** Whether a bound address is reachable from this machine only (127.0.0.0/8, ::1). */
export function isLoopback(host: string): boolean {
  return host === '::1' || host === 'localhost' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}

function describeAddress(host: string, port: number | undefined): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
