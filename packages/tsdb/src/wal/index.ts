export {
  Wal,
  WAL_DEFAULTS,
  MIN_SEGMENT_BYTES,
  segmentName,
  type WalOptions,
  type ReplayOptions,
  type ReplayReport,
} from './wal.js';
export { WalCorruptError, WalVersionError, WalClosedError } from './errors.js';
export {
  FORMAT_VERSION,
  MAX_PAYLOAD_BYTES,
  RECORD_HEADER_BYTES,
  RECORD_MAGIC,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  checkSegmentHeader,
  encodeFrame,
  encodeSegmentHeader,
  frameBytes,
  scanSegment,
  validFrameAt,
  type Damage,
  type SegmentHeaderCheck,
  type SegmentScan,
} from './framing.js';
