/**
 * @opc-lite/web — HTTP for the opc-lite telemetry hub (docs/HTTP.md): a JSON API over the server's sensors and
 * history, readings as Server-Sent Events that resume without a gap, `/metrics` for Prometheus, and a live
 * chart page, on `node:http` alone.
 *
 * @packageDocumentation
 */
export { createWebHandler, type WebHandler, type SensorInfo } from './handler.js';
export { startWebServer, DEFAULT_HTTP_PORT, type WebServer, type WebServerOptions } from './web-server.js';
export { WEB_DEFAULTS, resolveWebOptions, type WebOptions, type WebLimits, type WebLogger } from './options.js';
export { HttpError, WebError, type HttpErrorCode } from './errors.js';
export { parseEventId } from './stream.js';
export { STAT_METRICS, type StatMetric } from './metrics.js';
