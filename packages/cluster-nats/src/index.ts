/**
 * @opc-lite/cluster-nats: shares opc-lite readings between server nodes through a NATS JetStream stream.
 * The batch format: the package README, "Batch format".
 */
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
