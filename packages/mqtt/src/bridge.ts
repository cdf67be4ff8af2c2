/**
 * One MQTT connection between a broker and an opc-lite server (docs/INGEST.md, "MQTT").
 *
 * How it works: one `mqtt` client subscribes to the topic filters (`#` by default) once per connection, and hands
 * each message to `mapMqttMessage` inside `server.ingestFrom(..., { source: 'mqtt' })`, so the readings take the
 * path every source takes (store, counters, hub, storage, cluster). With `publishPrefix`, the bridge is also a hub
 * subscriber of `*` and publishes each reading's value to `<prefix>/<sensor>`, retained, QoS 0. A reading that came
 * from this broker is never published back (the hub pushes it while the bridge is ingesting it, and is told no), and
 * messages under the prefix are never read as input. While the broker is away nothing is queued: QoS 0 publishes
 * are dropped and counted, and the client reconnects with a delay that doubles from `reconnectMinMs` to
 * `reconnectMaxMs`, reset by a connection that succeeds.
 *
 * Rights (docs/SECURITY.md, "Writing on the ingest paths"): when the server has an auth file, the bridge writes
 * with the rights of the token entry named by `writeAs`, or the anonymous rights, looked up in the file in force for
 * every message (so a reload applies at once). A mapped sensor it may not write is rejected as `forbidden`; with
 * `publishPrefix` it publishes only the sensors those rights may read.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { NO_RIGHTS, type Logger, type OpcServer, type Rights, type Subscriber } from '@opc-lite/opc-server';
import { mapMqttMessage, type MqttMapOptions } from '@opc-lite/protocol';

/**
 * Options of {@link startMqttBridge}; units in the names.
 *
 * @example
 * ```ts
 * const options: MqttBridgeOptions = { url: 'mqtt://127.0.0.1:1883', topics: ['tele/#', 'shellies/#'] };
 * ```
 */
export interface MqttBridgeOptions {
  /** `mqtt://host:1883` or `mqtts://host:8883`; a user and password in it are used. */
  url: string;
  /** Topic filters to subscribe to (default `['#']`). */
  topics?: readonly string[];
  /** Overrides the URL's user. */
  username?: string;
  /** Overrides the URL's password. */
  password?: string;
  /**
   * For `mqtts://`: the PEM text of the CA (or CAs) that signed the broker's certificate, trusted instead of the
   * system's (docs/INGEST.md, "MQTT over TLS"). A certificate it does not verify makes {@link MqttBridge.ready} reject.
   */
  ca?: string | Buffer;
  /** Publish every reading to `<publishPrefix>/<sensor>`, retained, QoS 0 (default: publish nothing). */
  publishPrefix?: string;
  /** The MQTT client id (default `opc-lite-<random>`). */
  clientId?: string;
  /** First reconnect delay (default 1000). */
  reconnectMinMs?: number;
  /** Longest reconnect delay (default 30 000). */
  reconnectMaxMs?: number;
  /** How payloads are read (packages/protocol/README.md, "MQTT"). */
  map?: MqttMapOptions;
  /**
   * When the server has an auth file: the name of the token entry whose rights the bridge has (its write patterns
   * for what it stores, its read patterns for what it publishes). Default: the anonymous rights. A name the file
   * does not have is refused with `ERR_MQTT_OPTIONS`.
   */
  writeAs?: string;
  /** pino's method shape; silent by default. */
  logger?: Logger;
}

/**
 * The defaults of {@link MqttBridgeOptions} (frozen).
 *
 * @example
 * ```ts
 * MQTT_BRIDGE_DEFAULTS.topics; // ['#']
 * ```
 */
export const MQTT_BRIDGE_DEFAULTS = Object.freeze({
  topics: Object.freeze<string[]>(['#']),
  reconnectMinMs: 1000,
  reconnectMaxMs: 30_000,
});

/**
 * What the bridge did, for logs and tests.
 *
 * @example
 * ```ts
 * bridge.stats().messages; // messages received
 * ```
 */
export interface MqttBridgeStats {
  connected: boolean;
  /** Connections made (the first one included). */
  connects: number;
  /** Messages received and handed to the server. */
  messages: number;
  /** Readings published under the prefix. */
  published: number;
  /** Readings not published because the broker was away. */
  publishDropped: number;
}

/**
 * A running bridge; `close()` is idempotent and awaitable.
 *
 * @example
 * ```ts
 * await using bridge = startMqttBridge(server, { url: 'mqtt://127.0.0.1:1883' });
 * ```
 */
export interface MqttBridge extends AsyncDisposable {
  stats(): MqttBridgeStats;
  /**
   * Resolves once connected and subscribed (the first time, or again after a reconnect if called then). Rejects
   * with `ERR_MQTT_TLS` when the broker's certificate does not verify (the bridge goes on retrying).
   */
  ready(): Promise<void>;
  /** Unsubscribes from the hub, ends the MQTT connection (a publish in flight is sent first). */
  close(): Promise<void>;
}

/** A bad option: `code` `ERR_MQTT_OPTIONS`; a broker certificate that does not verify: `ERR_MQTT_TLS`. */
export class MqttBridgeError extends Error {
  override readonly name = 'MqttBridgeError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Connects `server` to a broker: messages in, readings out when `publishPrefix` is set. Never throws for a broker
 * that cannot be reached: it logs and retries. Throws a {@link MqttBridgeError} for a bad URL or option.
 *
 * @example
 * ```ts
 * import { createOpcServer } from '@opc-lite/opc-server';
 * import { startMqttBridge } from '@opc-lite/mqtt';
 *
 * const server = createOpcServer();
 * await server.listen();
 * const bridge = startMqttBridge(server, { url: 'mqtt://127.0.0.1:1883', topics: ['tele/#'], publishPrefix: 'opc' });
 * // tele/kitchen/SENSOR {"AM2301":{"Temperature":21.5}} is sensor tele/kitchen/SENSOR/AM2301/Temperature,
 * // and is not published back; a UDP reading `ramp 0.5` is published to opc/ramp, retained.
 * ```
 */
export function startMqttBridge(server: OpcServer, options: MqttBridgeOptions): MqttBridge {
  return new Bridge(server, options);
}

let clientCount = 0;

/** The rights of `writeAs` (or anonymous) in the auth file in force; refuses a name the file does not have. */
function bridgeRights(server: OpcServer, writeAs: string | undefined): () => Rights | undefined {
  const auth = server.auth;
  if (auth === undefined) {
    if (writeAs !== undefined) {
      throw new MqttBridgeError('ERR_MQTT_OPTIONS', `writeAs names a token of the auth file, and the server has none`);
    }
    return () => undefined;
  }
  if (writeAs === undefined) return () => auth.config.anonymous;
  if (auth.entry(writeAs) === undefined) {
    throw new MqttBridgeError(
      'ERR_MQTT_OPTIONS',
      `writeAs: ${auth.config.source} has no token named ${JSON.stringify(writeAs)}`,
    );
  }
  // A reload that removes the entry leaves the bridge no right, until one puts it back.
  return () => auth.entry(writeAs)?.rights ?? NO_RIGHTS;
}

/** Node's codes for a broker certificate that does not verify: retrying will not help, a CA (or a fix) will. */
const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

class Bridge implements MqttBridge, Subscriber {
  readonly #server: OpcServer;
  readonly #client: MqttClient;
  readonly #topics: readonly string[];
  readonly #prefix: string | undefined;
  readonly #map: MqttMapOptions | undefined;
  readonly #logger: Logger | undefined;
  readonly #remote: string;
  /** The rights in force now; undefined without an auth file (everything may be written and published). */
  readonly #rights: () => Rights | undefined;
  readonly #min: number;
  readonly #max: number;
  #delay: number;
  #ingesting = false;
  #closePromise: Promise<void> | undefined;
  #readyWaiters: Array<{ resolve: () => void; reject: (err: MqttBridgeError) => void }> = [];
  #tlsError: MqttBridgeError | undefined;
  #subscribed = false;
  readonly #stats: MqttBridgeStats = { connected: false, connects: 0, messages: 0, published: 0, publishDropped: 0 };

  constructor(server: OpcServer, options: MqttBridgeOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (err) {
      throw new MqttBridgeError('ERR_MQTT_OPTIONS', `not a URL: '${options.url}' (mqtt://host:1883)`, { cause: err });
    }
    if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'].includes(url.protocol)) {
      throw new MqttBridgeError(
        'ERR_MQTT_OPTIONS',
        `the broker URL must be mqtt:// or mqtts:// (got ${url.protocol}//)`,
      );
    }
    const topics = options.topics ?? MQTT_BRIDGE_DEFAULTS.topics;
    if (topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '')) {
      throw new MqttBridgeError('ERR_MQTT_OPTIONS', 'topics must be non-empty topic filters such as tele/#');
    }
    const prefix = options.publishPrefix?.replace(/\/+$/, '');
    if (prefix !== undefined && (prefix === '' || /[+#]/.test(prefix))) {
      throw new MqttBridgeError('ERR_MQTT_OPTIONS', `publishPrefix must be a topic without + or # (got '${prefix}')`);
    }
    this.#min = options.reconnectMinMs ?? MQTT_BRIDGE_DEFAULTS.reconnectMinMs;
    this.#max = Math.max(this.#min, options.reconnectMaxMs ?? MQTT_BRIDGE_DEFAULTS.reconnectMaxMs);
    if (!(this.#min >= 1)) throw new MqttBridgeError('ERR_MQTT_OPTIONS', 'reconnectMinMs must be at least 1');
    this.#delay = this.#min;
    this.#rights = bridgeRights(server, options.writeAs);
    const rights = this.#rights();
    if (rights !== undefined && rights.write.length === 0) {
      options.logger?.warn(
        { writeAs: options.writeAs },
        `the MQTT bridge may write no sensor: ${options.writeAs === undefined ? 'the anonymous rights have' : `token ${options.writeAs} has`} no write= pattern (docs/SECURITY.md, "Writing on the ingest paths")`,
      );
    }
    this.#server = server;
    this.#topics = topics;
    this.#prefix = prefix;
    this.#map = options.map;
    this.#logger = options.logger;
    this.#remote = `mqtt ${url.host}`;
    const clientOptions: IClientOptions = {
      clientId:
        options.clientId ?? `opc-lite-${process.pid}-${++clientCount}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: this.#min,
      connectTimeout: 10_000,
      // Nothing piles up while the broker is away: QoS 0 publishes are dropped (and counted).
      queueQoSZero: false,
      clean: true,
      ...(options.username !== undefined && { username: options.username }),
      ...(options.password !== undefined && { password: options.password }),
      ...(options.ca !== undefined && { ca: options.ca }),
    };
    const client = mqtt.connect(options.url, clientOptions);
    this.#client = client;
    client.on('connect', this.#onConnect);
    client.on('message', this.#onMessage);
    client.on('reconnect', () => {
      // Doubling backoff: mqtt.js reads reconnectPeriod for the next attempt.
      this.#delay = Math.min(this.#max, this.#delay * 2);
      client.options.reconnectPeriod = this.#delay;
    });
    client.on('close', () => {
      if (this.#stats.connected) this.#logger?.warn({ broker: url.host }, 'MQTT broker connection lost; reconnecting');
      this.#stats.connected = false;
      this.#subscribed = false;
    });
    client.on('error', (err) => {
      this.#logger?.warn({ err, broker: url.host }, 'MQTT error');
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && TLS_TRUST_CODES.has(code)) {
        this.#tlsError = new MqttBridgeError(
          'ERR_MQTT_TLS',
          `the broker's certificate is not trusted (${code}: ${err.message}); ` +
            'give the CA that signed it as the ca option (opc-server: OPC_MQTT_CA_FILE)',
          { cause: err },
        );
        for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(this.#tlsError);
      }
    });
    if (prefix !== undefined)
      (server.hub as unknown as { subscribe(s: Subscriber, p: string): boolean }).subscribe(this, '*');
  }

  readonly #onConnect = (): void => {
    this.#stats.connected = true;
    this.#stats.connects++;
    this.#delay = this.#min;
    this.#client.options.reconnectPeriod = this.#min;
    this.#logger?.info({ broker: this.#remote.slice(5), topics: this.#topics }, 'MQTT connected');
    this.#client.subscribe([...this.#topics], { qos: 0 }, (err) => {
      if (err !== null && err !== undefined) {
        this.#logger?.error({ err, topics: this.#topics }, 'MQTT subscribe failed');
        return;
      }
      this.#subscribed = true;
      this.#tlsError = undefined;
      for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
    });
  };

  readonly #onMessage = (topic: string, payload: Buffer): void => {
    // Our own publishes are never input.
    if (this.#prefix !== undefined && (topic === this.#prefix || topic.startsWith(`${this.#prefix}/`))) return;
    this.#stats.messages++;
    this.#ingesting = true;
    const rights = this.#rights();
    try {
      this.#server.ingestFrom((sink) => mapMqttMessage(topic, payload, sink, this.#map), {
        source: 'mqtt',
        remote: this.#remote,
        ...(rights !== undefined && { canWrite: (name: string) => rights.canWrite(name) }),
      });
    } catch (err) {
      this.#logger?.error({ err, topic }, 'MQTT message handling failed');
    } finally {
      this.#ingesting = false;
    }
  };

  /** A hub push: `PUB <name> <value> <ts> <seq>\n`. */
  push(line: string): boolean {
    if (this.#ingesting) return true; // came from this broker: not echoed back
    const prefix = this.#prefix;
    if (prefix === undefined || this.#closePromise !== undefined) return true;
    if (!this.#stats.connected) {
      this.#stats.publishDropped++;
      return false;
    }
    const nameEnd = line.indexOf(' ', 4);
    const valueEnd = line.indexOf(' ', nameEnd + 1);
    if (nameEnd < 0 || valueEnd < 0) return true;
    const rights = this.#rights();
    if (rights !== undefined && !rights.canRead(line.slice(4, nameEnd))) return false;
    this.#client.publish(`${prefix}/${line.slice(4, nameEnd)}`, line.slice(nameEnd + 1, valueEnd), {
      qos: 0,
      retain: true,
    });
    this.#stats.published++;
    return true;
  }

  stats(): MqttBridgeStats {
    return { ...this.#stats };
  }

  ready(): Promise<void> {
    if (this.#subscribed) return Promise.resolve();
    if (this.#tlsError !== undefined) return Promise.reject(this.#tlsError);
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  close(): Promise<void> {
    return (this.#closePromise ??= new Promise<void>((resolve) => {
      if (this.#prefix !== undefined) (this.#server.hub as unknown as { remove(s: Subscriber): number }).remove(this);
      this.#client.end(false, {}, () => resolve());
    }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
