/**
 * @opc-lite/reader-client — poll, query and subscribe to an opc-lite server
 * over TCP (docs/PROTOCOL.md, "TCP commands and replies"). The terminal chart
 * lives in the `./tui` subpath, so this entry never loads blessed.
 */
export { connect, createClient, OpcClient } from './client.js';
export type { ConnectionState, OpcClientEvents, RangeOptions, RequestOptions, TimeInput } from './client.js';
export { pollOnce } from './poll-once.js';
export type { PollOnceOptions } from './poll-once.js';
export { pollEvery } from './poll-loop.js';
export type { PollClient, PolledReading, PollEveryOptions } from './poll-loop.js';
export { Subscription } from './subscription.js';
export type { SubscribeOptions } from './subscription.js';
export { backoffDelayMs, DEFAULTS, RECONNECT_DEFAULTS } from './options.js';
export type { ConnectOptions, ReconnectOptions } from './options.js';
export { ConnectionError, TimeoutError, UnexpectedReplyError } from './errors.js';
export { TlsError } from './tls.js';
export type { TlsErrorCode, TlsOptions } from './tls.js';
export type { RangeBuckets, RangeReadings, StatsRecord } from './request.js';
export { ProtocolError } from '@opc-lite/protocol';
export type { Bucket, Reading, SensorSummary, TimeArg, TimeUnit } from '@opc-lite/protocol';
