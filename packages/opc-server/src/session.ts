/**
 * One TCP client (PROTOCOL.md "TCP commands and replies"), over any duplex stream: a socket in the server, an
 * in-memory pair in tests.
 *
 * How it works: incoming bytes go through a {@link CommandDecoder}; each
 * command is answered at once, in order, by appending its reply lines to a
 * per-session string. Pushed `PUB` lines from the {@link Hub} are appended to
 * the same string, so replies and pushes stay in order. The string is written
 * to the stream once per event-loop turn by a {@link WriteScheduler}: after
 * the turn has read every client that sent something, so the replies of many
 * clients go out together.
 *
 * Backpressure (PROTOCOL.md "Limits"): the bytes pending for a client are the
 * stream's `writableLength` plus what is not flushed yet. A push that would
 * take them past `outboundBudgetBytes` is dropped and counted (replies to
 * commands are never dropped; the subscriber sees a seq jump). When
 * `write()` returns false the session stops writing, keeps appending within
 * the budget, and arms the drain timer; `'drain'` disarms it and flushes.
 * A client that pipelines commands without reading their replies is held:
 * commands past the budget wait (the stream is paused) until the output has
 * gone out, so one client costs at most its budget plus one reply. A dropped push arms the timer too
 * (the budget may be smaller than the stream's own high-water mark). If the
 * timer fires before the client caught up, it is sent `ERR slow-consumer`
 * (when the bytes can still go out) and destroyed. A write that does not go
 * through also reports the client to the server's outbound cap
 * (outbound-cap.ts), which bounds what all clients together hold by
 * disconnecting the largest.
 */
import type { Duplex } from 'node:stream';
import {
  CLOSING_ERROR_CODES,
  CommandDecoder,
  DEFAULT_SENSOR,
  compilePattern,
  encodeBucketFields,
  encodeBye,
  encodeEnd,
  encodeMore,
  encodeError,
  encodeOk,
  encodePollReply,
  encodePong,
  encodePubFields,
  encodeSensor,
  encodeStat,
  encodeValFields,
  resolveTime,
  type Command,
  type ErrorCode,
} from '@opc-lite/protocol';
import type { Authenticator, AuthSession } from './auth/authenticator.js';
import { sharesRun, type CommandTimes, type CommandVerb } from './command-times.js';
import { RingHistory, type HistoryReader } from './history.js';
import type { Hub, Subscriber } from './hub.js';
import { DEFAULTS, MAX_TIMER_MS, silentLogger, type Logger } from './options.js';
import { memoryStorageStats } from './storage.js';
import { Counters, buildStats } from './stats.js';
import type { SensorStore } from './store.js';
import { turnClock } from './turn-clock.js';
import { WriteScheduler } from './write-scheduler.js';

/**
 * Why a session ended, as reported by the server's `clientClose` event.
 *
 * @example
 * ```ts
 * server.on('clientClose', ({ id, reason }) => console.log(id, reason satisfies SessionCloseReason));
 * ```
 */
export type SessionCloseReason =
  | 'quit'
  | 'peer-closed'
  | 'error'
  | 'line-too-long'
  | 'too-many-subscriptions'
  | 'slow-consumer'
  | 'idle-timeout'
  | 'shutting-down'
  | 'auth-failed'
  | 'destroyed';

/**
 * The limits a session enforces (the server passes its options).
 *
 * @example
 * ```ts
 * const limits: SessionLimits = { ...DEFAULTS };
 * ```
 */
export interface SessionLimits {
  maxLineBytes: number;
  maxSubscriptionsPerClient: number;
  outboundBudgetBytes: number;
  drainTimeoutMs: number;
  idleTimeoutMs: number;
  maxHistoryReply: number;
  /** Most `VAL` lines per `RANGE` (then `MORE`), most buckets, and most readings per sensor a resumed `SUB` sends. */
  maxRangeReply: number;
  closeGraceMs: number;
  /** Also bounds what the sessions sharing a scheduler build in one turn (0 = no bound). */
  maxOutboundBytes: number;
}

/**
 * What a session needs from its server. Only `store` and `hub` are required,
 * so a session can run on its own in tests.
 *
 * @example
 * ```ts
 * const store = new SensorStore();
 * const context: SessionContext = { store, hub: new Hub(store), limits: { idleTimeoutMs: 0 } };
 * ```
 */
export interface SessionContext {
  readonly store: SensorStore;
  readonly hub: Hub<Session>;
  readonly limits?: Partial<SessionLimits>;
  readonly counters?: Counters;
  /** Tokens and rights (docs/SECURITY.md); without it every client may do everything. */
  readonly auth?: Authenticator;
  /** Where command times go, by verb (default: not timed). */
  readonly commandTimes?: CommandTimes;
  /** Where `RANGE` and resumed `SUB`s read the past (default: a {@link RingHistory} over the store's rings). */
  readonly history?: HistoryReader;
  /** The server's clock, Unix epoch ms, for the relative times of `RANGE` (default `Date.now`). */
  readonly now?: () => number;
  /** Produces the `STATS` reply (default: counters, store and hub of this context). */
  readonly stats?: () => object;
  readonly scheduler?: WriteScheduler;
  /** Time of a command, on the `performance.now()` scale, for the idle timeout (default {@link turnClock}). */
  readonly clock?: { now(): number };
  readonly logger?: Logger;
  /** Called once, when the stream has closed. */
  readonly onClose?: (session: Session, reason: SessionCloseReason) => void;
  /** Called when the session is about to be destroyed as a slow consumer. */
  readonly onSlowConsumer?: (session: Session) => void;
  /** Called when a write did not go through: the client has fallen behind (the server's outbound cap watches it). */
  readonly onFellBehind?: (session: Session) => void;
  /**
   * Called before output is handed to the stream. The server commits its
   * durable store here, so no reading reaches a client before it is in the
   * log (docs/DURABILITY.md).
   */
  readonly beforeWrite?: () => void;
}

/**
 * Who the client is.
 *
 * @example
 * ```ts
 * const info: SessionInfo = { id: 1, remote: '127.0.0.1:50000' };
 * ```
 */
export interface SessionInfo {
  id?: number;
  /** The peer's address, or a function that builds it when it is first asked for. */
  remote?: string | (() => string);
}

let nextId = 1;
/** Shared by the sessions not given a history: it holds no state. */
const defaultHistory = new RingHistory();
/** The poll reply while sensor `default` has no reading. */
const NO_READING_REPLY = encodePollReply(undefined);

/**
 * One client connection: decodes commands, answers them in order, receives
 * pushes from the hub within an outbound budget, and times out when idle.
 *
 * @example
 * ```ts
 * import { Duplex } from 'node:stream';
 * const store = new SensorStore();
 * const hub = new Hub<Session>(store);
 * const session = new Session(socket, { store, hub });
 * ```
 */
export class Session implements Subscriber {
  /** Client id, unique within the process. */
  readonly id: number;
  #remote: string | (() => string);
  /** Pushes dropped for this client because it was over its budget. */
  dropped = 0;

  readonly #stream: Duplex;
  readonly #store: SensorStore;
  readonly #hub: Hub<Session>;
  readonly #counters: Counters;
  readonly #times: CommandTimes | undefined;
  readonly #limits: Readonly<SessionLimits>;
  readonly #stats: () => object;
  readonly #scheduler: WriteScheduler;
  readonly #logger: Logger;
  readonly #context: SessionContext;
  readonly #decoder: CommandDecoder;
  readonly #clock: { now(): number };
  readonly #history: HistoryReader;
  readonly #now: () => number;
  /** This connection's identity and rights, when the server checks tokens. */
  readonly #auth: AuthSession | undefined;
  /** An `AUTH` is being checked: the commands after it wait (docs/SECURITY.md, "Tokens on TCP"). */
  #authWait = false;
  /** Resume points from `AFTER`, by sensor name, until a `SUB` uses them (docs/PROTOCOL.md, "Resume: AFTER"). */
  #resume: Map<string, number> | undefined;

  /** Lines appended and not yet handed to the stream (ASCII: length = bytes). */
  #pending = '';
  #scheduled = false;
  #awaitingDrain = false;
  #inputPaused = false;
  /** Commands decoded but held back while the client is over its budget, and where to resume. */
  #held: Command[] | undefined;
  #heldIndex = 0;
  /** The peer half-closed while commands were held: end once they are answered. */
  #peerEnded = false;
  #closing = false;
  #closed = false;
  #reason: SessionCloseReason | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  /** When the last command came, or the idle count started ({@link turnClock}); the idle timer checks it when it fires. */
  #lastCommandAt = 0;
  #lingerTimer: NodeJS.Timeout | undefined;

  constructor(stream: Duplex, context: SessionContext, info: SessionInfo = {}) {
    this.id = info.id ?? nextId++;
    this.#remote = info.remote ?? 'stream';
    this.#stream = stream;
    this.#context = context;
    this.#store = context.store;
    this.#hub = context.hub;
    this.#counters = context.counters ?? new Counters();
    this.#times = context.commandTimes;
    this.#limits = limitsOf(context);
    this.#scheduler = context.scheduler ?? new WriteScheduler();
    this.#clock = context.clock ?? turnClock;
    this.#history = context.history ?? defaultHistory;
    this.#now = context.now ?? Date.now;
    this.#logger = context.logger ?? silentLogger;
    this.#stats = context.stats ?? (() => this.#defaultStats());
    this.#decoder = new CommandDecoder({ maxLineBytes: this.#limits.maxLineBytes });
    this.#auth = context.auth?.open(
      () => this.remote,
      (detail) => this.#closeWith('auth-failed', detail, 'auth-failed'),
    );
    this.#counters.clients++;
    this.#counters.clientsTotal++;

    stream.on('data', this.#onData);
    stream.on('end', this.#onEnd);
    stream.on('drain', this.#onDrain);
    stream.on('error', this.#onError);
    stream.on('close', this.#onClose);
    if (stream.destroyed) process.nextTick(this.#onClose); // closed before it was handed over
    this.#armIdle();
  }

  /** The peer's address (`host:port`), or a label for in-memory streams. */
  get remote(): string {
    if (typeof this.#remote === 'function') this.#remote = this.#remote();
    return this.#remote;
  }

  /** Whether the session is ending or has ended (no more replies or pushes). */
  get closing(): boolean {
    return this.#closing;
  }

  /** Whether the stream has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes pending for this client: in the stream's buffer plus not flushed yet. */
  get pendingBytes(): number {
    return this.#stream.writableLength + this.#pending.length;
  }

  /** Whether the client has fallen behind: its last write did not all go out, and output waits for `'drain'`. */
  get behind(): boolean {
    return this.#awaitingDrain;
  }

  /** Patterns this client is subscribed with. */
  get subscriptions(): number {
    return this.#hub.subscriptionsOf(this);
  }

  /**
   * Hub entry point: queues one `PUB` line unless that would take the client
   * past its outbound budget, in which case the line is dropped and counted.
   */
  push(line: string): boolean {
    if (this.#closing) return false;
    if (this.#auth !== undefined && !this.#auth.canReadPub(line)) return false; // docs/SECURITY.md, "Rights"
    const streamBytes = this.#stream.writableLength;
    if (streamBytes + this.#pending.length + line.length > this.#limits.outboundBudgetBytes) {
      this.dropped++;
      this.#counters.pushesDropped++;
      this.#armDrainTimer();
      return false;
    }
    // The stream emptied without ever signalling backpressure: the client kept up.
    if (streamBytes === 0 && !this.#awaitingDrain && this.#drainTimer !== undefined) this.#disarmDrainTimer();
    this.#pending += line;
    this.#scheduler.queuedBytes += line.length;
    this.#counters.pushesSent++;
    this.#schedule();
    return true;
  }

  /** Hands everything appended so far to the stream (the scheduler calls it once per turn). */
  flush(): void {
    this.#scheduled = false;
    // Held by the per-turn bound with nothing of its own to write: this pass is where it resumes.
    if (this.#pending.length === 0 && this.#held !== undefined && !this.#awaitingDrain) this.#runHeld();
    else this.#write();
  }

  #write(): void {
    if (this.#pending.length === 0 || this.#awaitingDrain) return;
    const stream = this.#stream;
    if (stream.destroyed || stream.writableEnded) {
      this.#pending = '';
      return;
    }
    const data = this.#pending;
    this.#pending = '';
    this.#context.beforeWrite?.();
    if (!stream.write(data)) {
      this.#awaitingDrain = true;
      this.#armDrainTimer();
      this.#context.onFellBehind?.(this);
    } else if (this.#held !== undefined) {
      this.#runHeld();
    }
  }

  /** Ends the session as the server shuts down: `ERR shutting-down`, then the stream ends. */
  shutdown(): void {
    this.#closeWith('shutting-down', 'server closing', 'shutting-down');
  }

  /**
   * Disconnects the client as a slow consumer now, as the drain timeout
   * would: the server's outbound cap calls it on the clients holding the most.
   */
  evict(): void {
    if (this.#closing) return;
    this.#counters.outboundEvictions++;
    this.#disconnectSlow('server output memory full');
  }

  /** Destroys the stream at once (stragglers after the close grace period). */
  destroy(): void {
    this.#reason ??= 'destroyed';
    this.#closing = true;
    this.#stream.destroy();
  }

  // ---- input --------------------------------------------------------------

  readonly #onData = (chunk: Buffer | string): void => {
    this.receive(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  };

  /**
   * Input from the client, for streams that deliver it other than by
   * `'data'` (the server's sockets read into a shared buffer). `bytes` is
   * only read during the call.
   */
  receive(bytes: Uint8Array): void {
    if (this.#closing) return; // ending: input is read and discarded
    const commands = this.#decoder.push(bytes);
    if (commands.length === 0) return;
    // A field write rather than a timer refresh on every read: the idle timer looks at it when it fires.
    this.#lastCommandAt = this.#clock.now();
    if (this.#held !== undefined) {
      // Commands still wait (an AUTH being checked, output over budget): these go behind them, in order.
      this.#held = this.#held.slice(this.#heldIndex).concat(commands);
      this.#heldIndex = 0;
      return;
    }
    this.#run(commands, 0);
  }

  /**
   * Answers `commands` from `start` on, in order, while the client's pending
   * output stays within its budget. Replies are never dropped, so a client
   * that pipelines commands without reading is held instead: the rest of the
   * batch waits, the stream stops being read, and answering resumes when the
   * output has gone out (after a `write()` that went through, or `'drain'`).
   * What the server holds for one client is then its budget plus one reply.
   *
   * Commands also wait, for the next write pass, once the sessions sharing
   * this scheduler have queued more than `maxOutboundBytes` since the last
   * pass began: what one turn builds across all clients is then bounded by
   * that plus one reply, however many clients sent large requests at once.
   */
  #run(commands: Command[], start: number): void {
    // Never hold below the stream's own high-water mark: under it, writes go
    // through and no 'drain' would come to resume us.
    const holdAt = Math.max(this.#limits.outboundBudgetBytes, this.#stream.writableHighWaterMark);
    const turnLimit = this.#limits.maxOutboundBytes;
    // The timed run so far (src/command-times.ts): its verb, commands and start.
    const times = this.#times;
    let verb: CommandVerb | undefined;
    let count = 0;
    let since = 0;
    for (let i = start; i < commands.length; i++) {
      if (this.#closing) break;
      const turnFull = turnLimit > 0 && this.#scheduler.queuedBytes > turnLimit;
      if (turnFull || this.#authWait || this.pendingBytes > holdAt) {
        if (count > 0) times!.record(verb!, performance.now() - since, count);
        // Over the per-turn bound only: no write or 'drain' of its own may come, so the next pass resumes it.
        if (turnFull) this.#schedule();
        this.#held = commands;
        this.#heldIndex = i;
        if (!this.#inputPaused) {
          this.#inputPaused = true;
          this.#stream.pause();
        }
        return;
      }
      const command = commands[i]!;
      if (times !== undefined) {
        if (!sharesRun(command.kind, verb)) {
          const now = performance.now();
          if (count > 0) times.record(verb!, now - since, count);
          verb = command.kind;
          count = 0;
          since = now;
        }
        count++;
      }
      this.#handle(command);
    }
    if (count > 0) times!.record(verb!, performance.now() - since, count);
    this.#held = undefined;
    this.#heldIndex = 0;
    if (this.#closing) return;
    if (this.#peerEnded) {
      this.#end('peer-closed');
    } else if (this.#inputPaused) {
      this.#inputPaused = false;
      this.#stream.resume();
    }
  }

  #runHeld(): void {
    const held = this.#held;
    if (held !== undefined) this.#run(held, this.#heldIndex);
  }

  #handle(command: Command): void {
    this.#counters.commands++;
    if (this.#auth !== undefined) {
      const denial = this.#auth.check(command);
      if (denial !== undefined) return this.#error(denial.code, denial.detail);
    }
    switch (command.kind) {
      case 'poll': {
        // PROTOCOL.md "Legacy poll: n": the latest value of sensor `default`, or `nan`.
        this.#counters.polls++;
        this.#reply(this.#store.get(DEFAULT_SENSOR)?.pollReply() ?? NO_READING_REPLY);
        return;
      }
      case 'ping':
        this.#reply(encodePong());
        return;
      case 'get': {
        const sensor = this.#store.get(command.name);
        if (sensor === undefined) return this.#error('not-found', command.name);
        this.#reply(encodeValFields(sensor.name, sensor.lastValue, sensor.lastTimestampMs, sensor.seq));
        return;
      }
      case 'list': {
        const match = command.pattern === undefined ? undefined : compilePattern(command.pattern);
        let out = '';
        for (const sensor of this.#store) {
          if (match !== undefined && !match(sensor.name)) continue;
          if (this.#auth === undefined || this.#auth.canRead(sensor.name)) out += encodeSensor(sensor.summary());
        }
        this.#reply(out + encodeEnd());
        return;
      }
      case 'hist': {
        const sensor = this.#store.get(command.name);
        if (sensor === undefined) return this.#error('not-found', command.name);
        const max = this.#limits.maxHistoryReply;
        let out = '';
        sensor.forEachRecent(Math.min(command.count ?? max, max), (value, ts, seq) => {
          out += encodeValFields(sensor.name, value, ts, seq);
        });
        this.#reply(out + encodeEnd());
        return;
      }
      case 'range':
        return this.#range(command);
      case 'after':
        return this.#after(command.name, command.seq);
      case 'sub':
        return this.#subscribe(command.pattern, command.backlog ?? 0);
      case 'unsub': {
        const removed = this.#hub.unsubscribe(this, command.pattern);
        this.#reply(encodeOk('UNSUB', removed));
        if (this.#hub.subscriptionsOf(this) === 0) this.#armIdle();
        return;
      }
      case 'stats': {
        let out = '';
        for (const [key, value] of Object.entries(this.#stats())) {
          if (typeof value === 'number' || typeof value === 'string') out += encodeStat(key, value);
        }
        this.#reply(out + encodeEnd());
        return;
      }
      case 'auth':
        return this.#authenticate(command.token);
      case 'quit':
        this.#append(encodeBye());
        this.#end('quit');
        return;
      case 'invalid':
        return this.#error(command.code, command.detail);
    }
  }

  /**
   * v1.1 `RANGE` (docs/PROTOCOL.md, "History: RANGE"): relative times are
   * resolved with the server's clock; the readings go out as `VAL` lines, cut
   * with `MORE <ts>` past `maxRangeReply`, or as `BUCKET` lines; then `END`.
   * One reply, never dropped, like `HIST`.
   */
  #range(command: Extract<Command, { kind: 'range' }>): void {
    const now = this.#now();
    const from = resolveTime(command.from, now);
    const to = resolveTime(command.to, now);
    if (from > to) return this.#error('bad-args', `from is after to (${String(from)} > ${String(to)})`);
    const max = this.#limits.maxRangeReply;
    const points = command.points;
    if (points !== undefined && points > max) return this.#error('bad-args', `at most ${max} points`);
    const sensor = this.#store.get(command.name);
    if (sensor === undefined) return this.#error('not-found', command.name);
    const name = sensor.name;
    let out = '';
    if (points !== undefined) {
      this.#history.buckets(sensor, from, to, points, (start, count, min, maxValue, mean, first, last) => {
        out += encodeBucketFields(name, start, count, min, maxValue, mean, first, last);
      });
    } else {
      const { more } = this.#history.range(sensor, from, to, max, (ts, value, seq) => {
        out += encodeValFields(name, value, ts, seq);
      });
      if (more !== undefined) out += encodeMore(more);
    }
    this.#reply(out + encodeEnd());
  }

  /**
   * v1.1 `AFTER` (docs/PROTOCOL.md, "Resume: AFTER"): records where the next
   * matching `SUB` resumes this sensor. A seq above the sensor's latest was
   * not given by this server's numbering (it restarted and counts from 1
   * again): the point is 0, everything held, and the reply says so.
   */
  #after(name: string, seq: number): void {
    const sensor = this.#store.get(name);
    if (sensor === undefined) return this.#error('not-found', name);
    const resume = (this.#resume ??= new Map());
    const max = this.#store.maxSensors;
    // One point per existing sensor bounds them already; the check keeps the bound if sensors ever go away.
    if (!resume.has(name) && resume.size >= max) {
      return this.#error('bad-args', `at most ${max} resume points per connection`);
    }
    const point = seq > sensor.seq ? 0 : seq;
    resume.set(name, point);
    this.#reply(encodeOk('AFTER', `${name} ${String(point)}`));
  }

  #subscribe(pattern: string, backlog: number): void {
    const max = this.#limits.maxSubscriptionsPerClient;
    if (!this.#hub.isSubscribed(this, pattern) && this.#hub.subscriptionsOf(this) >= max) {
      return this.#error('too-many-subscriptions', `at most ${max} patterns per client`);
    }
    this.#reply(encodeOk('SUB', pattern));
    const count = Math.min(backlog, this.#limits.maxHistoryReply);
    if (count > 0 || (this.#resume !== undefined && this.#resume.size > 0)) this.#sendBacklog(pattern, count);
    this.#hub.subscribe(this, pattern);
    this.#disarmIdle();
  }

  /**
   * The SUB backlog: the recent readings of each matching sensor, before any
   * live one; for a sensor with a resume point (v1.1 `AFTER`), the readings
   * after that point instead, oldest first, at most `maxRangeReply`. The SUB
   * uses up every point its pattern matches. They are pushes: they count
   * against the budget like live readings. Once one is refused, the rest are
   * counted as dropped without being encoded, so a large backlog to a full
   * client costs no more than walking the sensors.
   */
  #sendBacklog(pattern: string, count: number): void {
    const match = compilePattern(pattern);
    const resume = this.#resume;
    let refused = 0;
    for (const sensor of this.#store) {
      if (!match(sensor.name) || this.#auth?.canRead(sensor.name) === false) continue;
      const point = resume?.get(sensor.name);
      if (point !== undefined) {
        this.#history.after(sensor, point, this.#limits.maxRangeReply, (ts, value, seq) => {
          if (refused > 0) refused++;
          else if (!this.push(encodePubFields(sensor.name, value, ts, seq))) refused = 1; // push() counted it
        });
        continue;
      }
      if (count === 0) continue;
      if (refused > 0) {
        refused += Math.min(count, sensor.size);
        continue;
      }
      sensor.forEachRecent(count, (value, ts, seq) => {
        if (refused > 0) refused++;
        else if (!this.push(encodePubFields(sensor.name, value, ts, seq))) refused = 1; // push() counted it
      });
    }
    if (resume !== undefined) for (const name of resume.keys()) if (match(name)) resume.delete(name);
    if (refused > 1) {
      this.dropped += refused - 1;
      this.#counters.pushesDropped += refused - 1;
    }
  }

  /**
   * `AUTH <token>` (docs/SECURITY.md, "Tokens on TCP"): the commands after it wait until the token is checked,
   * which takes a scrypt and, after a failure, the per-address delay. Too many failures close the connection.
   */
  #authenticate(token: string): void {
    const auth = this.#auth;
    if (auth === undefined) return this.#error('auth-failed', 'this server takes no tokens (no auth file)');
    this.#authWait = true;
    const done = (result: Awaited<ReturnType<AuthSession['authenticate']>>): void => {
      this.#authWait = false;
      if (this.#closing) return;
      if (result.ok) this.#reply(encodeOk('AUTH', result.name));
      else if (result.close) {
        this.#counters.commandErrors++;
        return this.#closeWith('auth-failed', result.detail, 'auth-failed');
      } else this.#error('auth-failed', result.detail);
      if (this.#held !== undefined) this.#runHeld();
      else if (this.#peerEnded) this.#end('peer-closed');
    };
    auth.authenticate(token).then(done, (err: unknown) => {
      this.#logger.error({ id: this.id, err }, 'token check failed');
      done({ ok: false, detail: 'token check failed', close: true });
    });
  }

  /** `ERR <code> <detail>`; the closing codes (PROTOCOL.md "Errors") end the connection after the line. */
  #error(code: ErrorCode, detail: string): void {
    this.#counters.commandErrors++;
    if (closes(code)) this.#closeWith(code, detail, code as SessionCloseReason);
    else this.#reply(encodeError(code, detail));
  }

  // ---- output -------------------------------------------------------------

  #reply(line: string): void {
    if (!this.#closing) this.#append(line);
  }

  #append(line: string): void {
    this.#pending += line;
    this.#scheduler.queuedBytes += line.length;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#scheduler.schedule(this);
  }

  readonly #onDrain = (): void => {
    this.#awaitingDrain = false;
    this.#disarmDrainTimer();
    if (this.#closing) return;
    this.#write();
    if (!this.#awaitingDrain) this.#runHeld();
  };

  #armDrainTimer(): void {
    if (this.#drainTimer !== undefined || this.#closing) return;
    this.#drainTimer = setTimeout(this.#onDrainTimeout, clampMs(this.#limits.drainTimeoutMs));
    this.#drainTimer.unref();
  }

  #disarmDrainTimer(): void {
    if (this.#drainTimer === undefined) return;
    clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
  }

  readonly #onDrainTimeout = (): void => {
    this.#drainTimer = undefined;
    if (this.#closing) return;
    const stream = this.#stream;
    if (!this.#awaitingDrain && stream.writableLength === 0) return; // caught up without a 'drain' event
    // A client that does not drain within drainTimeoutMs is disconnected with ERR slow-consumer.
    this.#disconnectSlow('output buffer full');
  };

  #disconnectSlow(detail: string): void {
    const stream = this.#stream;
    this.#counters.slowConsumerDisconnects++;
    this.#logger.warn({ id: this.id, remote: this.remote, pendingBytes: this.pendingBytes, detail }, 'slow consumer');
    this.#context.onSlowConsumer?.(this);
    this.#beginClose('slow-consumer');
    this.#pending = '';
    if (!stream.destroyed && !stream.writableEnded) stream.write(encodeError('slow-consumer', detail));
    stream.destroy();
  }

  // ---- lifetime -----------------------------------------------------------

  #armIdle(): void {
    const ms = this.#limits.idleTimeoutMs;
    if (ms <= 0 || this.#closing) return;
    this.#lastCommandAt = this.#clock.now();
    if (this.#idleTimer === undefined) this.#setIdleTimer(ms);
  }

  #setIdleTimer(ms: number): void {
    this.#idleTimer = setTimeout(this.#onIdle, clampMs(ms));
    this.#idleTimer.unref();
  }

  #disarmIdle(): void {
    if (this.#idleTimer === undefined) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  readonly #onIdle = (): void => {
    this.#idleTimer = undefined;
    if (this.#closing || this.#hub.subscriptionsOf(this) > 0) return;
    // Commands came since the timer was set: wait out the rest of the period from the last one.
    const left = this.#lastCommandAt + this.#limits.idleTimeoutMs - performance.now();
    if (left > 0) return this.#setIdleTimer(Math.ceil(left));
    this.#counters.idleDisconnects++;
    this.#closeWith('idle-timeout', `no command for ${this.#limits.idleTimeoutMs} ms`, 'idle-timeout');
  };

  /** Stops replies and pushes; the stream is ended or destroyed by the caller. */
  #beginClose(reason: SessionCloseReason): void {
    this.#closing = true;
    this.#reason ??= reason;
    this.#disarmIdle();
    this.#disarmDrainTimer();
    this.#hub.remove(this);
  }

  #closeWith(code: ErrorCode, detail: string, reason: SessionCloseReason): void {
    if (this.#closing) return;
    this.#append(encodeError(code, detail));
    this.#end(reason);
  }

  /**
   * Writes what is pending and ends the stream. A reply still being read is
   * not cut short: the peer gets `closeGraceMs` to close its side from when
   * the last byte was written ('finish'); until then a client that stops
   * reading is cut off as any slow consumer is, after `drainTimeoutMs`
   * without progress.
   */
  #end(reason: SessionCloseReason): void {
    this.#beginClose(reason);
    this.#held = undefined;
    const stream = this.#stream;
    if (this.#inputPaused) {
      this.#inputPaused = false;
      stream.resume(); // read and discard until the peer closes
    }
    if (stream.destroyed) return;
    const data = this.#pending;
    this.#pending = '';
    if (!stream.writableEnded) {
      if (data.length > 0) {
        this.#context.beforeWrite?.();
        stream.end(data);
      } else stream.end();
    }
    if (stream.writableFinished) this.#linger();
    else {
      stream.once('finish', this.#linger);
      this.#watchFinish(stream.writableLength);
    }
  }

  readonly #linger = (): void => {
    // A peer that has closed its side already: both sides are done and the stream closes by itself.
    if (this.#lingerTimer !== undefined || this.#closed || this.#stream.readableEnded) return;
    this.#lingerTimer = setTimeout(() => this.#stream.destroy(), clampMs(this.#limits.closeGraceMs));
    this.#lingerTimer.unref();
  };

  /** While the last bytes go out: destroy the stream if a drain timeout passes with none of them sent. */
  #watchFinish(left: number): void {
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      const stream = this.#stream;
      if (this.#closed || stream.writableFinished) return;
      if (stream.writableLength >= left) stream.destroy();
      else this.#watchFinish(stream.writableLength);
    }, clampMs(this.#limits.drainTimeoutMs));
    this.#drainTimer.unref();
  }

  readonly #onEnd = (): void => {
    // The peer half-closed: answer what it sent, then close our side.
    if (this.#closing) return;
    if (this.#held !== undefined || this.#authWait) this.#peerEnded = true;
    else this.#end('peer-closed');
  };

  readonly #onError = (err: Error): void => {
    this.#reason ??= 'error';
    this.#logger.debug({ id: this.id, remote: this.remote, err }, 'client stream error');
  };

  readonly #onClose = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    this.#beginClose('peer-closed');
    this.#pending = '';
    this.#held = undefined;
    if (this.#lingerTimer !== undefined) clearTimeout(this.#lingerTimer);
    this.#disarmDrainTimer();
    this.#counters.clients--;
    this.#auth?.close();
    this.#context.onClose?.(this, this.#reason ?? 'peer-closed');
  };

  #defaultStats(): object {
    const loss = this.#store.loss;
    return buildStats(this.#counters, {
      uptimeMs: 0,
      sensors: this.#store.size,
      sensorsMax: this.#store.maxSensors,
      subscriptions: this.#hub.subscriptionCount,
      outboundBytes: this.pendingBytes,
      seqLost: loss.lost,
      seqDuplicate: loss.duplicate,
      seqLate: loss.late,
      seqRestarts: loss.restarts,
      recvBufferBytes: 0,
      historyCapacity: this.#store.historyCapacity,
      storage: memoryStorageStats(),
    });
  }
}

/** PROTOCOL.md "Errors": the errors after which the server closes the connection (the protocol's closed list). */
function closes(code: ErrorCode): boolean {
  return CLOSING_ERROR_CODES.has(code);
}

function clampMs(ms: number): number {
  return Math.min(Math.max(ms, 1), MAX_TIMER_MS);
}

/** Resolved once per context: every session of a server shares one frozen limits object. */
const resolvedLimits = new WeakMap<SessionContext, Readonly<SessionLimits>>();

function limitsOf(context: SessionContext): Readonly<SessionLimits> {
  let limits = resolvedLimits.get(context);
  if (limits === undefined) {
    limits = Object.freeze(
      pickLimits({ ...DEFAULTS, maxHistoryReply: context.store.historyCapacity, ...context.limits }),
    );
    resolvedLimits.set(context, limits);
  }
  return limits;
}

function pickLimits(o: Readonly<SessionLimits>): SessionLimits {
  return {
    maxLineBytes: o.maxLineBytes,
    maxSubscriptionsPerClient: o.maxSubscriptionsPerClient,
    outboundBudgetBytes: o.outboundBudgetBytes,
    drainTimeoutMs: o.drainTimeoutMs,
    idleTimeoutMs: o.idleTimeoutMs,
    maxHistoryReply: o.maxHistoryReply,
    maxRangeReply: o.maxRangeReply,
    closeGraceMs: o.closeGraceMs,
    maxOutboundBytes: o.maxOutboundBytes,
  };
}
