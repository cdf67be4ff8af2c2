/**
 * `opc-server`: argument parsing, logging, signals and wiring around
 * `createOpcServer`. Every behaviour worth testing lives in the library.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import {
  createOpcServer,
  DEFAULTS,
  OpcServerError,
  STORAGE_DEFAULTS,
  TcpIngest,
  type OpcServer,
} from '@opc-lite/opc-server';
import { startWebServer, WebError, type WebServer } from '@opc-lite/web';
import { attachCluster, ClusterLinkError } from '@opc-lite/cluster-nats';
import { MqttBridgeError, startMqttBridge, type MqttBridge } from '@opc-lite/mqtt';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { exposureWarning, hashTokenCommand, loadAuth, reloadAuth } from './auth-cli.js';
import { helpText, parseCli, UsageError, type CliCommand } from './options.js';
import { RejectLog } from './reject-log.js';
import { loadTls, reloadTls } from './tls-cli.js';
import { finalSummary, rateSummary } from './summary.js';

const readVersion = (): string => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
};

/** One line on stderr, then exit: the shape of every user-facing failure. */
const fail = (message: string, exitCode: number): never => {
  process.stderr.write(`opc-server: ${message}\n`);
  process.exit(exitCode);
};

const createLogger = (command: Extract<CliCommand, { kind: 'run' }>): Logger => {
  const format = command.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const options = { name: 'opc-server', level: command.logLevel };
  if (format === 'pretty') {
    return pino(options, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true }));
  }
  return pino(options, pino.destination({ dest: 2, sync: true }));
};

const describeListenError = (err: unknown, host: string, port: number): string => {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} is already in use on ${host} (UDP or TCP); stop the other process or choose another port with --port`;
    case 'EACCES':
      return `not allowed to listen on ${host}:${port}; ports below 1024 need privileges`;
    case 'EADDRNOTAVAIL':
      return `cannot bind ${host}: no such address on this machine`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host '${host}'`;
    default:
      return `cannot listen on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`;
  }
};

const describeHttpError = (err: WebError, host: string, port: number): string =>
  err.code === 'EADDRINUSE'
    ? `HTTP port ${port} is already in use on ${host}; stop the other process, choose another port with --http-port, or turn HTTP off with --http-port 0`
    : `cannot serve HTTP on ${host}:${port}: ${err.message}`;

/** The TCP ingest port could not be had. */
class IngestListenError extends Error {
  override readonly name = 'IngestListenError';
  readonly code = 'ERR_INGEST_LISTEN';
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** OPC_MQTT_CA_FILE's PEM text (docs/INGEST.md, "MQTT over TLS"); exits 2 when it cannot be read. */
const readMqttCa = (file: string): Buffer => {
  try {
    return readFileSync(file);
  } catch (err) {
    return fail(`OPC_MQTT_CA_FILE cannot be read: ${err instanceof Error ? err.message : String(err)}`, 2);
  }
};

const STORAGE_ERRORS = new Set(['ERR_LOCKED', 'ERR_DATA_DIR', 'ERR_CORRUPT']);

const describeStorageError = (err: OpcServerError): string => {
  switch (err.code) {
    case 'ERR_LOCKED':
      return `the data directory is in use: ${err.message}; stop that server or choose another --data-dir`;
    case 'ERR_CORRUPT':
      return `the data directory is damaged: ${err.message}; start with --recovery repair to cut the damage away (it is logged and counted)`;
    default:
      return `cannot use the data directory: ${err.message}`;
  }
};

async function main(): Promise<void> {
  let command: CliCommand;
  try {
    command = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) fail(`${err.message} (see 'opc-server --help')`, 2);
    throw err;
  }
  if (command.kind === 'help') {
    process.stdout.write(helpText(readVersion(), DEFAULTS));
    return;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${readVersion()}\n`);
    return;
  }
  if (command.kind === 'hash-token') {
    process.exitCode = await hashTokenCommand(command.generate, process);
    return;
  }

  const log = createLogger(command);
  const authFile = command.authFile;
  const auth = authFile === undefined ? undefined : loadAuth(authFile, log, fail);
  const tls = command.tls === undefined ? undefined : loadTls(command.tls, log, fail);
  let server: OpcServer;
  try {
    server = createOpcServer({ ...command.server, logger: log, ...(auth && { auth }), ...(tls && { tls }) });
  } catch (err) {
    // The library validates every option with a RangeError or TypeError naming it.
    if (err instanceof RangeError || err instanceof TypeError) fail(err.message, 2);
    // The data directory is taken by another server, cannot be used, or (with --recovery strict) is damaged.
    if (err instanceof OpcServerError && STORAGE_ERRORS.has(err.code)) fail(describeStorageError(err), 1);
    throw err;
  }
  server.on('error', (err) => log.error({ err }, 'server error'));
  const cluster = command.cluster;
  if (cluster !== undefined) {
    // Never throws for an unreachable NATS: it logs one line and retries (docs/CLUSTER.md, "Set-up"). With a data
    // directory, readings not yet in the stream wait in it (docs/CLUSTER.md, "While NATS is unreachable").
    const storage = command.server.storage;
    try {
      attachCluster(server, {
        servers: [...cluster.servers],
        nodeName: cluster.nodeName,
        stream: cluster.stream,
        replicas: cluster.replicas,
        logger: log,
        ...(storage !== undefined && {
          outboxDir: join(storage.dir, 'cluster-outbox'),
          outboxFsync: storage.fsync ?? STORAGE_DEFAULTS.fsync,
          outboxFsyncIntervalMs: storage.fsyncIntervalMs ?? STORAGE_DEFAULTS.fsyncIntervalMs,
          ...(cluster.backlogBytes !== undefined && { maxOutboxBytes: cluster.backlogBytes }),
        }),
      });
    } catch (err) {
      if (!(err instanceof ClusterLinkError && err.code === 'ERR_OUTBOX')) throw err;
      await server.close(); // releases the data directory
      fail(err.message, 1);
    }
    log.info(
      { nats: cluster.servers, node: cluster.nodeName, stream: cluster.stream },
      `cluster node ${cluster.nodeName}: readings go through stream ${cluster.stream} on ${cluster.servers.join(', ')}`,
    );
  }
  server.on('slowConsumer', (info) => log.warn(info, 'slow consumer disconnected'));
  // A dropped UDP line is otherwise only a counter: say why, with a sample, a few times a minute at most.
  const rejects = new RejectLog(log);
  server.on('reject', (info) => rejects.record(info));

  let web: WebServer | undefined;
  let tcpIngest: TcpIngest | undefined;
  let mqtt: MqttBridge | undefined;
  try {
    const address = await server.listen();
    // The page, the HTTP API and /metrics on the same host; a port that cannot be had fails the start, as UDP/TCP's.
    if (command.httpPort > 0)
      web = await startWebServer(server, {
        host: address.host,
        port: command.httpPort,
        logger: log,
        ...(tls && { tls }),
        ...(command.metricsSensors !== undefined && { metricsSensors: command.metricsSensors }),
      });
    log.info(
      {
        udp: `${address.host}:${address.udpPort}`,
        tcp: `${address.host}:${address.tcpPort}`,
        recvBufferBytes: address.recvBufferBytes,
        requestedRecvBufferBytes: command.server.recvBufferBytes ?? DEFAULTS.recvBufferBytes,
        historyCapacity: command.server.historyCapacity ?? DEFAULTS.historyCapacity,
        version: readVersion(),
      },
      address.host === '127.0.0.1' || address.host === '::1' || address.host === 'localhost'
        ? 'listening on loopback only (use --host 0.0.0.0 to accept other machines)'
        : 'listening',
    );
    if (web !== undefined) log.info({ http: web.url }, `page, HTTP API and metrics on ${web.url}`);
    const exposed = exposureWarning(address.host, authFile);
    if (exposed !== undefined) log.warn({ host: address.host }, exposed);
    if (command.ingestTcpPort > 0) {
      // Graphite, native and InfluxDB lines on a stream (docs/INGEST.md, "Graphite over TCP").
      tcpIngest = await TcpIngest.listen(server, {
        host: address.host,
        port: command.ingestTcpPort,
        maxLineBytes: command.server.maxLineBytes ?? DEFAULTS.maxLineBytes,
        maxConnections: command.server.maxClients ?? DEFAULTS.maxClients,
        logger: log,
      }).catch((err: unknown) => {
        throw new IngestListenError(err);
      });
      const at = `${address.host}:${tcpIngest.port}`;
      log.info({ ingestTcp: at }, `Graphite, native and InfluxDB lines over TCP on ${at}`);
    }
    const m = command.mqtt;
    if (m !== undefined) {
      // Never throws for a broker that cannot be reached: it logs and retries (docs/INGEST.md, "MQTT").
      mqtt = startMqttBridge(server, {
        url: m.url,
        topics: m.topics,
        ...(m.publishPrefix !== undefined && { publishPrefix: m.publishPrefix }),
        ...(m.username !== undefined && { username: m.username }),
        ...(m.password !== undefined && { password: m.password }),
        ...(m.caFile !== undefined && { ca: readMqttCa(m.caFile) }),
        ...(m.writeAs !== undefined && { writeAs: m.writeAs }),
        logger: log,
      });
      const shown = new URL(m.url);
      shown.password = '';
      log.info(
        { mqtt: shown.href, topics: m.topics, publish: m.publishPrefix },
        `reading MQTT ${m.topics.join(' ')} from ${shown.host}`,
      );
    }
  } catch (err) {
    await web?.close();
    await server.close(); // releases the data directory
    if (err instanceof IngestListenError) {
      const reason = (err.cause as { code?: string } | null)?.code === 'EADDRINUSE' ? 'it is in use' : err.message;
      fail(
        `cannot listen for TCP ingest on ${command.server.host}:${command.ingestTcpPort}: ${reason}; choose another --ingest-tcp-port`,
        1,
      );
    }
    if (err instanceof WebError) fail(describeHttpError(err, command.server.host, command.httpPort), 1);
    // --mqtt-as naming no token of the auth file (docs/SECURITY.md, "Writing on the ingest paths").
    if (err instanceof MqttBridgeError) fail(err.message.replace(/^writeAs/, '--mqtt-as'), 2);
    fail(describeListenError(err, command.server.host, command.server.port), 1);
  }

  // After the listening line, so that a start that fails says one line only.
  const storage = command.server.storage;
  if (storage === undefined) {
    log.info('history is kept in memory only (--memory): it is lost when the server stops');
  } else {
    const recovered = server.stats();
    log.info(
      {
        dataDir: storage.dir,
        sensors: recovered.sensors,
        readings: recovered.storage_readings_recovered,
        recoveryMs: recovered.storage_recovery_ms,
        bytesDropped: recovered.storage_bytes_dropped_in_recovery,
        fsync: storage.fsync ?? STORAGE_DEFAULTS.fsync,
      },
      `history is kept in ${storage.dir}`,
    );
  }

  let timer: NodeJS.Timeout | undefined;
  if (command.statsIntervalMs > 0) {
    let before = server.stats();
    let at = performance.now();
    timer = setInterval(() => {
      const after = server.stats();
      const now = performance.now();
      log.info(rateSummary(before, after, now - at), 'rates');
      before = after;
      at = now;
    }, command.statsIntervalMs);
    timer.unref();
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    if (timer) clearInterval(timer);
    log.info({ signal }, 'shutting down');
    // The web server first: its streams end before the hub they read from goes.
    (web?.close() ?? Promise.resolve())
      .then(() => mqtt?.close())
      .then(() => tcpIngest?.close())
      .then(() => server.close())
      .then(
        () => {
          rejects.close();
          log.info(finalSummary(server.stats()), 'summary');
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'error while shutting down');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // SIGHUP reloads the auth file (docs/SECURITY.md, "Reloading the file"); without one it keeps its default.
  if (authFile !== undefined && auth !== undefined) process.on('SIGHUP', () => reloadAuth(auth, authFile, log));
  // And the TLS certificate and key (docs/SECURITY.md, "TLS"): new connections get the new ones.
  if (tls !== undefined) process.on('SIGHUP', () => reloadTls(tls, log));
}

main().catch((err: unknown) => {
  // Not a user mistake: a bug. Keep the stack so it can be reported.
  process.stderr.write(
    `opc-server: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
