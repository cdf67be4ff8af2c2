/**
 * @opc-lite/opc-server — the opc-lite telemetry hub as a library: UDP ingest,
 * TCP queries and push subscriptions on one port number (docs/PROTOCOL.md, docs/ARCHITECTURE.md), plus
 * the transport-free core it is built from (store, hub, session).
 *
 * @packageDocumentation
 */
export {
  createOpcServer,
  type OpcServer,
  type OpcServerAddress,
  type OpcServerEvents,
  type ClientInfo,
  type IngestResult,
  type IngestOptions,
  type IngestSource,
  INGEST_SAMPLES,
  INGEST_SOURCES,
} from './server.js';
export { TcpIngest, type TcpIngestOptions } from './ingest-tcp.js';
export {
  DEFAULTS,
  OpcServerError,
  resolveOptions,
  INTEGER_RULES,
  type IntegerRule,
  silentLogger,
  type Logger,
  type OpcServerOptions,
  type OpcServerLimits,
  type ResolvedOptions,
} from './options.js';
export {
  Counters,
  SourceCounters,
  buildStats,
  type OpcServerStats,
  type StatsGauges,
  type RejectedStatKey,
} from './stats.js';
export {
  CLUSTER_STATES,
  noReplicationStats,
  ReplicationError,
  type ReplicaApplier,
  type ReplicationStats,
  type Replicator,
} from './replication.js';
export { SensorStore, Sensor, type SensorStoreOptions, type IngestDropReason } from './store.js';
export { LossTracker, SEQ_WINDOW, RESTART_DISTANCE, RESTART_LOW_SEQ, type LossCounts } from './loss.js';
export { Hub, type Subscriber } from './hub.js';
export {
  RingHistory,
  type HistoryReader,
  type RangeResult,
  type ReadingVisitor,
  type BucketVisitor,
} from './history.js';
export {
  Session,
  type SessionContext,
  type SessionLimits,
  type SessionInfo,
  type SessionCloseReason,
} from './session.js';
export { WriteScheduler, type Flushable } from './write-scheduler.js';
export { CommandTimes, COMMAND_TIME_BUCKETS, COMMAND_VERBS, sharesRun, type CommandVerb } from './command-times.js';
export type { SensorSummary } from '@opc-lite/protocol';
export {
  memoryStorageStats,
  STORAGE_DEFAULTS,
  STORAGE_INTEGER_RULES,
  type StorageOptions,
  type StorageStats,
} from './storage.js';
export {
  addressOf,
  Authenticator,
  AuthFileError,
  AuthSession,
  FAILURE_DEFAULTS,
  FailureLimiter,
  generateToken,
  hashToken,
  loadAuthFile,
  NO_RIGHTS,
  parseAuthFile,
  parseTokenHash,
  Rights,
  SCRYPT_DEFAULTS,
  verifyToken,
  type AuthCheck,
  type AuthConfig,
  type AuthenticatorOptions,
  type Denial,
  type FailureLimits,
  type Holder,
  type ReloadResult,
  type ScryptParams,
  type TokenEntry,
  type TokenHash,
} from './auth/index.js';
export { UdpAllowList, type UdpRefusal } from './auth/udp-allow.js';
export {
  TLS_HANDSHAKE_TIMEOUT_MS,
  TLS_MIN_VERSION,
  TlsConfigError,
  TlsCredentials,
  TlsPort,
  type TlsCertificateInfo,
  type TlsConfigErrorCode,
  type TlsFiles,
  type TlsMaterial,
  type TlsPortOptions,
} from './tls/index.js';
