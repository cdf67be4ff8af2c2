// A node killed with SIGKILL while all of NATS is down, then NATS and the node started again: the readings it took
// in meanwhile were in its disk outbox, and end up on every node once, with the same seqs (docs/CLUSTER.md, "While
// NATS is unreachable"). Three real opc-server CLIs, three real nats-servers, all on 127.0.0.1, ports picked at run
// time.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNatsCluster, type NatsCluster } from '@opc-lite/cluster-nats/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// The real CLI, built by turbo before this project's tests run.
const BIN = fileURLToPath(new URL('../bin/opc-server.js', import.meta.url));
/** Readings' timestamps start here: now, so that retention keeps them. */
const T0 = Math.floor(Date.now() / 1000) * 1000;

interface Node {
  name: string;
  dir: string;
  port: number;
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exit: Promise<number | null>;
}

let nats: NatsCluster | undefined;
const nodes: Node[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => kill(n)));
  await nats?.close();
  nats = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 30_000);

const natsUrls = (): string => nats?.urls.join(',') ?? 'nats://127.0.0.1:1';

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'opc-outage-'));
  dirs.push(dir);
  return dir;
};

const withoutOpcEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('OPC_')));

/** Starts a node with its data directory under `dir` (the same one again for a restart) and waits for its port. */
async function startNode(name: string, dir = tempDir()): Promise<Node> {
  const child = spawn(
    process.execPath,
    [BIN, '--port', '0', '--http-port', '0', '--log-format', 'json', '--stats-interval-ms', '0', '--node-name', name],
    {
      cwd: dir,
      env: { ...withoutOpcEnv(process.env), OPC_NATS: natsUrls(), NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exit = once(child, 'close').then(([code]) => code as number | null);
  const line = await vi.waitFor(
    () => {
      const found = stderr.split('\n').find((l) => l.includes('"tcp":"127.0.0.1:'));
      if (found === undefined) throw new Error(`${name} not listening yet; stderr: ${stderr}`);
      return JSON.parse(found) as { tcp: string };
    },
    { timeout: 15_000, interval: 25 },
  );
  const node = { name, dir, port: Number(line.tcp.split(':').pop()), child, stderr: () => stderr, exit };
  nodes.push(node);
  return node;
}

async function kill(node: Node): Promise<void> {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  await node.exit;
}

/** Sends one command and returns the reply's lines before END. */
async function ask(node: Node, command: string): Promise<string[]> {
  const socket = createConnection({ host: '127.0.0.1', port: node.port });
  await once(socket, 'connect');
  socket.write(`${command}\n`);
  let text = '';
  for await (const chunk of socket) {
    text += String(chunk);
    if (/(^|\n)END\n$/.test(text) || /^ERR .*\n/.test(text)) break;
  }
  socket.destroy();
  if (text.startsWith('ERR ')) return [];
  return text.split('\n').slice(0, -2);
}

async function stats(node: Node): Promise<Record<string, number>> {
  const lines = await ask(node, 'STATS');
  return Object.fromEntries(lines.map((l) => l.split(' ')).map(([, k, v]) => [k!, Number(v)]));
}

const udp = createSocket('udp4');
udp.unref();
const send = (node: Node, text: string): Promise<void> =>
  new Promise((resolve, reject) => udp.send(text, node.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));

/** Sends `sensor` readings `from..to` (value i, sender-seq i, timestamp T0 + i), one datagram each. */
async function sendRange(node: Node, sensor: string, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await send(node, `${sensor} ${i} ${(T0 + i) / 1000} ${i}`);
}

const connected = (node: Node): Promise<void> =>
  vi.waitFor(async () => expect((await stats(node)).cluster_state).toBe(2), { timeout: 30_000, interval: 100 });

const range = (node: Node, sensor: string): Promise<string[]> => ask(node, `RANGE ${sensor} 0 now`);

const expected = (sensor: string, count: number): string[] =>
  Array.from({ length: count }, (_, k) => `VAL ${sensor} ${k + 1} ${T0 + k + 1} ${k + 1}`);

async function converged(of: Node[], sensor: string, lines: string[], timeout = 30_000): Promise<void> {
  for (const node of of) {
    try {
      await vi.waitFor(async () => expect(await range(node, sensor)).toEqual(lines), { timeout, interval: 100 });
    } catch (err) {
      const held = await range(node, sensor);
      const log = node
        .stderr()
        .split('\n')
        .filter((l) => !l.includes('"level":30'))
        .map((l) => l.slice(0, 300))
        .join('\n');
      throw new Error(`node ${node.name} holds ${held.length} readings of ${sensor}, not ${lines.length}:\n${log}`, {
        cause: err,
      });
    }
  }
}

describe('opc-server cluster: a node killed while NATS is down (docs/CLUSTER.md)', () => {
  beforeEach(async () => {
    nats = await startNatsCluster({ nodes: 3 });
  }, 60_000);

  it('forwards after its restart the readings it took in before the kill, so every node has each once, same seqs', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    await Promise.all([a, b, c].map(connected));
    await sendRange(a, 'x', 1, 20);
    await sendRange(c, 'y', 1, 10);
    await converged([a, b, c], 'x', expected('x', 20));
    await converged([a, b, c], 'y', expected('y', 10));

    const cluster = nats!;
    for (let i = 0; i < 3; i++) await cluster.kill(i);
    await sendRange(a, 'x', 21, 80);
    await sendRange(c, 'y', 11, 30);
    await vi.waitFor(
      async () => {
        const s = await stats(a);
        expect(s.cluster_backlog).toBe(60);
        expect(s.cluster_backlog_bytes).toBeGreaterThan(0);
        expect(s.cluster_state).not.toBe(2);
      },
      { timeout: 15_000, interval: 100 },
    );
    await vi.waitFor(async () => expect((await stats(c)).cluster_backlog).toBe(20), { timeout: 15_000 });
    // Not shown yet, on the node that took them in neither: the stream gives them their seqs.
    expect(await range(a, 'x')).toEqual(expected('x', 20));
    // One more round trip: the turn that took the last reading in has ended, so it is written.
    await stats(a);
    await kill(a);
    expect(readdirSync(join(a.dir, 'opc-data', 'cluster-outbox')).length).toBeGreaterThan(0);

    for (let i = 0; i < 3; i++) await cluster.restart(i);
    await cluster.waitForJetStream(45_000);
    const again = await startNode('a', a.dir);
    await converged([again, b, c], 'x', expected('x', 80), 60_000);
    await converged([again, b, c], 'y', expected('y', 30), 60_000);
    expect(again.stderr()).toMatch(/60 readings waiting in .*cluster-outbox from before the restart/);

    // Once more through the restarted node: it goes on with the next seqs.
    await sendRange(again, 'x', 81, 85);
    await converged([again, b, c], 'x', expected('x', 85));
    const s = await stats(again);
    expect(s).toMatchObject({
      cluster_backlog: 0,
      cluster_backlog_bytes: 0,
      cluster_dropped: 0,
      cluster_forwarded: 65,
    });
    const marks = await Promise.all([again, b, c].map(async (n) => (await stats(n)).cluster_last_applied_seq));
    expect(new Set(marks).size).toBe(1);
  }, 240_000);
});

describe('opc-server cluster: the outbox directory', () => {
  it('refuses to start, in one line, when the outbox cannot be opened', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'opc-data'));
    writeFileSync(join(dir, 'opc-data', 'cluster-outbox'), 'not a directory');
    const child = spawn(process.execPath, [BIN, '--port', '0', '--http-port', '0', '--node-name', 'a'], {
      cwd: dir,
      env: { ...withoutOpcEnv(process.env), OPC_NATS: natsUrls(), NO_COLOR: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toMatch(/^opc-server: cannot open the cluster outbox in .*cluster-outbox: /m);
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
