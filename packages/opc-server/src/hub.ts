/**
 * The hub: who is subscribed to what, and fan-out of each stored reading
 * (PROTOCOL.md "TCP commands and replies", `SUB`; ARCHITECTURE.md "How a reading flows").
 *
 * How it works: every subscriber has a map of its patterns to compiled
 * matchers. For every sensor the hub caches the list of subscribers with at
 * least one matching pattern (each subscriber once, however many of its
 * patterns match), computed when the sensor is first published and updated
 * on every SUB/UNSUB. Publishing a reading is then: look up the cached list
 * by the sensor's dense id, encode the `PUB` line once, hand the same string
 * to each subscriber. Lists are replaced, never mutated, so a subscriber that
 * unsubscribes or disconnects while a reading is being delivered does not
 * disturb the loop.
 */
import { compilePattern, encodePubFields } from '@opc-lite/protocol';
import type { Sensor, SensorStore } from './store.js';

/**
 * Anything that can receive pushed `PUB` lines (a {@link Session} in the server).
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const sub: Subscriber = { push: (line) => (lines.push(line), true) };
 * ```
 */
export interface Subscriber {
  /** Receives one complete `PUB ...\n` line; returns false when it dropped it. */
  push(line: string): boolean;
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * Subscriptions and fan-out over a {@link SensorStore}.
 *
 * @example
 * ```ts
 * const store = new SensorStore();
 * const hub = new Hub(store);
 * hub.subscribe(session, 'ramp*');
 * const sensor = store.ingest('ramp1', 0.5, Number.NaN, -1);
 * if (sensor) hub.publish(sensor); // session.push('PUB ramp1 0.5 <ts> 1\n')
 * ```
 */
export class Hub<S extends Subscriber = Subscriber> {
  readonly #store: SensorStore;
  readonly #patterns = new Map<S, Map<string, (name: string) => boolean>>();
  /** Subscribers per sensor, indexed by `Sensor.id`; undefined = not computed yet. */
  readonly #bySensor: (readonly S[] | undefined)[] = [];
  #count = 0;

  constructor(store: SensorStore) {
    this.#store = store;
  }

  /** Subscriptions over all subscribers. */
  get subscriptionCount(): number {
    return this.#count;
  }

  /** Subscribers with at least one subscription. */
  get subscriberCount(): number {
    return this.#patterns.size;
  }

  /** How many patterns `sub` is subscribed with. */
  subscriptionsOf(sub: S): number {
    return this.#patterns.get(sub)?.size ?? 0;
  }

  /** Whether `sub` is subscribed with exactly `pattern`. */
  isSubscribed(sub: S, pattern: string): boolean {
    return this.#patterns.get(sub)?.has(pattern) === true;
  }

  /**
   * Subscribes `sub` to the sensors matching `pattern`, now and later.
   * Returns false (and changes nothing) when it already was.
   */
  subscribe(sub: S, pattern: string): boolean {
    let patterns = this.#patterns.get(sub);
    if (patterns === undefined) {
      patterns = new Map();
      this.#patterns.set(sub, patterns);
    }
    if (patterns.has(pattern)) return false;
    const match = compilePattern(pattern);
    patterns.set(pattern, match);
    this.#count++;
    for (const sensor of this.#store) {
      if (!match(sensor.name)) continue;
      const list = this.#bySensor[sensor.id];
      if (list === undefined) this.#bySensor[sensor.id] = this.#compute(sensor);
      else if (!list.includes(sub)) this.#bySensor[sensor.id] = [...list, sub];
    }
    return true;
  }

  /**
   * Removes `sub`'s subscription to `pattern`, or all of them when `pattern`
   * is undefined. Returns how many were removed.
   */
  unsubscribe(sub: S, pattern?: string): number {
    const patterns = this.#patterns.get(sub);
    if (patterns === undefined) return 0;
    let removed: number;
    if (pattern === undefined) {
      removed = patterns.size;
      patterns.clear();
    } else {
      removed = patterns.delete(pattern) ? 1 : 0;
    }
    if (removed === 0) return 0;
    this.#count -= removed;
    if (patterns.size === 0) this.#patterns.delete(sub);
    for (let id = 0; id < this.#bySensor.length; id++) {
      const list = this.#bySensor[id];
      if (list === undefined || !list.includes(sub)) continue;
      const name = this.#store.byId(id)?.name;
      if (name !== undefined && this.#matches(patterns, name)) continue;
      this.#bySensor[id] = list.length === 1 ? NONE : list.filter((s) => s !== sub);
    }
    return removed;
  }

  /** Removes every subscription of `sub` (it disconnected). Returns how many. */
  remove(sub: S): number {
    return this.unsubscribe(sub);
  }

  /** The subscribers that receive `sensor`'s readings, each once. */
  subscribersOf(sensor: Sensor): readonly S[] {
    return (this.#bySensor[sensor.id] ??= this.#compute(sensor));
  }

  /**
   * Sends the sensor's latest reading to its subscribers: the `PUB` line is
   * encoded once and the same string handed to each. Returns how many
   * subscribers accepted it.
   */
  publish(sensor: Sensor): number {
    const subs = this.#bySensor[sensor.id] ?? (this.#bySensor[sensor.id] = this.#compute(sensor));
    const n = subs.length;
    if (n === 0) return 0;
    const line = encodePubFields(sensor.name, sensor.lastValue, sensor.lastTimestampMs, sensor.seq);
    let delivered = 0;
    for (let i = 0; i < n; i++) if (subs[i]!.push(line)) delivered++;
    return delivered;
  }

  #compute(sensor: Sensor): readonly S[] {
    let list: S[] | undefined;
    for (const [sub, patterns] of this.#patterns) {
      if (this.#matches(patterns, sensor.name)) (list ??= []).push(sub);
    }
    return list ?? NONE;
  }

  #matches(patterns: Map<string, (name: string) => boolean>, name: string): boolean {
    for (const match of patterns.values()) if (match(name)) return true;
    return false;
  }
}
