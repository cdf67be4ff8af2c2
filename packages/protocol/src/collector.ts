/**
 * A sink that keeps everything it is told, for tests, tools and small
 * programs. Allocates per reading; the server uses a sink of its own.
 */
import { utf8Text } from './chars.js';
import type { RejectReason } from './errors.js';
import type { DatagramSink } from './ingest.js';
import type { IngestReading } from './types.js';

/**
 * A {@link DatagramSink} that collects readings, rejects (their lines
 * decoded as UTF-8) and the count of ignored parts, from any of the ingest
 * parsers. `undefined` stands for the sentinels (NaN timestamp, -1 seq).
 *
 * @example
 * ```ts
 * const sink = new IngestCollector();
 * mapMqttMessage('zigbee2mqtt/hall', new TextEncoder().encode('{"temperature":21.5,"state":"ON"}'), sink);
 * sink.readings; // [{ name: 'zigbee2mqtt/hall/temperature', value: 21.5, timestampMs: undefined, senderSeq: undefined }]
 * sink.ignoredCount; // 1
 * ```
 */
export class IngestCollector implements DatagramSink {
  readonly readings: IngestReading[] = [];
  readonly rejects: { reason: RejectReason; line: string }[] = [];
  /** Parts skipped for holding no number, summed over every `ignored` call. */
  ignoredCount = 0;

  reading(name: string, value: number, timestampMs: number, senderSeq: number): void {
    this.readings.push({
      name,
      value,
      timestampMs: Number.isNaN(timestampMs) ? undefined : timestampMs,
      senderSeq: senderSeq < 0 ? undefined : senderSeq,
    });
  }

  reject(reason: RejectReason, line: Uint8Array): void {
    this.rejects.push({ reason, line: utf8Text(line, 0, line.length) });
  }

  ignored(count: number): void {
    this.ignoredCount += count;
  }
}
