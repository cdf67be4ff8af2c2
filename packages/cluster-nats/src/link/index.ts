export { createClusterLink, type ClusterLink, type ClusterLinkState, type ClusterLinkStats } from './link.js';
export { ClusterLinkError, type ClusterLinkErrorCode } from './errors.js';
export {
  DEFAULTS,
  silentLogger,
  type ApplyFn,
  type ClusterLinkOptions,
  type ClusterLinkSettings,
  type Logger,
} from './options.js';
