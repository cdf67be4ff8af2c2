/**
 * Wire-level constants of the v1 contract (PROTOCOL.md "Readings, names and numbers"). Every limit a parser applies
 * is named here, in the unit its name says.
 */

/**
 * The default port number, shared by UDP ingest and the TCP command protocol (PROTOCOL.md "Readings, names and numbers").
 *
 * @example
 * ```ts
 * import { DEFAULT_PORT } from '@opc-lite/protocol';
 * socket.send('0.35', DEFAULT_PORT, '127.0.0.1');
 * ```
 */
export const DEFAULT_PORT = 7330;

/**
 * The sensor that legacy bare-number datagrams write to and that the legacy
 * `n` poll reads (PROTOCOL.md "UDP ingest", "Legacy poll: n").
 *
 * @example
 * ```ts
 * import { DEFAULT_SENSOR } from '@opc-lite/protocol';
 * store.latest(DEFAULT_SENSOR);
 * ```
 */
export const DEFAULT_SENSOR = 'default';

/**
 * The longest sensor name or pattern, in bytes (PROTOCOL.md "Readings, names and numbers": 1 to 128 bytes).
 *
 * @example
 * ```ts
 * import { MAX_NAME_BYTES } from '@opc-lite/protocol';
 * 'a'.repeat(MAX_NAME_BYTES + 1); // not a valid name
 * ```
 */
export const MAX_NAME_BYTES = 128;

/**
 * The default limit on one UDP line or one TCP command line, in bytes. Every
 * byte before the LF counts, a CR included.
 *
 * @example
 * ```ts
 * import { CommandDecoder, DEFAULT_MAX_LINE_BYTES } from '@opc-lite/protocol';
 * new CommandDecoder({ maxLineBytes: DEFAULT_MAX_LINE_BYTES });
 * ```
 */
export const DEFAULT_MAX_LINE_BYTES = 1024;

/**
 * The default limit on one line of {@link parseInfluxLines} (an HTTP write
 * body), in bytes (64 KiB, InfluxDB's limit on a string field). Telegraf's
 * lines with many fields run to a kilobyte and more, so an HTTP body gets a
 * larger limit than a UDP line.
 *
 * @example
 * ```ts
 * import { parseInfluxLines, DEFAULT_MAX_INFLUX_LINE_BYTES } from '@opc-lite/protocol';
 * parseInfluxLines(body, sink, { maxLineBytes: DEFAULT_MAX_INFLUX_LINE_BYTES });
 * ```
 */
export const DEFAULT_MAX_INFLUX_LINE_BYTES = 65536;

/**
 * The largest UDP payload over IPv4 (65535 − 8 byte UDP header − 20 byte IP header).
 *
 * @example
 * ```ts
 * import { MAX_DATAGRAM_BYTES } from '@opc-lite/protocol';
 * if (payload.byteLength > MAX_DATAGRAM_BYTES) throw new RangeError('datagram too large');
 * ```
 */
export const MAX_DATAGRAM_BYTES = 65507;

/**
 * The default limit on one reply line read by {@link ReplyDecoder}, in bytes (64 KiB).
 *
 * @example
 * ```ts
 * import { ReplyDecoder, DEFAULT_MAX_REPLY_LINE_BYTES } from '@opc-lite/protocol';
 * new ReplyDecoder({ maxLineBytes: DEFAULT_MAX_REPLY_LINE_BYTES });
 * ```
 */
export const DEFAULT_MAX_REPLY_LINE_BYTES = 65536;

/**
 * Sender timestamps must be below this many Unix seconds (the year 5138).
 * A larger number is almost always milliseconds sent by mistake and is
 * rejected as `bad-timestamp` (PROTOCOL.md "UDP ingest").
 *
 * @example
 * ```ts
 * import { MAX_TIMESTAMP_SECONDS } from '@opc-lite/protocol';
 * Date.now() / 1000 < MAX_TIMESTAMP_SECONDS; // true
 * Date.now() < MAX_TIMESTAMP_SECONDS; // false: milliseconds are out of range
 * ```
 */
export const MAX_TIMESTAMP_SECONDS = 1e11;

/**
 * The largest count a command accepts as an argument (`HIST <name> <n>`,
 * `SUB <pattern> <backlog>`): 2^31 − 1.
 *
 * @example
 * ```ts
 * import { MAX_COUNT_ARG } from '@opc-lite/protocol';
 * `HIST ramp ${MAX_COUNT_ARG}`; // accepted by the decoder
 * ```
 */
export const MAX_COUNT_ARG = 2147483647;

/**
 * Times in a `RANGE` command (v1.1) are below this many Unix epoch
 * milliseconds, the same bound as sender timestamps (`MAX_TIMESTAMP_SECONDS`
 * seconds); a relative time reaches at most this far back.
 *
 * @example
 * ```ts
 * import { MAX_TIME_MS } from '@opc-lite/protocol';
 * `RANGE ramp 0 ${MAX_TIME_MS - 1}`; // the widest absolute range
 * ```
 */
export const MAX_TIME_MS = MAX_TIMESTAMP_SECONDS * 1000;

/**
 * The most buckets one `RANGE <name> <from> <to> <points>` asks for (v1.1).
 *
 * @example
 * ```ts
 * import { MAX_RANGE_POINTS } from '@opc-lite/protocol';
 * `RANGE ramp -7d now ${MAX_RANGE_POINTS}`; // accepted by the decoder
 * ```
 */
export const MAX_RANGE_POINTS = 100_000;

/**
 * The largest seq an `AFTER <name> <seq>` accepts (v1.1): 2^53 − 1, as far as
 * a server seq can count.
 *
 * @example
 * ```ts
 * import { MAX_SEQ_ARG } from '@opc-lite/protocol';
 * `AFTER ramp ${MAX_SEQ_ARG}`; // accepted by the decoder
 * ```
 */
export const MAX_SEQ_ARG = Number.MAX_SAFE_INTEGER;
