/**
 * Ingest over a byte stream (a TCP ingest port, Graphite's plaintext
 * protocol, Telegraf's `socket_writer`): the lines of {@link parseDatagram},
 * or of {@link parseInfluxLines}, arriving in chunks cut anywhere.
 *
 * How it works: the complete lines of a chunk are parsed in place, in one
 * call over the span from the first line start to the last LF; only a line
 * split across chunks is copied into a buffer, which never grows past
 * `maxLineBytes`. A line that proves longer than that is refused once, as
 * `line-too-long`, and the rest of it is skipped up to its LF with
 * `indexOf`, buffering nothing. So the readings and reject reasons are the
 * same however the stream is cut, and the same as parsing it whole.
 */
import { LF } from './chars.js';
import { checkMaxLineBytes, parseDatagram, type DatagramSink, type ParseDatagramOptions } from './ingest.js';
import { parseInfluxSpan, precisionShift } from './influx.js';
import { DEFAULT_MAX_INFLUX_LINE_BYTES, DEFAULT_MAX_LINE_BYTES } from './limits.js';
import { LineBuffer } from './line-buffer.js';

/**
 * Options of {@link IngestDecoder}: those of {@link parseDatagram}, and the
 * format of the stream.
 *
 * @example
 * ```ts
 * const graphite: IngestDecoderOptions = { sanitizeNames: true }; // a Graphite plaintext port
 * const telegraf: IngestDecoderOptions = { format: 'influx', influxPrecision: 's' };
 * ```
 */
export interface IngestDecoderOptions extends ParseDatagramOptions {
  /**
   * `'auto'` (the default): every line is read as {@link parseDatagram} reads
   * a datagram's lines (native and Graphite, StatsD gauges, bare numbers,
   * InfluxDB line protocol). `'influx'`: only line protocol, as
   * {@link parseInfluxLines} reads it (then `influx` and `sanitizeNames` do
   * not apply).
   */
  readonly format?: 'auto' | 'influx';
  /**
   * Longest line, counting every byte before its LF (a CR included). Default
   * {@link DEFAULT_MAX_LINE_BYTES} for `'auto'`, as on UDP, and
   * {@link DEFAULT_MAX_INFLUX_LINE_BYTES} for `'influx'`.
   */
  readonly maxLineBytes?: number;
}

/**
 * Decodes an ingest stream: `push(chunk, sink)` reports to `sink` every line
 * the chunk completes, `end(sink)` the last line if the stream did not end
 * with an LF. A Graphite plaintext line, `path value timestamp`, is a native
 * line (PROTOCOL.md "UDP ingest"): collectd's `write_graphite`
 * (`host.cpu-0.cpu-idle 98.5 1764316800\r\n`) and Netdata
 * (`netdata.host.system.cpu.user 1.25 1764316800\n`) are read as they are;
 * with `sanitizeNames`, so are paths with characters outside the name
 * alphabet (collectd 6's `name.key=value`, Graphite tags `path;tag=value`).
 * Never throws for any input.
 *
 * @example
 * ```ts
 * const decoder = new IngestDecoder({ sanitizeNames: true, nameCache: new NameCache() });
 * const sink: DatagramSink = { reading: (name, value, ts) => console.log(name, value, ts), reject: console.log };
 * socket.on('data', (chunk: Buffer) => decoder.push(chunk, sink));
 * socket.on('end', () => decoder.end(sink));
 * // host_example_com.cpu-0.cpu-idle 98.5 1764316800000
 * ```
 */
export class IngestDecoder {
  readonly #max: number;
  readonly #influx: boolean;
  readonly #shift: number;
  readonly #options: ParseDatagramOptions;
  readonly #pending: LineBuffer;
  /** Inside a line already refused as too long: drop bytes up to its LF. */
  #skipping = false;

  /** Validates the options: TypeError or RangeError for a bad one. */
  constructor(options: IngestDecoderOptions = {}) {
    const format = options.format ?? 'auto';
    if (format !== 'auto' && format !== 'influx') {
      throw new RangeError(`format must be 'auto' or 'influx', got ${JSON.stringify(format)}`);
    }
    this.#influx = format === 'influx';
    this.#max = checkMaxLineBytes(
      options.maxLineBytes,
      this.#influx ? DEFAULT_MAX_INFLUX_LINE_BYTES : DEFAULT_MAX_LINE_BYTES,
    );
    this.#shift = precisionShift(options.influxPrecision);
    this.#options = { ...options, maxLineBytes: this.#max };
    this.#pending = new LineBuffer(this.#max);
  }

  /** Bytes of an unfinished line held until its LF arrives (at most `maxLineBytes`). */
  get pendingBytes(): number {
    return this.#pending.length;
  }

  /** Reports to `sink` every line `chunk` completes; keeps the unfinished last line. */
  push(chunk: Uint8Array, sink: DatagramSink): void {
    const n = chunk.length;
    const pending = this.#pending;
    let from = 0;
    if (this.#skipping) {
      const lf = chunk.indexOf(LF);
      if (lf < 0) return;
      this.#skipping = false;
      from = lf + 1;
    } else if (pending.length > 0) {
      const lf = chunk.indexOf(LF);
      const take = lf < 0 ? n : lf;
      if (pending.length + take > this.#max) {
        sink.reject('line-too-long', pending.bytes.subarray(0, pending.length));
        pending.length = 0;
        if (lf < 0) {
          this.#skipping = true;
          return;
        }
      } else {
        pending.append(chunk, 0, take);
        if (lf < 0) return;
        this.#parse(pending.bytes.subarray(0, pending.length), sink);
        pending.length = 0;
      }
      from = lf + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= from) {
      this.#parse(chunk.subarray(from, last + 1), sink);
      from = last + 1;
    }
    if (from < n) {
      if (n - from > this.#max) {
        sink.reject('line-too-long', chunk.subarray(from, n));
        this.#skipping = true;
      } else {
        pending.append(chunk, from, n);
      }
    }
  }

  /** Reports the last line if the stream ended without an LF, and starts over. */
  end(sink: DatagramSink): void {
    const pending = this.#pending;
    if (!this.#skipping && pending.length > 0) this.#parse(pending.bytes.subarray(0, pending.length), sink);
    pending.length = 0;
    this.#skipping = false;
  }

  #parse(span: Uint8Array, sink: DatagramSink): void {
    if (this.#influx) parseInfluxSpan(span, sink, this.#max, this.#shift, this.#options.nameCache);
    else parseDatagram(span, sink, this.#options);
  }
}
