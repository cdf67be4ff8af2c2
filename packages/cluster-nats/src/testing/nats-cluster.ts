// How it works: every node gets two ports (clients, routes), found by binding
// port 0 on 127.0.0.1 and closing, a store directory and a config file under
// one mkdtemp directory. The servers are spawned from those files; a node is
// up when it prints "Server is ready", and the cluster is up when
// `$JS.API.INFO` answers, which needs a JetStream meta leader. A node that is
// killed or stopped keeps its ports, directory and config, so `restart(i)`
// brings back the same server with its data. `close()` kills every process
// and removes the directory; an exit hook does the same if the test process
// dies first.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** Where the tests find nats-server: `$NATS_SERVER`, else the Debian package's path. */
export const NATS_SERVER_BIN = process.env['NATS_SERVER'] ?? '/usr/sbin/nats-server';

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Number of servers: 1 runs a single server without a cluster block (default 3). */
  nodes?: number;
  /** The nats-server executable (default {@link NATS_SERVER_BIN}). */
  bin?: string;
  /** How long to wait for the servers and the JetStream meta leader (default 15000). */
  readyTimeoutMs?: number;
}

/** One server of a {@link NatsCluster}. */
export interface NatsNode {
  /** `n1`, `n2`, ...: the `server_name`. */
  readonly name: string;
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly clientPort: number;
  readonly routePort: number;
  /** The JetStream store directory. */
  readonly storeDir: string;
  /** True while its process runs. */
  readonly running: boolean;
}

/**
 * Real nats-server processes on 127.0.0.1 for tests.
 *
 * @example
 * ```ts
 * const cluster = await startNatsCluster({ nodes: 3 });
 * try {
 *   const link = createClusterLink({ servers: cluster.urls, nodeName: 'a' });
 *   await cluster.kill(0); // SIGKILL one server
 *   await cluster.restart(0);
 * } finally {
 *   await cluster.close();
 * }
 * ```
 */
export interface NatsCluster {
  /** Every node's client URL, in node order. */
  readonly urls: string[];
  readonly nodes: readonly NatsNode[];
  /** The directory that holds every node's store and config. */
  readonly dir: string;
  /** SIGKILLs node `i` and waits for its exit. */
  kill(i: number): Promise<void>;
  /** SIGTERMs node `i` (a clean shutdown) and waits for its exit. */
  stop(i: number): Promise<void>;
  /** Starts node `i` again with its ports and store, and waits until it is ready. */
  restart(i: number): Promise<void>;
  /** Resolves once JetStream answers `$JS.API.INFO` through some running node (it has a meta leader). */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  /** The index of the node that leads stream `stream`, once a running node says there is one. */
  streamLeader(stream: string, timeoutMs?: number): Promise<number>;
  /** Kills every process and removes the directory. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface NodeState {
  name: string;
  clientPort: number;
  routePort: number;
  storeDir: string;
  configFile: string;
  child: ChildProcess | undefined;
  log: string;
}

/** Thrown when a server does not start or JetStream does not come up in time; `code` says which. */
export class NatsClusterError extends Error {
  override readonly name = 'NatsClusterError';
  readonly code: 'ERR_NATS_START' | 'ERR_NATS_TIMEOUT';

  constructor(code: 'ERR_NATS_START' | 'ERR_NATS_TIMEOUT', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Distinct free TCP ports on 127.0.0.1 (held open together so none repeats, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function configText(node: NodeState, all: NodeState[]): string {
  const lines = [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.clientPort}`,
    `jetstream {`,
    `  store_dir: ${JSON.stringify(node.storeDir)}`,
    `  max_memory_store: 256MB`,
    `  max_file_store: 1GB`,
    `}`,
  ];
  if (all.length > 1) {
    const routes = all.filter((n) => n !== node).map((n) => `    nats-route://127.0.0.1:${n.routePort}`);
    lines.push(
      `cluster {`,
      `  name: opc-test`,
      `  listen: 127.0.0.1:${node.routePort}`,
      `  routes: [`,
      ...routes,
      `  ]`,
      `}`,
    );
  }
  return lines.join('\n') + '\n';
}

function spawnNode(bin: string, node: NodeState, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-c', node.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    node.child = child;
    node.log = '';
    live.add(child);
    let settled = false;
    const timer = setTimeout(() => {
      fail(new NatsClusterError('ERR_NATS_TIMEOUT', `nats-server ${node.name} not ready in ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      // Keep the tail only: enough to explain a failure.
      node.log = (node.log + text).slice(-16_384);
      if (!settled && node.log.includes('Server is ready')) {
        settled = true;
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (error) =>
      fail(
        new NatsClusterError(
          'ERR_NATS_START',
          `cannot run ${bin} (${error.message}): install Debian's nats-server package, or set NATS_SERVER to the binary`,
          { cause: error },
        ),
      ),
    );
    child.once('exit', (code, signal) => {
      live.delete(child);
      if (node.child === child) node.child = undefined;
      fail(
        new NatsClusterError(
          'ERR_NATS_START',
          `nats-server ${node.name} exited (${signal ?? String(code)}) before it was ready:\n${node.log}`,
        ),
      );
    });
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `nodes` nats-server processes with JetStream on free loopback ports and waits for the JetStream meta leader.
 * Throws {@link NatsClusterError} (after cleaning up) when a server does not start.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const count = options.nodes ?? 3;
  const bin = options.bin ?? NATS_SERVER_BIN;
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new RangeError('nodes must be an integer from 1 to 9');
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'opc-nats-'));
  const ports = await freePorts(count * 2);
  const nodes: NodeState[] = Array.from({ length: count }, (_, i) => {
    const name = `n${i + 1}`;
    const storeDir = join(dir, name);
    mkdirSync(storeDir);
    return {
      name,
      clientPort: ports[2 * i] ?? 0,
      routePort: ports[2 * i + 1] ?? 0,
      storeDir,
      configFile: join(dir, `${name}.conf`),
      child: undefined,
      log: '',
    };
  });
  for (const node of nodes) writeFileSync(node.configFile, configText(node, nodes));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await Promise.all(
        nodes.map(async (node) => {
          const child = node.child;
          if (child === undefined) return;
          child.kill('SIGKILL');
          await waitForExit(child);
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    })());

  const nodeAt = (i: number): NodeState => {
    const node = nodes[i];
    if (node === undefined) throw new RangeError(`no node ${i}: the cluster has ${count}`);
    return node;
  };
  const urls = nodes.map((n) => `nats://127.0.0.1:${n.clientPort}`);

  const waitForJetStream = async (timeoutMs = readyTimeoutMs): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      const running = nodes.filter((n) => n.child !== undefined).map((n) => `nats://127.0.0.1:${n.clientPort}`);
      let nc: NatsConnection | undefined;
      try {
        nc = await connect({ servers: running, timeout: 1000, reconnect: false });
        const reply = await nc.request('$JS.API.INFO', undefined, { timeout: 1000 });
        const info = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { description?: string } };
        if (info.error === undefined) return;
        lastError = new Error(info.error.description ?? 'JetStream error');
      } catch (error) {
        lastError = error;
      } finally {
        await nc?.close();
      }
      await pause(100);
    }
    throw new NatsClusterError('ERR_NATS_TIMEOUT', `JetStream did not come up within ${timeoutMs} ms`, {
      cause: lastError,
    });
  };

  const streamLeader = async (stream: string, timeoutMs = readyTimeoutMs): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      const running = nodes.filter((n) => n.child !== undefined).map((n) => `nats://127.0.0.1:${n.clientPort}`);
      let nc: NatsConnection | undefined;
      try {
        nc = await connect({ servers: running, timeout: 1000, reconnect: false });
        const reply = await nc.request(`$JS.API.STREAM.INFO.${stream}`, undefined, { timeout: 1000 });
        const info = JSON.parse(new TextDecoder().decode(reply.data)) as { cluster?: { leader?: string } };
        const at = nodes.findIndex((n) => n.name === info.cluster?.leader && n.child !== undefined);
        if (at >= 0) return at;
        lastError = new Error(`stream ${stream} has no running leader yet`);
      } catch (error) {
        lastError = error;
      } finally {
        await nc?.close();
      }
      await pause(100);
    }
    throw new NatsClusterError('ERR_NATS_TIMEOUT', `stream ${stream} had no leader within ${timeoutMs} ms`, {
      cause: lastError,
    });
  };

  try {
    await Promise.all(nodes.map((node) => spawnNode(bin, node, readyTimeoutMs)));
    await waitForJetStream();
  } catch (error) {
    await close();
    throw error;
  }

  return {
    urls,
    dir,
    nodes: nodes.map((node) => ({
      name: node.name,
      url: `nats://127.0.0.1:${node.clientPort}`,
      clientPort: node.clientPort,
      routePort: node.routePort,
      storeDir: node.storeDir,
      get running() {
        return node.child !== undefined;
      },
    })),
    async kill(i) {
      const child = nodeAt(i).child;
      if (child === undefined) return;
      child.kill('SIGKILL');
      await waitForExit(child);
    },
    async stop(i) {
      const child = nodeAt(i).child;
      if (child === undefined) return;
      child.kill('SIGTERM');
      await waitForExit(child);
    },
    async restart(i) {
      const node = nodeAt(i);
      if (node.child !== undefined) return;
      await spawnNode(bin, node, readyTimeoutMs);
    },
    waitForJetStream,
    streamLeader,
    close,
    [Symbol.asyncDispose]: close,
  };
}
