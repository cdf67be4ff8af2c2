/**
 * @opc-lite/protocol — the opc-lite v1.1 wire contract (docs/PROTOCOL.md),
 * sans-I/O: parsers and encoders over `Uint8Array` and strings, no sockets,
 * no timers; and the mappings from the formats other tools send (InfluxDB
 * line protocol, Graphite plaintext, MQTT payloads) to readings.
 *
 * @packageDocumentation
 */
export {
  ERROR_CODES,
  CLOSING_ERROR_CODES,
  REJECT_REASONS,
  ProtocolError,
  isErrorCode,
  type ErrorCode,
  type RejectReason,
} from './errors.js';
export type { Reading, IngestReading, Bucket } from './types.js';
export {
  DEFAULT_PORT,
  DEFAULT_SENSOR,
  MAX_NAME_BYTES,
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_MAX_INFLUX_LINE_BYTES,
  MAX_DATAGRAM_BYTES,
  DEFAULT_MAX_REPLY_LINE_BYTES,
  MAX_TIMESTAMP_SECONDS,
  MAX_COUNT_ARG,
  MAX_TIME_MS,
  MAX_RANGE_POINTS,
  MAX_SEQ_ARG,
} from './limits.js';
export { parseTimeArg, formatTimeArg, resolveTime, type TimeArg, type TimeUnit } from './time-arg.js';
export { isValidName, isValidPattern, matchPattern, compilePattern } from './names.js';
export { parseNumber, formatValue } from './number.js';
export {
  parseDatagram,
  parseDatagramToArray,
  NameCache,
  encodeLegacy,
  encodeNative,
  encodeStatsdGauge,
  type DatagramSink,
  type ParseDatagramOptions,
  type NativeReadingInput,
} from './ingest.js';
export { parseInfluxLines, type InfluxPrecision, type ParseInfluxOptions } from './influx.js';
export { IngestDecoder, type IngestDecoderOptions } from './ingest-decoder.js';
export { mapMqttMessage, MQTT_MAP_DEFAULTS, type MqttMapOptions } from './mqtt.js';
export { toSensorName } from './name-builder.js';
export { IngestCollector } from './collector.js';
export {
  CommandDecoder,
  encodeCommand,
  isValidToken,
  MAX_TOKEN_BYTES,
  type Command,
  type CommandDecoderOptions,
} from './commands.js';
export {
  encodePollReply,
  encodeVal,
  encodePub,
  encodeValFields,
  encodePubFields,
  encodeSensor,
  encodeMore,
  encodeBucket,
  encodeBucketFields,
  encodeStat,
  encodeEnd,
  encodePong,
  encodeBye,
  encodeOk,
  encodeError,
  decodeReplyLine,
  ReplyDecoder,
  type Reply,
  type SensorSummary,
  type ReplyDecoderOptions,
} from './replies.js';
