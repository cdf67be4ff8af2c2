/** Test helpers: real nats-server processes on loopback, a proxy that loses replies, recording callbacks. */
export {
  NATS_SERVER_BIN,
  NatsClusterError,
  freePorts,
  startNatsCluster,
  type NatsCluster,
  type NatsClusterOptions,
  type NatsNode,
} from './nats-cluster.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
export {
  memoryLogger,
  recordApplied,
  type AppliedBatch,
  type ApplyRecorder,
  type LogLine,
  type MemoryLogger,
} from './recorders.js';
