// Three real opc-server CLIs on a real 3-node NATS JetStream cluster, all on
// 127.0.0.1 with ports picked at run time (docs/CLUSTER.md, "How it is tested").

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
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

let nats: NatsCluster;
const nodes: Node[] = [];
const dirs: string[] = [];
const sockets: Socket[] = [];

// A cluster of its own for each test: the stream starts empty.
beforeEach(async () => {
  nats = await startNatsCluster({ nodes: 3 });
}, 60_000);

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(nodes.splice(0).map((n) => kill(n)));
  await nats?.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 30_000);

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'opc-cluster-'));
  dirs.push(dir);
  return dir;
};

/** The caller's shell must not change a test. */
const withoutOpcEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('OPC_')));

/** Starts a node (in `dir`, its data directory's parent: the same one again for a restart) and waits for its port. */
async function startNode(name: string, dir = tempDir()): Promise<Node> {
  const child = spawn(
    process.execPath,
    [BIN, '--port', '0', '--http-port', '0', '--log-format', 'json', '--stats-interval-ms', '0', '--node-name', name],
    {
      cwd: dir,
      env: {
        ...withoutOpcEnv(process.env),
        OPC_NATS: nats.urls.join(','),
        NO_COLOR: '1',
      },
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

/** Sends one command and returns the reply's lines before END (or the one line of `n` and `GET`). */
async function ask(node: Node, command: string): Promise<string[]> {
  const socket = createConnection({ host: '127.0.0.1', port: node.port });
  await once(socket, 'connect');
  const oneLine = command === 'n' || command.startsWith('GET ');
  socket.write(command === 'n' ? 'n' : `${command}\n`);
  let text = '';
  for await (const chunk of socket) {
    text += String(chunk);
    if (oneLine ? text.includes('\n') : /(^|\n)END\n$/.test(text) || /^ERR .*\n/.test(text)) break;
  }
  socket.destroy();
  // An unknown sensor is one ERR line: no readings.
  if (text.startsWith('ERR ')) return [];
  return oneLine ? [text.trim()] : text.split('\n').slice(0, -2);
}

async function stats(node: Node): Promise<Record<string, number>> {
  const lines = await ask(node, 'STATS');
  return Object.fromEntries(lines.map((l) => l.split(' ')).map(([, k, v]) => [k!, Number(v)]));
}

/** A subscriber: every line it was pushed. */
async function subscribe(node: Node, pattern: string): Promise<{ lines: string[] }> {
  const socket = createConnection({ host: '127.0.0.1', port: node.port });
  sockets.push(socket);
  await once(socket, 'connect');
  const sub = { lines: [] as string[] };
  let rest = '';
  socket.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    sub.lines.push(...parts);
  });
  socket.write(`SUB ${pattern}\n`);
  await vi.waitFor(() => expect(sub.lines).toContain(`OK SUB ${pattern}`), { timeout: 5_000 });
  return sub;
}

const udp: UdpSocket = createSocket('udp4');
udp.unref();
/** One datagram to the node's port; resolves once the kernel took it. */
const send = (node: Node, text: string): Promise<void> =>
  new Promise((resolve, reject) => udp.send(text, node.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));

/** Sends `sensor` readings `from..to` (value i, sender-seq i, timestamp T0 + i), one datagram each. */
async function sendRange(node: Node, sensor: string, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await send(node, `${sensor} ${i} ${(T0 + i) / 1000} ${i}`);
}

const connected = (node: Node): Promise<void> =>
  vi.waitFor(async () => expect((await stats(node)).cluster_state).toBe(2), { timeout: 30_000, interval: 100 });

/** `RANGE` of a sensor over all time, as lines. */
const range = (node: Node, sensor: string): Promise<string[]> => ask(node, `RANGE ${sensor} 0 now`);

const expected = (sensor: string, count: number): string[] =>
  Array.from({ length: count }, (_, k) => `VAL ${sensor} ${k + 1} ${T0 + k + 1} ${k + 1}`);

/** Waits until every node holds exactly `lines` for the sensor. */
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
      const at = held.findIndex((l, i) => l !== lines[i]);
      throw new Error(
        `node ${node.name} holds ${held.length} readings of ${sensor}, not ${lines.length}, first differing: ${held[at]} for ${lines[at]}:\n${log}`,
        {
          cause: err,
        },
      );
    }
  }
}

describe('opc-server cluster (docs/CLUSTER.md)', () => {
  it('shows a reading sent to one node on every node, in n, GET, HIST, RANGE and SUB, with the same seq', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    await Promise.all([a, b, c].map(connected));
    const subB = await subscribe(b, 'plant/*');
    const subC = await subscribe(c, 'plant/*');

    await send(a, '0.35'); // the legacy bare number: the default sensor
    await send(a, `plant/boiler 81.5 ${(T0 + 1) / 1000} 1`);
    const lines = [`VAL plant/boiler 81.5 ${T0 + 1} 1`, `VAL plant/boiler 82 ${T0 + 2} 2`];
    await converged([a, b, c], 'plant/boiler', lines.slice(0, 1));
    // The next one through another node: seqs follow the stream's order, whichever node took a reading in.
    await send(b, `plant/boiler 82 ${(T0 + 2) / 1000} 2`);
    await converged([a, b, c], 'plant/boiler', lines);
    for (const node of [a, b, c]) {
      expect(await ask(node, 'n')).toEqual(['0.35']);
      expect(await ask(node, 'GET plant/boiler')).toEqual([lines[1]]);
      expect(await ask(node, 'HIST plant/boiler')).toEqual(lines);
      expect((await ask(node, 'HIST default'))[0]).toMatch(/^VAL default 0\.35 \d+ 1$/);
    }
    const pushed = lines.map((l) => l.replace('VAL', 'PUB'));
    for (const sub of [subB, subC]) {
      await vi.waitFor(() => expect(sub.lines.filter((l) => l.startsWith('PUB'))).toEqual(pushed), { timeout: 5_000 });
    }
    // The default sensor's timestamp is the one node a gave it, on every node.
    const defaults = await Promise.all([a, b, c].map((n) => ask(n, 'HIST default')));
    expect(new Set(defaults.map((d) => d.join()))).toHaveLength(1);
    const s = await stats(a);
    expect(s).toMatchObject({ cluster_forwarded: 2, cluster_backlog: 0, cluster_dropped: 0, cluster_stream_lag: 0 });
    expect(s.cluster_applied).toBe(3);
  }, 90_000);

  it('catches up a node killed and restarted, and fills the history of a node that joins later', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    await Promise.all([a, b, c].map(connected));
    await sendRange(a, 'x', 1, 40);
    await sendRange(b, 'y', 1, 40);
    await converged([c], 'x', expected('x', 40));
    await kill(c);
    await sendRange(a, 'x', 41, 80);
    await sendRange(b, 'y', 41, 80);
    await converged([a, b], 'x', expected('x', 80));

    const again = await startNode('c', c.dir);
    const late = await startNode('d');
    await converged([again, late, a, b], 'x', expected('x', 80));
    await converged([again, late, a, b], 'y', expected('y', 80));
    // The restart resumed after the batches it had kept: it did not apply the stream from its start.
    const restarted = await stats(again);
    const joined = await stats(late);
    expect(restarted.cluster_applied).toBeLessThan(joined.cluster_applied ?? 0);
    expect(restarted.cluster_last_applied_seq).toBe(joined.cluster_last_applied_seq);
  }, 120_000);

  it('keeps taking readings while NATS is down and, once it is back, has every one on every node once', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    await Promise.all([a, b, c].map(connected));
    await sendRange(a, 'z', 1, 30);
    await converged([a, b, c], 'z', expected('z', 30));

    for (let i = 0; i < 3; i++) await nats.kill(i);
    await sendRange(a, 'z', 31, 60);
    // Taken in and held: the backlog, and a cluster state other than connected.
    await vi.waitFor(
      async () => {
        const s = await stats(a);
        expect(s.cluster_backlog).toBe(30);
        expect(s.cluster_state).not.toBe(2);
      },
      { timeout: 15_000, interval: 100 },
    );
    // Each node still serves what it had applied.
    expect(await range(b, 'z')).toEqual(expected('z', 30));

    for (let i = 0; i < 3; i++) await nats.restart(i);
    await nats.waitForJetStream(45_000);
    await sendRange(a, 'z', 61, 70);
    await converged([a, b, c], 'z', expected('z', 70), 60_000);
    const s = await stats(a);
    expect(s).toMatchObject({ cluster_backlog: 0, cluster_dropped: 0, cluster_forwarded: 70 });
  }, 180_000);
});
