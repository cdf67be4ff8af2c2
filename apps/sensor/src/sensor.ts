/**
 * The sensor loop, free of sockets and process: samples the waveform on a
 * drift-free clock, encodes each reading (PROTOCOL.md "UDP ingest": a native line, or the
 * legacy bare value) and hands datagrams to an injected `send`.
 *
 * Batching: a reading normally goes out alone, as soon as it is due. When the
 * loop is behind (Δt below the timer's granularity, a busy machine) the clock
 * yields every overdue sample at once; those are packed into one datagram, up
 * to `batchMax` readings and the packer's byte capacity. Legacy mode never
 * batches: the original server reads one value per datagram.
 */
import { encodeLegacy, encodeNative } from '@opc-lite/protocol';
import { createWaveform, sampleClock, systemClock, type Clock } from '@opc-lite/sawtooth-generator';
import type { SensorOptions } from './args.js';
import { DatagramPacker, DEFAULT_DATAGRAM_BYTES } from './packer.js';

/** What {@link runSensor} needs from the parsed options. */
export type SensorLoopOptions = Pick<
  SensorOptions,
  'intervalMs' | 'name' | 'periodMs' | 'amplitude' | 'offset' | 'phase' | 'width' | 'legacy' | 'count' | 'batchMax'
>;

/** Sends `buffer[0, length)` as one datagram; resolves with the error, if any, once the buffer may be reused. */
export type SendDatagram = (buffer: Buffer, length: number) => Promise<Error | undefined>;

/** Counters for the exit summary. */
export interface SensorSummary {
  /** Readings in datagrams that were sent without error. */
  readings: number;
  /** Datagrams sent without error. */
  datagrams: number;
  /** Samples yielded later than the clock's tolerance. */
  lateTicks: number;
  /** Failed sends (datagrams). */
  sendErrors: number;
  /** Readings in datagrams whose send failed. */
  unsentReadings: number;
  /** From start to the last send, in milliseconds. */
  elapsedMs: number;
}

/**
 * Runs the sensor until `count` readings were produced or `signal` aborts, and
 * returns the counters. Never rejects because of a send error (those are
 * counted); rejects only on a programming error (e.g. invalid options).
 *
 * @example
 * ```ts
 * const summary = await runSensor({
 *   options: { intervalMs: 50, name: 'ramp', periodMs: 1000, amplitude: 1, offset: 0, phase: 0, width: 1,
 *              legacy: false, count: 20, batchMax: 64 },
 *   send: (buffer, length) =>
 *     new Promise((resolve) => socket.send(buffer, 0, length, 7330, '127.0.0.1', (error) => resolve(error ?? undefined))),
 * });
 * console.error(formatSummary(summary));
 * ```
 */
export async function runSensor(run: {
  options: SensorLoopOptions;
  send: SendDatagram;
  clock?: Clock;
  signal?: AbortSignal;
  datagramBytes?: number;
}): Promise<SensorSummary> {
  const { options, send } = run;
  const clock = run.clock ?? systemClock;
  const waveform = createWaveform({
    periodMs: options.periodMs,
    amplitude: options.amplitude,
    offset: options.offset,
    phase: options.phase,
    width: options.width,
  });
  const packer = new DatagramPacker(run.datagramBytes ?? DEFAULT_DATAGRAM_BYTES);
  const batchMax = options.legacy ? 1 : options.batchMax;
  const summary: SensorSummary = {
    readings: 0,
    datagrams: 0,
    lateTicks: 0,
    sendErrors: 0,
    unsentReadings: 0,
    elapsedMs: 0,
  };

  const flush = async (): Promise<void> => {
    if (packer.lines === 0) return;
    const error = await send(packer.buffer, packer.byteLength);
    if (error === undefined) {
      summary.datagrams++;
      summary.readings += packer.lines;
    } else {
      summary.sendErrors++;
      summary.unsentReadings += packer.lines;
    }
    packer.reset();
  };

  const startTime = clock.now();
  const ticks = sampleClock({
    intervalMs: options.intervalMs,
    waveform,
    clock,
    startTime,
    ...(options.count === undefined ? {} : { count: options.count }),
    ...(run.signal === undefined ? {} : { signal: run.signal }),
  });
  // PROTOCOL.md "Loss accounting": sender-seq counts readings from 1.
  let seq = 0;
  for await (const tick of ticks) {
    seq++;
    const line = options.legacy
      ? encodeLegacy(tick.value)
      : encodeNative({ name: options.name, value: tick.value, timestampMs: tick.dueTime, senderSeq: seq });
    if (!packer.tryAppend(line)) {
      await flush();
      packer.tryAppend(line);
    }
    // Send now unless the next sample is already due: then it joins this datagram.
    if (packer.lines >= batchMax || ticks.overdue === 0) await flush();
  }
  await flush();
  summary.lateTicks = ticks.late;
  summary.elapsedMs = clock.now() - startTime;
  return summary;
}

/**
 * One line for the exit summary.
 *
 * @example
 * ```ts
 * formatSummary({ readings: 50, datagrams: 48, lateTicks: 2, sendErrors: 0, unsentReadings: 0, elapsedMs: 500 });
 * // '50 readings sent in 48 datagrams over 0.50 s (100.0 readings/s); 2 late ticks, 0 send errors'
 * ```
 */
export function formatSummary(summary: SensorSummary): string {
  const seconds = summary.elapsedMs / 1000;
  const rate = seconds > 0 ? summary.readings / seconds : 0;
  const unsent = summary.unsentReadings > 0 ? ` (${plural(summary.unsentReadings, 'reading')} not sent)` : '';
  return (
    `${plural(summary.readings, 'reading')} sent in ${plural(summary.datagrams, 'datagram')} ` +
    `over ${seconds.toFixed(2)} s (${rate.toFixed(1)} readings/s); ` +
    `${plural(summary.lateTicks, 'late tick')}, ${plural(summary.sendErrors, 'send error')}${unsent}`
  );
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
