/**
 * @opc-lite/cluster-nats: shares opc-lite readings between server nodes through a NATS JetStream stream. Each node
 * publishes the readings it ingests, one batch per event-loop turn, and every node applies the stream in stream
 * order. The guarantees and the batch format: the package README.
 */
export {
  createClusterLink,
  ClusterLinkError,
  DEFAULTS,
  silentLogger,
  type ApplyFn,
  type ClusterLink,
  type ClusterLinkErrorCode,
  type ClusterLinkOptions,
  type ClusterLinkSettings,
  type ClusterLinkState,
  type ClusterLinkStats,
  type Logger,
} from './link/index.js';
export {
  BATCH_FORMAT_VERSION,
  BatchDecodeError,
  BatchEncoder,
  decodeBatch,
  encodeBatch,
  isValidName,
  isValidNodeName,
  toReadings,
  type Reading,
  type ReadingBatch,
} from './codec/index.js';
export {
  attachCluster,
  type AttachClusterOptions,
  type AttachedCluster,
  type ClusterStats,
  type ReplicableServer,
} from './attach/attach.js';
