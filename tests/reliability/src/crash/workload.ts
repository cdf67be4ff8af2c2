/**
 * The load of a crash round: UDP senders in this process, each owning some
 * sensors, sending native lines `name value ts_seconds sender_seq`
 * (docs/PROTOCOL.md, "Native") at a bounded rate and count, and the ground
 * truth of what was sent: per sensor, every (timestamp, value) sent and its
 * sender-seq.
 *
 * Every value is unique within its sensor (the sender-seq is its integer
 * part), so the legacy poll's bare value still names one reading.
 * Timestamps rise with the sender-seq, are whole milliseconds and stay in the
 * past (so `RANGE name 0 now` covers them) and within the server's default
 * retention. Some sensors step their timestamps by a minute, so that their
 * chunks span two hours after about 120 readings and are cut into chunk
 * files (docs/STORAGE.md, "Chunks") within a short round. A round runs
 * one or more crash cycles; some sensors start sending only in a later one,
 * so that new series appear after a recovery.
 */
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as delay } from 'node:timers/promises';
import type { Rng } from './rng.js';

/** Every name a round may use; `default` (the sensor of the legacy poll `n`) is always among them. */
export const SENSOR_NAMES = Object.freeze([
  'default',
  'plant1/boiler.temp',
  'plant1/boiler.pressure',
  'plant1/pump-2.rpm',
  'plant1/pump-2.temp',
  'plant1/valve/7',
  'plant2/tank_A.level',
  'plant2/tank_A.temp',
  'plant2/valve/8',
  'line-3/speed',
  'line-3/motor.temp',
  'line-3/motor.current',
  'hall.humidity',
  'hall.temp',
  'roof/wind',
  'roof/sun',
  'grid.voltage',
  'grid.freq',
  'gate',
  'x',
]);

/** The timestamp steps a sensor may use, in ms (the last one cuts chunks by their two-hour span). */
const STEPS_MS = [1, 3, 17, 61_007] as const;

/** A reading as a sender sent it. */
export interface SentReading {
  readonly name: string;
  readonly value: number;
  readonly timestampMs: number;
  readonly senderSeq: number;
}

/** Per sensor: `truthKey(ts, value)` → the sender-seq it was sent with. */
export type GroundTruth = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** The key of a reading in the {@link GroundTruth}. */
export const truthKey = (timestampMs: number, value: number): string => `${timestampMs}|${value}`;

interface SensorState {
  readonly name: string;
  /** The first cycle in which it sends. */
  readonly fromCycle: number;
  readonly stepMs: number;
  readonly sign: 1 | -1;
  senderSeq: number;
  timestampMs: number;
}

/** Options of {@link Workload.run}. */
export interface RunOptions {
  /** Stop once this run has sent this many readings. */
  maxReadings: number;
  /** Checked before every datagram: stop when it returns true. */
  stop: () => boolean;
  /** Called after each reading is put in a datagram, with the number this run has sent. */
  onReading?: (sent: number) => void;
}

/**
 * The senders and sensors of one round.
 *
 * @example
 * ```ts
 * const load = await Workload.open(new Rng(seed), { maxReadings: 5000, cycles: 1 });
 * await load.run(port, { maxReadings: 5000, stop: () => killed });
 * load.close();
 * ```
 */
export class Workload {
  /** The crash cycle the round is in (sensors with a later `fromCycle` send nothing yet). */
  cycle = 0;
  /** Readings sent so far, in all. */
  total = 0;
  readonly #truth = new Map<string, Map<string, number>>();
  readonly #sensors: SensorState[];
  readonly #senders: { socket: Socket; sensors: SensorState[]; rng: Rng }[];

  private constructor(sensors: SensorState[], senders: { socket: Socket; sensors: SensorState[]; rng: Rng }[]) {
    this.#sensors = sensors;
    this.#senders = senders;
    for (const s of sensors) this.#truth.set(s.name, new Map());
  }

  /** The names of the sensors that send in this cycle or sent before, `default` first. */
  get names(): string[] {
    return this.#active().map((s) => s.name);
  }

  /**
   * Picks 5 to 20 sensors, their timestamp steps and the cycle each starts
   * sending in (`default` and most others: the first), and opens 2 to 4
   * sender sockets. `maxReadings` bounds every reading the round will send
   * (the runs and the readings after each restart), so the first timestamp
   * can be set far enough back that the last one is still in the past.
   */
  static async open(rng: Rng, { maxReadings, cycles }: { maxReadings: number; cycles: number }): Promise<Workload> {
    const count = rng.int(5, SENSOR_NAMES.length);
    const names = ['default', ...shuffle(SENSOR_NAMES.slice(1), rng).slice(0, count - 1)];
    const now = Date.now();
    const sensors: SensorState[] = names.map((name, i) => {
      // At least one sensor (the second) cuts chunks by their span, so every round writes chunk files.
      const stepMs = i === 1 ? STEPS_MS[STEPS_MS.length - 1]! : rng.pick(STEPS_MS);
      const fromCycle = i === 0 || rng.chance(0.7) ? 0 : rng.int(0, cycles - 1);
      // The whole round fits before `now` even if every reading goes to this sensor.
      const start = now - 60_000 - (maxReadings + 1) * stepMs - rng.int(0, 999);
      return { name, fromCycle, stepMs, sign: rng.chance(0.3) ? -1 : 1, senderSeq: 0, timestampMs: start };
    });
    const senderCount = Math.min(rng.int(2, 4), sensors.length);
    const senders = await Promise.all(
      Array.from({ length: senderCount }, async (_, i) => {
        const socket = createSocket('udp4');
        // A datagram sent while the server is down is lost, as it would be on a network.
        socket.on('error', () => {});
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        return { socket, sensors: sensors.filter((_, j) => j % senderCount === i), rng: rng.fork() };
      }),
    );
    return new Workload(sensors, senders);
  }

  /** What was sent, per sensor. */
  get truth(): GroundTruth {
    return this.#truth;
  }

  /** The timestamp of the latest reading sent of `name` (before the first: its start), and its step. */
  latest(name: string): { timestampMs: number; stepMs: number } {
    const s = this.#sensors.find((x) => x.name === name);
    if (s === undefined) throw new RangeError(`no sensor ${name} in this round`);
    return { timestampMs: s.timestampMs, stepMs: s.stepMs };
  }

  /**
   * Sends until `stop()`, or until this run has sent `maxReadings` readings:
   * every sender, in parallel, puts one to three readings of its sensors in a
   * datagram (now and then a burst of 50 to 300, so that one turn's log
   * write can outgrow a segment), sends it, and waits a millisecond (pacing,
   * so that the kernel's receive buffer is never the bottleneck). Resolves
   * with the number sent.
   */
  async run(port: number, options: RunOptions): Promise<number> {
    let sent = 0;
    await Promise.all(
      this.#senders.map(async (sender) => {
        while (!options.stop() && sent < options.maxReadings) {
          const sensors = sender.sensors.filter((s) => s.fromCycle <= this.cycle);
          const lines: string[] = [];
          const size = sender.rng.chance(0.01) ? sender.rng.int(50, 300) : sender.rng.int(1, 3);
          for (let n = size; n > 0 && sensors.length > 0 && sent < options.maxReadings; n--) {
            lines.push(this.#next(sender.rng.pick(sensors)));
            options.onReading?.(++sent);
          }
          if (lines.length > 0) await send(sender.socket, port, lines.join('\n'));
          await delay(1);
        }
      }),
    );
    return sent;
  }

  /** Sends `count` more readings of every sensor of the cycle, one datagram per sensor and round; returns them per sensor. */
  async sendEach(port: number, count: number): Promise<Map<string, SentReading[]>> {
    const out = new Map<string, SentReading[]>(this.names.map((name) => [name, []]));
    for (let i = 0; i < count; i++) {
      for (const sender of this.#senders) {
        for (const sensor of sender.sensors.filter((s) => s.fromCycle <= this.cycle)) {
          const line = this.#next(sensor);
          out.get(sensor.name)!.push(this.#sent(sensor));
          await send(sender.socket, port, line);
        }
      }
    }
    return out;
  }

  /**
   * Sends readings of `name` again, as a sender retransmitting does (one
   * datagram, from the socket that sent them): the server must count each as
   * a duplicate and store none.
   */
  async resend(port: number, name: string, readings: readonly SentReading[]): Promise<void> {
    const sender = this.#senders.find((s) => s.sensors.some((x) => x.name === name));
    if (sender === undefined) throw new RangeError(`no sensor ${name} in this round`);
    await send(sender.socket, port, readings.map(nativeLine).join('\n'));
  }

  close(): void {
    for (const { socket } of this.#senders) socket.close();
  }

  #active(): SensorState[] {
    return this.#sensors.filter((s) => s.fromCycle <= this.cycle);
  }

  /** The next reading of `sensor`: recorded in the ground truth, returned as a native line. */
  #next(sensor: SensorState): string {
    sensor.senderSeq++;
    sensor.timestampMs += sensor.stepMs;
    this.total++;
    const reading = this.#sent(sensor);
    this.#truth.get(sensor.name)!.set(truthKey(reading.timestampMs, reading.value), reading.senderSeq);
    return nativeLine(reading);
  }

  #sent(sensor: SensorState): SentReading {
    // The integer part is the sender-seq, so no two readings of a sensor share a value.
    const millis = sensor.senderSeq * 1000 + ((sensor.senderSeq * 7919) % 1000);
    return {
      name: sensor.name,
      value: (sensor.sign * millis) / 1000,
      timestampMs: sensor.timestampMs,
      senderSeq: sensor.senderSeq,
    };
  }
}

/** `name value ts_seconds sender_seq`, the timestamp's milliseconds written as three decimals. */
function nativeLine({ name, value, timestampMs, senderSeq }: SentReading): string {
  const seconds = `${Math.floor(timestampMs / 1000)}.${String(timestampMs % 1000).padStart(3, '0')}`;
  return `${name} ${value} ${seconds} ${senderSeq}`;
}

function send(socket: Socket, port: number, text: string): Promise<void> {
  return new Promise((resolve) => socket.send(text, port, '127.0.0.1', () => resolve()));
}

function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
