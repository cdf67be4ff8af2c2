export {
  BATCH_FORMAT_VERSION,
  MAX_NAME_BYTES,
  MAX_NODE_NAME_BYTES,
  MAX_READING_BYTES,
  BatchEncoder,
  checkReading,
  decodeBatch,
  encodeBatch,
  isValidName,
  isValidNodeName,
  toReadings,
  type Reading,
  type ReadingBatch,
} from './batch.js';
export { BatchDecodeError } from './errors.js';
